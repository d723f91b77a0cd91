package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/chancery/chancery/internal/apitest"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/projections"
)

// The iCalendar feeds as subscribers reach them: the whole service runs
// (embedded NATS, SQLite file, HTTP), and every feed the tests fetch is
// read back by two independent strict parsers (internal/icalcheck).

const feedToken = "feed-token-7f3a9c2e51"

// feedConfig names two feeds: a public one of everything Serbian and a
// private one of Lavrov's engagements.
const feedConfig = `feeds:
  - {name: serbia, filter: {countries: [RS]}}
  - {name: lavrov, filter: {participants: [Lavrov]}, token: "` + feedToken + `"}
`

// startFeedService runs the service with feedConfig.
func startFeedService(t *testing.T) *service {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, feedConfig)
	return startService(t, filepath.Join(dir, "data"), func(o *testServe) { o.config = cfg })
}

var countryNames = map[string]string{"RS": "Serbia", "RU": "Russian Federation", "DE": "Germany", "FR": "France"}

// startSeededFeedService starts the service with the feed config and
// records the seed in it.
func startSeededFeedService(t *testing.T) (*service, *feedSeed) {
	t.Helper()
	s := startFeedService(t)
	return s, recordFeedSeed(t, s)
}

// feedSeed is the seed as recorded, with what a calendar must show of each
// engagement, by id.
type feedSeed struct {
	talks  string
	visits []string // in the order of seedVisits
	want   map[string]icalcheck.Event
	pos    uint64
}

// recordFeedSeed records the seed's talks and visits through the API and
// waits until the read model has them.
func recordFeedSeed(t *testing.T, s *service) *feedSeed {
	t.Helper()
	seed := &feedSeed{want: map[string]icalcheck.Event{}}
	r := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	seed.talks = r.Str("id")
	seed.want[seed.talks] = icalcheck.Event{
		UID: seed.talks + "@chancery", Summary: "Lavrov–Vulin talks", Status: "CONFIRMED", AllDay: true,
		Start: date(t, "2022-08-22"), End: date(t, "2022-08-23"), Location: "Moscow, Russian Federation",
		Description: "Participants:\n- Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)\n" +
			"- Aleksandar Vulin, Minister of Internal Affairs (Serbia)\n\n" +
			"Bilateral cooperation agenda; international and regional questions.\n\n" +
			"Source: " + seedSource + " (published 2022-08-19)",
	}
	for _, v := range seedVisits {
		r := s.Do("POST", "/api/v1/visits", v.body()).Must(t, 201)
		id := r.Str("id")
		seed.visits = append(seed.visits, id)
		seed.pos = r.Position(t)
		end := v.end
		if end == "" {
			end = v.start
		}
		desc := "Visitor: " + v.name + ", " + v.office + " (" + countryNames[v.country] + ")\n\n"
		if v.purpose != "" {
			desc += v.purpose + "\n\n"
		}
		seed.want[id] = icalcheck.Event{
			UID: id + "@chancery", Summary: v.name + " visits " + v.city, Status: "CONFIRMED", AllDay: true,
			Start: date(t, v.start), End: date(t, end).AddDate(0, 0, 1), Location: v.city + ", " + countryNames[v.dest],
			Description: desc + "Source: " + seedSource + " (published 2022-08-19)",
		}
	}
	s.waitRead(t, seed.pos)
	return seed
}

// ids are the seed's engagements: the talks, then the visits.
func (seed *feedSeed) ids() []string {
	return append([]string{seed.talks}, seed.visits...)
}

// all returns what a calendar of the whole seed must show.
func (seed *feedSeed) all() []icalcheck.Event {
	return seed.pick(seed.ids()...)
}

// pick returns what a calendar must show of the engagements ids.
func (seed *feedSeed) pick(ids ...string) []icalcheck.Event {
	out := make([]icalcheck.Event, len(ids))
	for i, id := range ids {
		out[i] = seed.want[id]
	}
	return out
}

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitRead waits until the read model has applied pos.
func (s *service) waitRead(t *testing.T, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.app.projector.WaitFor(ctx, pos); err != nil {
		t.Fatalf("read model did not reach %d: %v", pos, err)
	}
}

// feed fetches a feed uncompressed unless the headers ask otherwise.
func (s *service) feed(method, path string, headers ...string) apitest.Response {
	s.t.Helper()
	return s.Do(method, path, nil, append([]string{"Accept-Encoding", "identity"}, headers...)...)
}

// uids lists the UIDs of a calendar's events, sorted.
func uids(t *testing.T, ics []byte) []string {
	t.Helper()
	var out []string
	for _, ev := range decodeCalendar(t, ics).Events() {
		out = append(out, ev.Props.Get(ical.PropUID).Value)
	}
	slices.Sort(out)
	return out
}

func decodeCalendar(t *testing.T, ics []byte) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(ics)).Decode()
	if err != nil {
		t.Fatalf("go-ical cannot read the feed: %v\n%s", err, ics)
	}
	return cal
}

// checkFeed asserts a 200 calendar answer holding exactly want, read back
// by both strict parsers.
func checkFeed(t *testing.T, r apitest.Response, want []icalcheck.Event) {
	t.Helper()
	r.Must(t, 200)
	var wantUIDs []string
	for _, w := range want {
		wantUIDs = append(wantUIDs, w.UID)
	}
	slices.Sort(wantUIDs)
	if got := uids(t, r.Raw); !slices.Equal(got, wantUIDs) {
		t.Fatalf("feed has %v, want %v", got, wantUIDs)
	}
	icalcheck.Check(t, r.Raw, want)
}

func TestFeedServesTheSeedWithHTTPCaching(t *testing.T) {
	s, seed := startSeededFeedService(t)
	const path = "/calendar.ics?from=2019-01-01"

	r := s.feed("GET", path)
	checkFeed(t, r, seed.all())
	h := r.Header
	if got := h.Get("Content-Type"); got != "text/calendar; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := h.Get("Content-Disposition"); !strings.Contains(got, `filename="chancery.ics"`) {
		t.Errorf("Content-Disposition %q", got)
	}
	etag, modified := h.Get("ETag"), h.Get("Last-Modified")
	if len(etag) < 3 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("ETag %q is not a strong entity tag", etag)
	}
	if _, err := time.Parse(time.RFC1123, modified); err != nil {
		t.Fatalf("Last-Modified %q: %v", modified, err)
	}

	t.Run("304 on If-None-Match and If-Modified-Since", func(t *testing.T) {
		for _, hdr := range [][]string{
			{"If-None-Match", etag},
			{"If-None-Match", `"other", ` + etag},
			{"If-Modified-Since", modified},
		} {
			r := s.feed("GET", path, hdr...)
			if r.Status != 304 || len(r.Raw) != 0 || r.Header.Get("ETag") != etag {
				t.Errorf("%s: %s: status %d, %d bytes, ETag %q", hdr[0], hdr[1], r.Status, len(r.Raw), r.Header.Get("ETag"))
			}
		}
		if r := s.feed("GET", path, "If-None-Match", `"stale"`); r.Status != 200 || !bytes.Equal(r.Raw, s.feed("GET", path).Raw) {
			t.Errorf("a stale ETag: status %d", r.Status)
		}
		// Another query is another feed with another tag.
		if other := s.feed("GET", "/calendar.ics?from=2021-01-01", "If-None-Match", etag); other.Status != 200 {
			t.Errorf("another query answered %d to this feed's ETag", other.Status)
		}
	})

	t.Run("gzip when asked", func(t *testing.T) {
		z := s.feed("GET", path, "Accept-Encoding", "gzip")
		z.Must(t, 200)
		if z.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q", z.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(z.Raw))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, r.Raw) {
			t.Fatalf("gzip body decompresses to %d bytes (%v), want the %d-byte feed", len(plain), err, len(r.Raw))
		}
		zetag := z.Header.Get("ETag")
		if zetag == etag || !strings.HasPrefix(zetag, `"`) {
			t.Fatalf("gzip ETag %q must be a strong tag other than %q", zetag, etag)
		}
		if !strings.Contains(z.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Vary %q", z.Header.Get("Vary"))
		}
		if r := s.feed("GET", path, "Accept-Encoding", "gzip", "If-None-Match", zetag); r.Status != 304 {
			t.Errorf("gzip variant's ETag: status %d, want 304", r.Status)
		}
		if r := s.feed("GET", path, "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
			t.Errorf("gzip;q=0 got Content-Encoding %q", r.Header.Get("Content-Encoding"))
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		hr := s.feed("HEAD", path)
		hr.Must(t, 200)
		if len(hr.Raw) != 0 {
			t.Fatalf("HEAD has a %d-byte body", len(hr.Raw))
		}
		for _, k := range []string{"Content-Type", "Content-Disposition", "ETag", "Last-Modified", "Cache-Control"} {
			if hr.Header.Get(k) != h.Get(k) {
				t.Errorf("HEAD %s %q, GET %q", k, hr.Header.Get(k), h.Get(k))
			}
		}
		if got := hr.Header.Get("Content-Length"); got != h.Get("Content-Length") || got == "" {
			t.Errorf("HEAD Content-Length %q, GET %q", got, h.Get("Content-Length"))
		}
	})

	t.Run("ranges", func(t *testing.T) {
		body := r.Raw
		for _, tc := range []struct {
			rng  string
			want []byte
		}{
			{"bytes=0-99", body[:100]},
			{"bytes=-100", body[len(body)-100:]},
			{"bytes=100-", body[100:]},
			{"bytes=10-19", body[10:20]},
		} {
			got := s.feed("GET", path, "Range", tc.rng)
			if got.Status != 206 || !bytes.Equal(got.Raw, tc.want) {
				t.Errorf("Range %s: status %d, %d bytes, want 206 and %d bytes", tc.rng, got.Status, len(got.Raw), len(tc.want))
			}
		}
	})

	t.Run("a change makes a new feed", func(t *testing.T) {
		res := s.Do("POST", "/api/v1/meetings/"+seed.talks+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "a day later"}).Must(t, 200)
		s.waitRead(t, res.Position(t))
		r := s.feed("GET", path, "If-None-Match", etag)
		want := seed.all()
		want[0].Start, want[0].End, want[0].Sequence = date(t, "2022-08-23"), date(t, "2022-08-24"), 1
		want[0].Description = strings.Replace(want[0].Description, "\n\nSource:", "\n\nStatus: rescheduled (a day later)\n\nSource:", 1)
		checkFeed(t, r, want)
		if r.Header.Get("ETag") == etag {
			t.Fatal("the ETag did not change with the feed")
		}
	})
}

func TestFeedFiltersAndWindow(t *testing.T) {
	s, seed := startSeededFeedService(t)
	// One engagement with neither Serbia nor Russia in it, in 20 days at
	// 15:00 in Berlin, then cancelled.
	day := time.Now().AddDate(0, 0, 20).Format(time.DateOnly)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	call := s.Do("POST", "/api/v1/meetings", map[string]any{
		"kind": "call", "title": "Chancellor–President call", "start": day + "T15:00", "end": day + "T15:45",
		"timezone": "Europe/Berlin", "location": map[string]any{"city": "Berlin", "country": "DE"},
		"participants": []map[string]any{
			{"name": "Olaf Scholz", "office": "Federal Chancellor", "country": "DE"},
			{"name": "Emmanuel Macron", "office": "President of the French Republic", "country": "FR"},
		},
	}).Must(t, 201).Str("id")
	s.waitRead(t, s.Do("POST", "/api/v1/meetings/"+call+"/cancel", map[string]any{"reason": "postponed by both sides"}).Must(t, 200).Position(t))
	start, _ := time.ParseInLocation("2006-01-02T15:04", day+"T15:00", berlin)
	seed.want[call] = icalcheck.Event{
		UID: call + "@chancery", Summary: "Cancelled: Chancellor–President call", Status: "CANCELLED", Sequence: 1,
		Start: start, End: start.Add(45 * time.Minute), Location: "Berlin, Germany",
		Description: "Participants:\n- Olaf Scholz, Federal Chancellor (Germany)\n- Emmanuel Macron, President of the French Republic (France)\n\n" +
			"Status: cancelled (postponed by both sides)",
	}
	all := seed.ids()
	v := seed.visits // Putin, Dačić, Vučić (Moscow), Lavrov, Vučić (Sochi), Brnabić

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?from=2019-01-01", append(slices.Clone(all), call)},
		{"?from=2019-01-01&country=RS", all},
		{"?from=2019-01-01&country=DE", []string{call}},
		{"?from=2019-01-01&country=FR&country=RS", append(slices.Clone(all), call)},
		{"?from=2019-01-01&participant=Lavrov", []string{seed.talks, v[3]}},
		{"?from=2019-01-01&participant=vucic", []string{v[2], v[4]}},
		{"?from=2019-01-01&kind=talks", []string{seed.talks}},
		{"?from=2019-01-01&kind=visit", v},
		{"?from=2019-01-01&kind=call&kind=talks", []string{seed.talks, call}},
		{"?from=2019-01-01&status=cancelled", []string{call}},
		{"?from=2019-01-01&status=scheduled&country=RS&kind=visit", v},
		// The window selects what overlaps it; by default it starts 90
		// days back and has no end.
		{"?from=2021-01-01&to=2021-12-31", []string{v[4], v[5]}},
		{"?from=2021-11-25&to=2021-11-25", []string{v[4]}},
		{"?from=2020-06-24T12:00:00Z&to=2020-06-24T13:00:00Z", []string{v[2]}},
		{"", []string{call}},
		{"?to=2022-01-01", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			checkFeed(t, s.feed("GET", "/calendar.ics"+tc.query), seed.pick(tc.want...))
		})
	}

	for _, tc := range []struct{ query, field string }{
		{"?country=XX", "country"},
		{"?country=rs", "country"},
		{"?kind=party", "kind"},
		{"?status=planned", "status"},
		{"?from=yesterday", "from"},
		{"?to=2022-13-01", "to"},
	} {
		r := s.feed("GET", "/calendar.ics"+tc.query)
		if r.Status != 400 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") || !slices.Equal(r.FieldErrors(), []string{tc.field}) {
			t.Errorf("%s: status %d, %s, fields %v; want 400 naming %s", tc.query, r.Status, r.Header.Get("Content-Type"), r.FieldErrors(), tc.field)
		}
	}
}

// Named feeds come from the config. A private one answers only with its
// token; a wrong or missing token gets the same 404 as a feed that does not
// exist, so that feed names do not leak.
func TestNamedFeedsAndPrivateFeedToken(t *testing.T) {
	s, seed := startSeededFeedService(t)

	r := s.feed("GET", "/feeds/serbia.ics?from=2019-01-01")
	checkFeed(t, r, seed.all())
	if got := r.Header.Get("Content-Disposition"); !strings.Contains(got, `filename="serbia.ics"`) {
		t.Errorf("Content-Disposition %q", got)
	}
	if !strings.HasPrefix(r.Header.Get("Cache-Control"), "public") {
		t.Errorf("public feed Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if name := decodeCalendar(t, r.Raw).Props.Get("X-WR-CALNAME"); name == nil || !strings.Contains(name.Value, "serbia") {
		t.Errorf("X-WR-CALNAME %v", name)
	}
	// The feed's own filter holds whatever the query says.
	checkFeed(t, s.feed("GET", "/feeds/serbia.ics?from=2019-01-01&country=DE&kind=talks"), seed.all())

	private := s.feed("GET", "/feeds/lavrov.ics?from=2019-01-01&token="+feedToken)
	checkFeed(t, private, seed.pick(seed.talks, seed.visits[3]))
	if !strings.HasPrefix(private.Header.Get("Cache-Control"), "private") {
		t.Errorf("private feed Cache-Control %q", private.Header.Get("Cache-Control"))
	}

	s.feed("GET", "/feeds/serbia.ics?token=wrong").Must(t, 200) // a public feed ignores tokens
	unknown := s.feed("GET", "/feeds/nosuch.ics")
	unknown.Must(t, 404)
	for _, path := range []string{
		"/feeds/lavrov.ics",
		"/feeds/lavrov.ics?token=",
		"/feeds/lavrov.ics?token=" + feedToken[:len(feedToken)-1],
		"/feeds/lavrov.ics?token=" + feedToken + "x",
		"/feeds/lavrov.ics?token=" + strings.ToUpper(feedToken),
		"/feeds/lavrov.ics?token=wrong&token=" + feedToken, // the first token counts
		"/feeds/lavrov",
	} {
		r := s.feed("GET", path)
		if r.Status != 404 || !bytes.Equal(r.Raw, unknown.Raw) {
			t.Errorf("%s: status %d, body %s; want the 404 of an unknown feed", path, r.Status, r.Raw)
		}
		if bytes.Contains(r.Raw, []byte("token")) || bytes.Contains(r.Raw, []byte("lavrov")) {
			t.Errorf("%s: the 404 tells too much: %s", path, r.Raw)
		}
	}
}

// Subscribers choose reminders in the URL; each becomes a VALARM with
// ACTION:DISPLAY on every event. A bad one is a 400 naming the parameter.
func TestFeedAlarmsFromTheURL(t *testing.T) {
	s, seed := startSeededFeedService(t)

	// "+" in a query is a space; a client that does not escape it still
	// gets the trigger it meant.
	r := s.feed("GET", "/calendar.ics?from=2019-01-01&alarm=-PT1H&alarm=-P1D&alarm=+PT15M")
	checkFeed(t, r, seed.all())
	for _, ev := range decodeCalendar(t, r.Raw).Events() {
		var triggers []string
		for _, c := range ev.Children {
			if c.Name != ical.CompAlarm {
				continue
			}
			if a := c.Props.Get(ical.PropAction); a == nil || a.Value != "DISPLAY" {
				t.Errorf("VALARM ACTION %v, want DISPLAY", a)
			}
			if d := c.Props.Get(ical.PropDescription); d == nil || d.Value == "" {
				t.Error("a DISPLAY alarm needs a DESCRIPTION")
			}
			triggers = append(triggers, c.Props.Get(ical.PropTrigger).Value)
		}
		if want := []string{"-PT1H", "-P1D", "+PT15M"}; !slices.Equal(triggers, want) {
			t.Errorf("%s: triggers %v, want %v", ev.Props.Get(ical.PropUID).Value, triggers, want)
		}
	}
	if plain := s.feed("GET", "/calendar.ics?from=2019-01-01"); bytes.Contains(plain.Raw, []byte("BEGIN:VALARM")) {
		t.Error("a feed without alarm= has VALARMs")
	}

	for _, q := range []string{"alarm=1h", "alarm=-PT", "alarm=P", "alarm=-P5W", "alarm=-PT1H%0D%0ABEGIN:VEVENT",
		"alarm=-PT1H&alarm=-PT2H&alarm=-PT3H&alarm=-PT4H&alarm=-PT5H&alarm=-PT6H"} {
		r := s.feed("GET", "/calendar.ics?"+q)
		if r.Status != 400 || !slices.Contains(r.FieldErrors(), "alarm") {
			t.Errorf("%s: status %d, fields %v; want 400 naming alarm", q, r.Status, r.FieldErrors())
		}
	}
}

// One meeting or visit as a calendar file, to add by hand.
func TestFeedOfOneMeetingOrVisit(t *testing.T) {
	s, seed := startSeededFeedService(t)
	for _, tc := range []struct{ path, id string }{
		{"/api/v1/meetings/" + seed.talks + ".ics", seed.talks},
		{"/api/v1/visits/" + seed.visits[4] + ".ics", seed.visits[4]},
	} {
		r := s.feed("GET", tc.path)
		checkFeed(t, r, seed.pick(tc.id))
		if r.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.path, r.Header.Get("Content-Type"))
		}
		if got := r.Header.Get("Content-Disposition"); !strings.Contains(got, `filename="`+tc.id+`.ics"`) {
			t.Errorf("%s: Content-Disposition %q", tc.path, got)
		}
		if ev := decodeCalendar(t, r.Raw).Events(); len(ev) == 1 {
			if u := ev[0].Props.Get(ical.PropURL); u == nil || !strings.HasSuffix(u.Value, strings.TrimSuffix(tc.path, ".ics")) {
				t.Errorf("%s: URL %v", tc.path, u)
			}
		}
	}
	s.feed("GET", "/api/v1/meetings/mtg_01gav00000000000000000zz99.ics").Must(t, 404)
	s.feed("GET", "/api/v1/meetings/"+seed.visits[0]+".ics").Must(t, 400)
}

// With the real clock: a cancelled meeting stays in the feed, cancelled,
// within 30 days of its date, and leaves it after; one that was not
// cancelled stays.
func TestFeedKeepsRecentCancellationsOnly(t *testing.T) {
	s := startFeedService(t)
	var want []icalcheck.Event
	var gone string
	for _, tc := range []struct {
		daysAgo int
		cancel  bool
	}{{10, true}, {40, true}, {40, false}} {
		d := time.Now().UTC().AddDate(0, 0, -tc.daysAgo)
		body := seedTalks()
		body["start"], body["source"] = d.Format(time.DateOnly), nil
		created := s.Do("POST", "/api/v1/meetings", body).Must(t, 201)
		id, pos := created.Str("id"), created.Position(t)
		ev := icalcheck.Event{
			UID: id + "@chancery", Summary: "Lavrov–Vulin talks", Status: "CONFIRMED", AllDay: true,
			Start: date(t, d.Format(time.DateOnly)), End: date(t, d.Format(time.DateOnly)).AddDate(0, 0, 1),
			Location: "Moscow, Russian Federation",
			Description: "Participants:\n- Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)\n" +
				"- Aleksandar Vulin, Minister of Internal Affairs (Serbia)\n\n" +
				"Bilateral cooperation agenda; international and regional questions.",
		}
		if tc.cancel {
			pos = s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "called off"}).Must(t, 200).Position(t)
			ev.Summary, ev.Status, ev.Sequence = "Cancelled: "+ev.Summary, "CANCELLED", 1
			ev.Description += "\n\nStatus: cancelled (called off)"
		}
		s.waitRead(t, pos)
		if tc.cancel && tc.daysAgo > 30 {
			gone = id
			continue
		}
		want = append(want, ev)
	}
	r := s.feed("GET", "/calendar.ics")
	checkFeed(t, r, want)
	if bytes.Contains(r.Raw, []byte(gone)) {
		t.Fatal("a meeting cancelled 40 days ago is still in the feed")
	}
}

func TestListFiltersTakeAtMostTheCapOfValues(t *testing.T) {
	s, _ := startSeededFeedService(t)
	// repeat is name=value n times, as a query string.
	repeat := func(name, value string, n int) string {
		return strings.TrimSuffix(strings.Repeat(name+"="+value+"&", n), "&")
	}
	over := projections.MaxFilterValues + 1
	for _, tc := range []struct{ path, field string }{
		{"/calendar.ics?" + repeat("participant", "Lavrov", 1000), "participant"},
		{"/calendar.ics?" + repeat("country", "RS", 1000), "country"},
		{"/calendar.ics?" + repeat("participant", "Lavrov", over), "participant"},
		{"/calendar.ics?" + repeat("kind", "talks", over), "kind"},
		{"/calendar.ics?" + repeat("status", "held", over), "status"},
		{"/feeds/serbia.ics?" + repeat("status", "held", over), "status"},
		{"/api/v1/meetings?" + repeat("country", "RS", 1000), "country"},
		{"/api/v1/meetings?" + repeat("participant", "Lavrov", over), "participant"},
		{"/api/v1/visits?" + repeat("visitor", "Putin", over), "visitor"},
		{"/api/v1/visits?" + repeat("status", "completed", over), "status"},
	} {
		r := s.feed("GET", tc.path)
		if r.Status != 400 || !slices.Contains(r.FieldErrors(), tc.field) {
			t.Errorf("%.60s…: status %d %s, want 400 naming %q", tc.path, r.Status, r.Raw, tc.field)
		}
	}
	// At the cap, the feed is served: the cap is within what SQLite takes.
	r := s.feed("GET", "/calendar.ics?from=2019-01-01&"+repeat("participant", "Lavrov", projections.MaxFilterValues)+"&"+repeat("country", "RS", projections.MaxFilterValues))
	if r.Status != 200 || !bytes.Contains(r.Raw, []byte("Lavrov")) {
		t.Errorf("feed at the cap: status %d %.300s", r.Status, r.Raw)
	}
}

func TestDocsGiveTheFilterCap(t *testing.T) {
	want := fmt.Sprintf("at most %d values", projections.MaxFilterValues)
	for _, doc := range []string{"../../docs/api.md", "../../docs/configuration.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not say %q", doc, want)
		}
	}
}
