package calendar

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/icalcheck"
	"github.com/chancery/chancery/internal/natstest"
	"github.com/chancery/chancery/projections"
)

// testClock is a settable clock, safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// store is the real write and read path: an embedded JetStream event log,
// a SQLite read model in a file and its projector, with a settable clock
// for the events it records and for the feed handler.
type store struct {
	events    *events.Log
	db        *projections.DB
	projector *projections.Projector
	clock     *testClock
}

func newStore(t *testing.T, now time.Time) *store {
	t.Helper()
	ctx := context.Background()
	ns := natstest.Start(t, "")
	s := &store{clock: &testClock{}}
	s.clock.Set(now)
	var err error
	if s.events, err = events.OpenLog(ctx, ns.JS, events.LogConfig{Now: s.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if s.db, err = projections.Open(ctx, filepath.Join(t.TempDir(), "chancery.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close() })
	if s.projector, err = projections.NewProjector(ctx, s.db, ns.JS, s.events.Stream(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// record executes a command on a meeting (new when id is empty) and waits
// until the read model has applied it. It returns the meeting's id.
func (s *store) record(t *testing.T, id string, cmd any) string {
	t.Helper()
	ctx := context.Background()
	meta := events.Meta{Actor: "test"}
	if id == "" {
		id, meta.Fresh = events.NewMeetingID(s.clock.Now()), true
	}
	_, res, err := events.Execute[events.Meeting](ctx, s.events, id, cmd, meta)
	if err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
	if err := s.projector.CatchUp(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	return id
}

// serve runs the feed handler over HTTP with the routes the service uses.
func (s *store) serve(t *testing.T, cfg Config) (*Handler, string) {
	t.Helper()
	cfg.DB, cfg.Position, cfg.Now = s.db, s.projector.Position, s.clock.Now
	if cfg.UIDHost == "" {
		cfg.UIDHost = "chancery.test"
	}
	h := NewHandler(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calendar.ics", h.ServeAll)
	mux.HandleFunc("GET /feeds/{file}", h.ServeNamed)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Else the transport would ask for gzip and decode it behind our back.
	req.Header.Set("Accept-Encoding", "identity")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// A thousand subscribers polling an unchanged feed cost one render: the
// second request for the same feed at the same read-model position, and
// any number of concurrent ones, run no SQL; a write that moves the
// position makes the next request render once more.
func TestSecondRequestForUnchangedFeedRunsNoSQL(t *testing.T) {
	s := newStore(t, release)
	talks := s.record(t, "", scheduleTalks())
	_, base := s.serve(t, Config{})
	url := base + "/calendar.ics?from=2022-01-01"

	res, first := get(t, url)
	if res.StatusCode != 200 || res.Header.Get("X-Cache") != "miss" {
		t.Fatalf("first request: %d, X-Cache %q", res.StatusCode, res.Header.Get("X-Cache"))
	}
	queries := s.db.Queries()
	res, second := get(t, url)
	if res.Header.Get("X-Cache") != "hit" || !bytes.Equal(first, second) {
		t.Fatalf("second request: X-Cache %q, same body %v", res.Header.Get("X-Cache"), bytes.Equal(first, second))
	}
	if n := s.db.Queries(); n != queries {
		t.Fatalf("the second request ran %d queries, want none", n-queries)
	}

	// A write moves the position: one render, then hits again, also for
	// many subscribers at once.
	s.record(t, talks, &events.RescheduleMeeting{Start: "2022-08-23", Reason: rescheduleReason})
	var wg sync.WaitGroup
	bodies := make([][]byte, 50)
	for i := range bodies {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			bodies[i], _ = io.ReadAll(res.Body)
		})
	}
	wg.Wait()
	if n := s.db.Queries(); n != queries+1 {
		t.Fatalf("%d concurrent requests after a write ran %d queries, want 1", len(bodies), n-queries)
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatal("concurrent requests got different feeds")
		}
	}
	if bytes.Equal(bodies[0], first) {
		t.Fatal("the feed did not change after the reschedule")
	}
	res, third := get(t, url)
	if res.Header.Get("X-Cache") != "hit" || !bytes.Equal(third, bodies[0]) || s.db.Queries() != queries+1 {
		t.Fatalf("after the re-render: X-Cache %q, queries +%d", res.Header.Get("X-Cache"), s.db.Queries()-queries)
	}

	uid := talks + "@chancery.test"
	want := icalcheck.Event{
		UID: uid, Summary: "Lavrov–Vulin talks", Status: "CONFIRMED", AllDay: true,
		Start: allDay("2022-08-22"), End: allDay("2022-08-23"), Location: "Moscow, Russian Federation",
		Description: talksDescription,
	}
	icalcheck.Check(t, first, []icalcheck.Event{want})
	want.Start, want.End, want.Sequence = allDay("2022-08-23"), allDay("2022-08-24"), 1
	want.Description = talksParticipants + "\n\nBilateral cooperation agenda; international and regional questions.\n\n" +
		"Status: rescheduled (" + rescheduleReason + ")\n\nSource: " + seedSource + " (published 2022-08-19)"
	icalcheck.Check(t, third, []icalcheck.Event{want})
}

// A cancelled meeting stays in the feed, STATUS:CANCELLED, for 30 days
// after it would have ended, so that subscribed clients remove it; then it
// leaves the feed. A meeting that was not cancelled stays.
func TestFeedKeepsCancelledEventWithStatusCancelled(t *testing.T) {
	s := newStore(t, release)
	call := scheduleTimed("2022-08-29T15:00", "2022-08-29T16:00") // ends 14:00 UTC
	cancelled := s.record(t, "", call)
	s.record(t, cancelled, &events.CancelMeeting{Reason: "no longer needed"})
	kept := s.record(t, "", call)
	_, base := s.serve(t, Config{})

	cest := time.FixedZone("CEST", 2*3600)
	keptEvent := wantTimed(kept, time.Date(2022, 8, 29, 15, 0, 0, 0, cest), time.Date(2022, 8, 29, 16, 0, 0, 0, cest))
	cancelledEvent := wantTimed(cancelled, keptEvent.Start, keptEvent.End)
	cancelledEvent.Summary, cancelledEvent.Status, cancelledEvent.Sequence = "Cancelled: "+keptEvent.Summary, "CANCELLED", 1
	cancelledEvent.Description += "\n\nStatus: cancelled (no longer needed)"

	for _, tc := range []struct {
		now  time.Time
		want []icalcheck.Event
	}{
		{time.Date(2022, 8, 30, 9, 0, 0, 0, time.UTC), []icalcheck.Event{cancelledEvent, keptEvent}},
		{time.Date(2022, 9, 28, 23, 0, 0, 0, time.UTC), []icalcheck.Event{cancelledEvent, keptEvent}}, // day 30
		{time.Date(2022, 9, 29, 0, 0, 0, 0, time.UTC), []icalcheck.Event{keptEvent}},                  // day 31
		{time.Date(2022, 11, 1, 0, 0, 0, 0, time.UTC), []icalcheck.Event{keptEvent}},
	} {
		s.clock.Set(tc.now)
		res, body := get(t, base+"/calendar.ics")
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.now, res.StatusCode)
		}
		if got, want := strings.Contains(string(body), cancelled), len(tc.want) == 2; got != want {
			t.Errorf("on %s the cancelled meeting is in the feed: %v, want %v", tc.now.Format(time.DateOnly), got, want)
		}
		icalcheck.Check(t, body, tc.want)
	}
}

// A failure behind a feed is a 500 whose body says nothing of the cause,
// and an error in the log that says everything.
func TestFeedFailureIsLoggedAs500(t *testing.T) {
	s := newStore(t, release)
	var logged bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	_, base := s.serve(t, Config{Logger: logger, Feeds: []Feed{{Name: "private", Token: "secret-in-query"}}})
	s.db.Close()

	res, body := get(t, base+"/feeds/private.ics?token=secret-in-query")
	if res.StatusCode != 500 || !strings.Contains(string(body), "server log") || strings.Contains(string(body), "closed") {
		t.Fatalf("status %d, body %s", res.StatusCode, body)
	}
	mu.Lock()
	lines := logged.String()
	mu.Unlock()
	for _, want := range []string{"level=ERROR", "feed request failed", "path=/feeds/private.ics", "database is closed"} {
		if !strings.Contains(lines, want) {
			t.Errorf("log lacks %q:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, "secret-in-query") {
		t.Errorf("the log holds the query string, tokens included:\n%s", lines)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReRenderFromCachedEntriesEqualsAColdRender: a handler that keeps the
// entries of earlier renders answers, after changes, with exactly the bytes
// of a handler that renders everything afresh.
func TestReRenderFromCachedEntriesEqualsAColdRender(t *testing.T) {
	s := newStore(t, release)
	talks := s.record(t, "", scheduleTalks())
	s.record(t, "", scheduleTalks())
	warm, _ := s.serve(t, Config{})
	body := func(h *Handler) []byte {
		req := httptest.NewRequest(http.MethodGet, "http://chancery.test/calendar.ics?from=2022-01-01&alarm=-PT1H", nil)
		rec := httptest.NewRecorder()
		h.ServeAll(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	before := body(warm)
	s.record(t, talks, &events.RescheduleMeeting{Start: "2022-08-23", Reason: rescheduleReason})
	s.record(t, "", scheduleTalks())
	after := body(warm)
	cold, _ := s.serve(t, Config{})
	if fresh := body(cold); !bytes.Equal(after, fresh) {
		t.Fatalf("re-render from cached entries differs from a cold render:\n%s\n---\n%s", after, fresh)
	}
	if bytes.Equal(before, after) {
		t.Fatal("the feed did not change after a reschedule")
	}
}

// TestPublicURLMakesTheHostHeaderIrrelevant: with a configured public URL,
// requests under any Host get the same cached feed with the same links, so
// made-up Host headers cannot force renders.
func TestPublicURLMakesTheHostHeaderIrrelevant(t *testing.T) {
	s := newStore(t, release)
	id := s.record(t, "", scheduleTalks())
	h, _ := s.serve(t, Config{PublicURL: "https://chancery.example.org/"})
	var bodies [][]byte
	for i, host := range []string{"a.example", "b.example", "evil.example"} {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/calendar.ics?from=2022-01-01", nil)
		rec := httptest.NewRecorder()
		h.ServeAll(rec, req)
		if want := map[bool]string{true: "miss", false: "hit"}[i == 0]; rec.Header().Get("X-Cache") != want {
			t.Errorf("Host %s: X-Cache %q, want %q", host, rec.Header().Get("X-Cache"), want)
		}
		bodies = append(bodies, rec.Body.Bytes())
	}
	unfolded := bytes.ReplaceAll(bodies[0], []byte("\r\n "), nil)
	if !bytes.Equal(bodies[0], bodies[2]) || !bytes.Contains(unfolded, []byte("URL:https://chancery.example.org/api/v1/meetings/"+id)) {
		t.Errorf("feeds differ by Host or lack the public URL:\n%s", bodies[0])
	}
}

// TestWarmDecodesTheFeedAhead: Warm puts the default feed's engagements in
// the entry cache, and the feed is then served from it.
func TestWarmDecodesTheFeedAhead(t *testing.T) {
	s := newStore(t, release)
	s.record(t, "", scheduleTalks())
	s.record(t, "", scheduleTalks())
	h, base := s.serve(t, Config{})
	if err := h.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.entries.entries {
		if e.e.id == "" {
			t.Fatal("an empty entry was cached")
		}
	}
	if n := len(h.entries.entries); n != 2 {
		t.Fatalf("Warm cached %d entries, want 2", n)
	}
	res, body := get(t, base+"/calendar.ics")
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("BEGIN:VEVENT")) {
		t.Fatalf("feed after Warm: %d\n%s", res.StatusCode, body)
	}
}

// failingSnapshots answers every moment with its error: all 2 replays
// busy, say, as a server whose point-in-time replays are all under way does.
type failingSnapshots struct{ err error }

func (f failingSnapshots) Within(context.Context, events.Bound) (*projections.DB, events.Moment, func(), error) {
	return nil, events.Moment{}, nil, f.err
}

var busySnapshots = failingSnapshots{events.Errorf(events.EUNAVAILABLE, "all 2 point-in-time replays are busy; try again shortly")}

func TestFeedAsOfWhileEveryReplayIsBusyIsA503WithRetryAfter(t *testing.T) {
	s := newStore(t, time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC))
	_, base := s.serve(t, Config{Snapshots: busySnapshots})
	res, body := get(t, base+"/calendar.ics?as_of=2022-08-19T10:00:00Z")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("as_of while busy: %d, Retry-After %q: %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if !bytes.Contains(body, []byte("busy")) {
		t.Errorf("the problem does not say why: %s", body)
	}
}

// TestFeedErrorsAnswerTheStatusOfTheirCode: the feeds map errors as the API
// does, so a domain error behind a feed is never a 500.
func TestFeedErrorsAnswerTheStatusOfTheirCode(t *testing.T) {
	s := newStore(t, time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC))
	for _, tt := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{events.Errorf(events.ENOTFOUND, "no read model as of then"), http.StatusNotFound, ""},
		{events.Errorf(events.ENOTCAUGHTUP, "the read model is behind"), http.StatusServiceUnavailable, "1"},
		{events.Errorf(events.ECONFLICT, "in progress"), http.StatusConflict, "1"},
	} {
		_, base := s.serve(t, Config{Snapshots: failingSnapshots{tt.err}})
		res, body := get(t, base+"/calendar.ics?as_of=2022-08-19T10:00:00Z")
		if res.StatusCode != tt.status || res.Header.Get("Retry-After") != tt.retryAfter {
			t.Errorf("%v: %d, Retry-After %q: %s; want %d, Retry-After %q", tt.err, res.StatusCode, res.Header.Get("Retry-After"), body, tt.status, tt.retryAfter)
		}
	}
}
