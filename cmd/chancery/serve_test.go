package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/apitest"
	"github.com/chancery/chancery/internal/dbfault"
	"github.com/chancery/chancery/projections"
)

func TestConcurrentReschedulesWithSameIfMatchExactlyOneWins(t *testing.T) {
	s := startService(t, t.TempDir())
	created := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	id := created.Str("id")
	if etag := created.Header.Get("ETag"); etag != `"1"` {
		t.Fatalf("ETag = %s, want \"1\"", etag)
	}

	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := map[string]any{"start": fmt.Sprintf("2022-09-%02d", i+1), "reason": fmt.Sprintf("attempt %d", i)}
			statuses[i] = s.Do("POST", "/api/v1/meetings/"+id+"/reschedule", body, "If-Match", `"1"`).Status
		}()
	}
	close(start)
	wg.Wait()

	won := 0
	for i, st := range statuses {
		switch st {
		case 200:
			won++
		case 409, 412:
		default:
			t.Errorf("attempt %d: status %d, want 200, 409 or 412", i, st)
		}
	}
	if won != 1 {
		t.Fatalf("%d reschedules succeeded, want exactly 1 (statuses %v)", won, statuses)
	}
	hist := s.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, 200).List("events")
	var types []string
	for _, e := range hist {
		types = append(types, e["type"].(string))
	}
	if !slices.Equal(types, []string{"meeting.scheduled", "meeting.rescheduled"}) {
		t.Fatalf("history = %v, want one scheduled and one rescheduled", types)
	}
	all := s.Do("GET", "/api/v1/events?type=meeting.rescheduled", nil).Must(t, 200).List("events")
	if len(all) != 1 {
		t.Fatalf("stream holds %d meeting.rescheduled events, want 1", len(all))
	}
	// The loser's next try with the new version succeeds.
	s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "x"}, "If-Match", `"1"`).Must(t, 412)
	s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "x"}, "If-Match", `"2"`).Must(t, 200)
}

func TestIdempotencyKeyReturnsFirstResultImmediatelyAndAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	body := seedTalks()
	first := s.Do("POST", "/api/v1/meetings", body, "Idempotency-Key", "release-2022-08-19-talks").Must(t, 201)
	again := s.Do("POST", "/api/v1/meetings", body, "Idempotency-Key", "release-2022-08-19-talks").Must(t, 201)
	assertSameResponse(t, first, again)
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry not marked as replayed")
	}
	// Same key, different request: refused, nothing recorded.
	other := seedTalks()
	other["title"] = "Something else"
	s.Do("POST", "/api/v1/meetings", other, "Idempotency-Key", "release-2022-08-19-talks").Must(t, 422)

	// Commands are idempotent too.
	id := first.Str("id")
	c1 := s.Do("POST", "/api/v1/meetings/"+id+"/postpone", map[string]any{"reason": "agenda"}, "Idempotency-Key", "pp-1").Must(t, 200)
	c2 := s.Do("POST", "/api/v1/meetings/"+id+"/postpone", map[string]any{"reason": "agenda"}, "Idempotency-Key", "pp-1").Must(t, 200)
	assertSameResponse(t, c1, c2)

	s.stop()
	s = startService(t, dir)
	after := s.Do("POST", "/api/v1/meetings", body, "Idempotency-Key", "release-2022-08-19-talks").Must(t, 201)
	assertSameResponse(t, first, after)
	c3 := s.Do("POST", "/api/v1/meetings/"+id+"/postpone", map[string]any{"reason": "agenda"}, "Idempotency-Key", "pp-1").Must(t, 200)
	assertSameResponse(t, c1, c3)

	evs := s.Do("GET", "/api/v1/events", nil).Must(t, 200).List("events")
	if len(evs) != 2 {
		t.Fatalf("stream holds %d events, want 2 (one scheduled, one postponed)", len(evs))
	}
	list := s.Do("GET", fmt.Sprintf("/api/v1/meetings?min_position=%d", after.Position(t)), nil).Must(t, 200).List("meetings")
	if len(list) != 1 {
		t.Fatalf("%d meetings listed, want 1", len(list))
	}
}

// TestIdempotencyKeyRecoversFromCrashBeforeRecordingOutcome covers the worst
// moment: the event was stored but the process died before the key's
// outcome was written, leaving only a pending claim. The retry takes the
// stale claim over, finds the event by its Nats-Msg-Id and answers it
// instead of recording another.
func TestIdempotencyKeyRecoversFromCrashBeforeRecordingOutcome(t *testing.T) {
	ctx := context.Background()
	s := startService(t, t.TempDir())
	id := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201).Str("id")

	// What the dead request left behind: its claim (as the handler writes
	// it) and its event, but no outcome.
	body := `{"reason":"storm"}`
	path := "/api/v1/meetings/" + id + "/postpone"
	sum := sha256.Sum256([]byte("POST " + path + "\n\n" + body))
	key := events.IdempotencyKey("env", "crash-key")
	js, _ := jetstream.New(s.app.nc)
	idem, err := events.OpenIdempotency(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if prev, _, err := idem.Claim(ctx, key, events.IdempotencyRecord{
		Fingerprint: hex.EncodeToString(sum[:]), AggregateID: id, StartedAt: time.Now().Add(-time.Minute),
	}); err != nil || prev != nil {
		t.Fatalf("claim: %v %v", prev, err)
	}
	_, res, err := events.Execute[events.Meeting](ctx, s.app.log, id, &events.PostponeMeeting{Reason: "storm"}, events.Meta{Actor: "env", MsgID: key})
	if err != nil {
		t.Fatal(err)
	}

	retry := s.Do("POST", path, []byte(body), "Idempotency-Key", "crash-key").Must(t, 200)
	if retry.Position(t) != res.Position || retry.Str("status") != "postponed" {
		t.Fatalf("retry answered position %d status %q, want the stored event's %d, postponed", retry.Position(t), retry.Str("status"), res.Position)
	}
	again := s.Do("POST", path, []byte(body), "Idempotency-Key", "crash-key").Must(t, 200)
	assertSameResponse(t, retry, again)
	hist := s.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, 200).List("events")
	if len(hist) != 2 {
		t.Fatalf("history has %d events, want 2", len(hist))
	}
}

func assertSameResponse(t *testing.T, a, b apitest.Response) {
	t.Helper()
	if a.Status != b.Status || string(a.Raw) != string(b.Raw) {
		t.Fatalf("responses differ:\n%d %s\n%d %s", a.Status, a.Raw, b.Status, b.Raw)
	}
	for _, h := range []string{"Location", "ETag", "Chancery-Position"} {
		if a.Header.Get(h) != b.Header.Get(h) {
			t.Errorf("%s: %q then %q", h, a.Header.Get(h), b.Header.Get(h))
		}
	}
}

func TestProjectorKilledBetweenRowsAndCheckpointRecoversToRebuild(t *testing.T) {
	dir := t.TempDir()
	var armed atomic.Bool
	injected := errors.New("injected crash between row writes and checkpoint")
	s := startService(t, dir)
	dbfault.BeforeCheckpoint(t, filepath.Join(dir, "chancery.db"), func() error {
		if armed.Load() {
			return injected
		}
		return nil
	})
	talksID, pos := recordSeed(t, s)
	s.Do("GET", fmt.Sprintf("/api/v1/meetings?min_position=%d", pos), nil).Must(t, 200)

	armed.Store(true)
	w := s.Do("POST", "/api/v1/meetings/"+talksID+"/reschedule", map[string]any{"start": "2022-08-23T11:00", "timezone": "Europe/Moscow"}).Must(t, 200)
	// The projector dies on this batch: the read model never shows it.
	deadline := time.Now().Add(10 * time.Second)
	for s.app.projector.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The error comes back through SQLite as text.
	if err := s.app.projector.Err(); err == nil || !strings.Contains(err.Error(), injected.Error()) {
		t.Fatalf("projector error = %v, want the injected crash", s.app.projector.Err())
	}
	if r := s.Do("GET", "/readyz", nil); r.Status != 503 {
		t.Errorf("readyz after projector crash = %d, want 503", r.Status)
	}
	if got := s.Do("GET", "/api/v1/meetings/"+talksID, nil).Must(t, 200).Str("status"); got != "scheduled" {
		t.Fatalf("read model shows status %q after the crashed batch, want the old state", got)
	}
	s.closed = true
	s.app.close() // the projector's error is expected here

	armed.Store(false) // the restarted service writes to a sound disk
	s = startService(t, dir)
	got := s.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", talksID, w.Position(t)), nil).Must(t, 200)
	if got.Str("status") != "rescheduled" || got.Str("start") != "2022-08-23T11:00:00" {
		t.Fatalf("after restart: %s", got.Raw)
	}
	assertEqualsRebuild(t, s)
}

func TestProjectorRetriesAfterAFailureAndCatchesUp(t *testing.T) {
	var failing atomic.Bool
	var attempts atomic.Int32
	s := startService(t, t.TempDir())
	dbfault.BeforeCheckpoint(t, filepath.Join(s.dir, "chancery.db"), func() error {
		if failing.Load() {
			attempts.Add(1)
			return errors.New("disk full")
		}
		return nil
	})
	talksID, _ := recordSeed(t, s)
	failing.Store(true)
	w := s.Do("POST", "/api/v1/meetings/"+talksID+"/cancel", map[string]any{"reason": "postponed by both sides"}).Must(t, 200)

	// While the projector fails and retries, reads that ask for the new
	// position get 503 with Retry-After, and readyz says why.
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if attempts.Load() < 2 {
		t.Fatalf("projector tried the failing batch %d times in 10s, want it to retry", attempts.Load())
	}
	r := s.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", talksID, w.Position(t)), nil)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("read at min_position while the projector fails = %d (Retry-After %q), want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	if r := s.Do("GET", "/readyz", nil); r.Status != 503 || !strings.Contains(string(r.Raw), "disk full") {
		t.Errorf("readyz while failing = %d %s, want 503 naming the error", r.Status, r.Raw)
	}

	// The fault clears: the projector catches up with no restart.
	failing.Store(false)
	got := s.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", talksID, w.Position(t)), nil)
	for got.Status == 503 && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(100 * time.Millisecond)
		got = s.Do("GET", fmt.Sprintf("/api/v1/meetings/%s?min_position=%d", talksID, w.Position(t)), nil)
	}
	if got.Must(t, 200).Str("status") != "cancelled" {
		t.Fatalf("after the fault cleared: %s", got.Raw)
	}
	if r := s.Do("GET", "/readyz", nil); r.Status != 200 {
		t.Errorf("readyz after recovery = %d %s, want 200", r.Status, r.Raw)
	}
	assertEqualsRebuild(t, s)
}

// assertEqualsRebuild compares the live read model with one rebuilt from the
// stream into a new file, table by table.
func assertEqualsRebuild(t *testing.T, s *service) {
	t.Helper()
	ctx := context.Background()
	last, err := s.app.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.app.projector.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	fresh, err := projections.Open(ctx, filepath.Join(t.TempDir(), "rebuild.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	js, _ := jetstream.New(s.app.nc)
	p, err := projections.NewProjector(ctx, fresh, js, s.app.log.Stream(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(ctx, last); err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.app.db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("live read model differs from a rebuild:\nlive    %v\nrebuild %v", got, want)
	}
}

func TestRestartKeepsEverythingAndDeletedReadModelComesBackIdentical(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	talksID, _ := recordSeed(t, s)
	s.Do("POST", "/api/v1/meetings/"+talksID+"/participants", map[string]any{"participants": []map[string]any{
		{"name": "Sergey Lavrov", "office": "Minister of Foreign Affairs", "country": "RU"},
		{"name": "Aleksandar Vulin", "office": "Minister of Internal Affairs", "country": "RS"},
		{"name": "Alexander Botsan-Kharchenko", "office": "Ambassador of Russia to Serbia", "country": "RU"},
	}}).Must(t, 200)
	last := s.Do("POST", "/api/v1/meetings/"+talksID+"/relocate", map[string]any{"location": map[string]any{"city": "Moscow", "country": "RU", "venue": "Osobnyak guest house"}}).Must(t, 200).Position(t)
	before := snapshot(t, s, last)
	digest := digestAt(t, s, last)
	s.stop()

	s = startService(t, dir)
	if got := snapshot(t, s, last); got != before {
		t.Fatalf("after restart the API answers differently:\n%s\nvs\n%s", got, before)
	}
	s.stop()

	for _, f := range []string{"chancery.db", "chancery.db-wal", "chancery.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	s = startService(t, dir)
	if got := snapshot(t, s, last); got != before {
		t.Fatalf("rebuilt read model answers differently:\n%s\nvs\n%s", got, before)
	}
	if got := digestAt(t, s, last); !maps.Equal(got, digest) {
		t.Fatalf("rebuilt read model is not identical:\n%v\n%v", got, digest)
	}
	if r := s.Do("GET", "/readyz", nil).Must(t, 200); r.JSON["position"] != float64(last) {
		t.Errorf("readyz position = %v, want %d", r.JSON["position"], last)
	}
}

func snapshot(t *testing.T, s *service, pos uint64) string {
	t.Helper()
	m := s.Do("GET", fmt.Sprintf("/api/v1/meetings?min_position=%d", pos), nil).Must(t, 200)
	v := s.Do("GET", "/api/v1/visits", nil).Must(t, 200)
	return string(m.Raw) + string(v.Raw)
}

func digestAt(t *testing.T, s *service, pos uint64) map[string]string {
	t.Helper()
	if err := s.app.projector.WaitFor(context.Background(), pos); err != nil {
		t.Fatal(err)
	}
	d, err := s.app.db.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBadInputIsRejectedNamingTheFieldAndStoresNothing(t *testing.T) {
	s := startService(t, t.TempDir())
	talks := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	id := talks.Str("id")
	s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "postponed indefinitely"}).Must(t, 200)
	live := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	liveID := live.Str("id")
	lastBefore, _ := s.app.log.LastSeq(context.Background())
	before := snapshot(t, s, lastBefore)

	with := func(change func(m map[string]any)) map[string]any {
		m := seedTalks()
		change(m)
		return m
	}
	// rawTalks is the talks' JSON with old replaced by new: for what a map
	// cannot say (a key twice, an escape).
	rawTalks := func(old, new string) []byte {
		b, _ := json.Marshal(seedTalks())
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s not in %s", old, b)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		status  int
		field   string
	}{
		{"unknown timezone", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["timezone"] = "Europe/Atlantis" }), nil, 400, "timezone"},
		{"end before start", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["end"] = "2022-08-21" }), nil, 400, "end"},
		{"date and date-time mixed", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["end"] = "2022-08-22T18:00" }), nil, 400, "end"},
		{"offset instead of zone", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["start"] = "2022-08-22T11:00:00+03:00" }), nil, 400, "start"},
		{"timed without zone", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["start"] = "2022-08-22T11:00" }), nil, 400, "timezone"},
		{"unknown kind", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["kind"] = "banquet" }), nil, 400, "kind"},
		{"country name instead of code", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["location"] = map[string]any{"city": "Moscow", "country": "Russia"} }), nil, 400, "location.country"},
		{"lowercase country", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["location"] = map[string]any{"city": "Moscow", "country": "ru"} }), nil, 400, "location.country"},
		{"unassigned participant country", "POST", "/api/v1/meetings", with(func(m map[string]any) {
			m["participants"] = []map[string]any{{"name": "A", "country": "XX"}}
		}), nil, 400, "participants[0].country"},
		{"empty title", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["title"] = "   " }), nil, 400, "title"},
		{"title with a line break", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["title"] = "Talks\r\nBEGIN:VEVENT" }), nil, 400, "title"},
		{"key given twice", "POST", "/api/v1/meetings", rawTalks(`"title":`, `"title":"Other talks","title":`), nil, 400, "title"},
		{"key in another case", "POST", "/api/v1/meetings", rawTalks(`"title":`, `"TITLE":`), nil, 400, "TITLE"},
		{"nested key in another case", "POST", "/api/v1/meetings", rawTalks(`"city":`, `"City":`), nil, 400, "location.City"},
		{"escaped lone surrogate", "POST", "/api/v1/meetings", rawTalks(`"title":"`, `"title":"\ud800`), nil, 400, "title"},
		{"escaped lone low surrogate in a list", "POST", "/api/v1/meetings", rawTalks(`"name":"Aleksandar`, `"name":"\udc00Aleksandar`), nil, 400, "participants[1].name"},
		{"number too large for any type", "POST", "/api/v1/meetings", rawTalks(`"title":"Lavrov–Vulin talks"`, `"title":1e999`), nil, 400, "title"},
		{"title with a right-to-left override", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["title"] = "Talks \u202eniluV" }), nil, 400, "title"},
		{"title with an isolate", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["title"] = "Talks \u2067X\u2069" }), nil, 400, "title"},
		{"name with a line separator", "POST", "/api/v1/meetings", with(func(m map[string]any) {
			m["participants"] = []map[string]any{{"name": "Sergey\u2028Lavrov", "country": "RU"}}
		}), nil, 400, "participants[0].name"},
		{"city with a paragraph separator", "POST", "/api/v1/meetings", with(func(m map[string]any) {
			m["location"] = map[string]any{"city": "Mos\u2029cow", "country": "RU"}
		}), nil, 400, "location.city"},
		{"unknown field", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["timezon"] = "UTC" }), nil, 400, "timezon"},
		{"wrong type", "POST", "/api/v1/meetings", with(func(m map[string]any) { m["participants"] = "Lavrov" }), nil, 400, "participants"},
		{"wrong type in a list", "POST", "/api/v1/meetings", with(func(m map[string]any) {
			m["participants"] = []map[string]any{{"name": "A", "country": "RS"}, {"name": 7, "country": "RU"}}
		}), nil, 400, "participants[1].name"},
		{"method not allowed", "DELETE", "/api/v1/meetings/" + liveID, nil, nil, 405, ""},
		{"no such path", "GET", "/api/v2/meetings", nil, nil, 404, ""},
		{"invalid UTF-8", "POST", "/api/v1/meetings", []byte("{\"kind\":\"talks\",\"title\":\"Talks \xff\xfe\"}"), nil, 400, "body"},
		{"not JSON", "POST", "/api/v1/meetings", []byte("kind=talks"), nil, 400, "body"},
		{"2 MiB body", "POST", "/api/v1/meetings", []byte(`{"title":"` + strings.Repeat("a", 2<<20) + `"}`), nil, 413, ""},
		{"subject wildcard id", "POST", "/api/v1/meetings/a.%3E/cancel", map[string]any{}, nil, 400, "id"},
		{"star id", "POST", "/api/v1/meetings/*/cancel", map[string]any{}, nil, 400, "id"},
		{"star id read", "GET", "/api/v1/meetings/*", nil, nil, 400, "id"},
		{"visit id on meetings", "GET", "/api/v1/meetings/vis_01j00000000000000000000000", nil, nil, 400, "id"},
		{"unknown meeting", "POST", "/api/v1/meetings/mtg_01j00000000000000000000000/cancel", map[string]any{}, nil, 404, ""},
		{"no token", "POST", "/api/v1/meetings", seedTalks(), []string{"Authorization", "-"}, 401, ""},
		{"wrong token", "POST", "/api/v1/meetings", seedTalks(), []string{"Authorization", "Bearer not-the-token"}, 401, ""},
		{"wrong scheme", "POST", "/api/v1/meetings", seedTalks(), []string{"Authorization", "Basic " + testToken}, 401, ""},
		{"reschedule a cancelled meeting", "POST", "/api/v1/meetings/" + id + "/reschedule", map[string]any{"start": "2022-09-01"}, nil, 422, ""},
		{"unknown command", "POST", "/api/v1/meetings/" + liveID + "/teleport", map[string]any{}, nil, 404, ""},
		{"stale If-Match", "POST", "/api/v1/meetings/" + liveID + "/cancel", map[string]any{}, []string{"If-Match", `"7"`}, 412, ""},
		{"malformed If-Match", "POST", "/api/v1/meetings/" + liveID + "/cancel", map[string]any{}, []string{"If-Match", "yesterday"}, 400, "If-Match"},
		{"If-Match in triple quotes", "POST", "/api/v1/meetings/" + liveID + "/cancel", map[string]any{}, []string{"If-Match", `"""1"""`}, 400, "If-Match"},
		{"If-Match with a sign", "POST", "/api/v1/meetings/" + liveID + "/cancel", map[string]any{}, []string{"If-Match", `"+1"`}, 400, "If-Match"},
		{"bad list country", "GET", "/api/v1/meetings?country=Serbia", nil, nil, 400, "country"},
		{"bad list window", "GET", "/api/v1/visits?from=22.08.2022", nil, nil, 400, "from"},
		{"bad limit", "GET", "/api/v1/meetings?limit=0", nil, nil, 400, "limit"},
		{"bad as_of", "GET", "/api/v1/meetings/" + liveID + "?as_of=yesterday", nil, nil, 400, "as_of"},
		{"bad min_position", "GET", "/api/v1/meetings/" + liveID + "?min_position=abc", nil, nil, 400, "min_position"},
		{"bad min_position on history", "GET", "/api/v1/meetings/" + liveID + "/history?min_position=abc", nil, nil, 400, "min_position"},
		{"bad min_position with as_of", "GET", "/api/v1/meetings/" + liveID + "?as_of=2022-08-20T00:00:00Z&min_position=-1", nil, nil, 400, "min_position"},
		{"bad min_position on events", "GET", "/api/v1/events?min_position=x", nil, nil, 400, "min_position"},
		{"write to history", "POST", "/api/v1/meetings/" + liveID + "/history", map[string]any{}, nil, 405, ""},
		{"write to visit history", "POST", "/api/v1/visits/vis_01j00000000000000000000000/history", map[string]any{}, []string{"Authorization", "-"}, 405, ""},
		{"bad event type", "GET", "/api/v1/events?type=meeting.exploded", nil, nil, 400, "type"},
		{"bad event aggregate", "GET", "/api/v1/events?aggregate=*", nil, nil, 400, "aggregate"},
		{"visit without destination", "POST", "/api/v1/visits", map[string]any{"visitor": map[string]any{"name": "Ana Brnabić", "country": "RS"}, "start": "2021-12-10"}, nil, 400, "destination.country"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(tc.method, tc.path, tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if r.JSON["status"] != float64(tc.status) || r.Str("title") == "" {
				t.Errorf("problem body lacks status/title: %s", r.Raw)
			}
			if tc.field != "" && !slices.Contains(r.FieldErrors(), tc.field) {
				t.Errorf("errors name %v, want %q: %s", r.FieldErrors(), tc.field, r.Raw)
			}
		})
	}
	lastAfter, _ := s.app.log.LastSeq(context.Background())
	if lastAfter != lastBefore {
		t.Fatalf("bad input changed the stream: last seq %d, was %d", lastAfter, lastBefore)
	}
	if after := snapshot(t, s, lastAfter); after != before {
		t.Fatalf("bad input changed the read model")
	}
}
