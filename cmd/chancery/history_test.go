package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestAsOfShowsEachMomentOfTheTalks(t *testing.T) {
	clk := newClock(time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC))
	s := startService(t, t.TempDir(), func(o *testServe) { o.now = clk.Now })
	id := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201).Str("id")
	clk.Set(time.Date(2022, 8, 20, 9, 0, 0, 0, time.UTC))
	s.Do("POST", "/api/v1/meetings/"+id+"/reschedule", map[string]any{"start": "2022-08-23", "reason": "schedules"}).Must(t, 200)
	clk.Set(time.Date(2022, 8, 21, 9, 0, 0, 0, time.UTC))
	s.Do("POST", "/api/v1/meetings/"+id+"/cancel", map[string]any{"reason": "called off"}).Must(t, 200)

	for _, tc := range []struct {
		asOf          string
		status, start string
		version       float64
	}{
		{"2022-08-19T12:00:00Z", "scheduled", "2022-08-22", 1},
		{"2022-08-20T09:00:00Z", "rescheduled", "2022-08-23", 2}, // inclusive of the instant recorded
		{"2022-08-20T14:00:00+03:00", "rescheduled", "2022-08-23", 2},
		{"2022-08-22T00:00:00Z", "cancelled", "2022-08-23", 3},
	} {
		r := s.Do("GET", "/api/v1/meetings/"+id+"?as_of="+tc.asOf, nil).Must(t, 200)
		if r.Str("status") != tc.status || r.Str("start") != tc.start || r.JSON["version"] != tc.version {
			t.Errorf("as_of %s: status %q start %q version %v, want %q %q %v", tc.asOf, r.Str("status"), r.Str("start"), r.JSON["version"], tc.status, tc.start, tc.version)
		}
	}
	s.Do("GET", "/api/v1/meetings/"+id+"?as_of=2022-08-18T00:00:00Z", nil).Must(t, 404)

	// The list as of each moment answers from a point-in-time replay,
	// replayed once per moment however often it is asked.
	for i, tc := range []struct {
		asOf   string
		status string
		count  int
	}{
		{"2022-08-18T00:00:00Z", "", 0},
		{"2022-08-19T12:00:00Z", "scheduled", 1},
		{"2022-08-20T12:00:00Z", "rescheduled", 1},
		{"2022-08-21T12:00:00Z", "cancelled", 1},
	} {
		for range 2 {
			r := s.Do("GET", "/api/v1/meetings?as_of="+tc.asOf, nil).Must(t, 200)
			items := r.List("meetings")
			if len(items) != tc.count || (tc.count > 0 && items[0]["status"] != tc.status) || r.JSON["position"] != float64(i) {
				t.Errorf("list as_of %s = %s, want %d meeting(s) %q at position %d", tc.asOf, r.Raw, tc.count, tc.status, i)
			}
		}
		if got := s.app.snapshots.Builds(); got != int64(i+1) {
			t.Errorf("after asking twice for as_of %s: %d replays, want %d", tc.asOf, got, i+1)
		}
	}
	// Another moment with the same last event is the same snapshot.
	s.Do("GET", "/api/v1/meetings?as_of=2022-08-21T23:00:00Z&status=cancelled", nil).Must(t, 200)
	if got := s.app.snapshots.Builds(); got != 4 {
		t.Errorf("a moment after the same last event replayed again (%d replays)", got)
	}
	s.Do("GET", "/api/v1/meetings?as_of=soon", nil).Must(t, 400)

	// The feed as of each moment: same snapshots, no new replay; the
	// window and cancellations are those of that moment.
	for _, tc := range []struct{ asOf, want string }{
		{"2022-08-19T12:00:00Z", "DTSTART;VALUE=DATE:20220822\r\n"},
		{"2022-08-20T12:00:00Z", "DTSTART;VALUE=DATE:20220823\r\n"},
		{"2022-08-21T12:00:00Z", "STATUS:CANCELLED\r\n"},
	} {
		r := s.Do("GET", "/calendar.ics?as_of="+tc.asOf, nil).Must(t, 200)
		if !bytes.Contains(r.Raw, []byte("UID:"+id+"@")) || !bytes.Contains(r.Raw, []byte(tc.want)) {
			t.Errorf("feed as of %s lacks %q:\n%s", tc.asOf, tc.want, r.Raw)
		}
	}
	if got := s.app.snapshots.Builds(); got != 4 {
		t.Errorf("feeds as of known moments replayed again (%d replays, want 4)", got)
	}
	s.Do("GET", "/calendar.ics?as_of=soon", nil).Must(t, 400)

	hist := s.Do("GET", "/api/v1/meetings/"+id+"/history", nil).Must(t, 200).List("events")
	if len(hist) != 3 {
		t.Fatalf("history has %d events, want 3", len(hist))
	}
	for i, e := range hist {
		for _, key := range []string{"seq", "id", "type", "schema", "aggregate_type", "aggregate_id", "version", "recorded_at", "actor", "data"} {
			if _, ok := e[key]; !ok {
				t.Errorf("event %d lacks %q: %v", i, key, e)
			}
		}
		if e["version"] != float64(i+1) || e["actor"] != "env" {
			t.Errorf("event %d: version %v actor %v", i, e["version"], e["actor"])
		}
	}
	data := hist[1]["data"].(map[string]any)
	if prev := data["previous"].(map[string]any); prev["start"] != "2022-08-22" || data["start"] != "2022-08-23" {
		t.Errorf("rescheduled event data = %v, want previous and new start", data)
	}
}

func TestEventLogPagesAndStreamsInStreamOrder(t *testing.T) {
	s := startService(t, t.TempDir())
	talksID, last := recordSeed(t, s)
	s.Do("POST", "/api/v1/meetings/"+talksID+"/postpone", nil).Must(t, 200)
	last++

	var seqs []float64
	after := 0.0
	for range 10 {
		r := s.Do("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=3", int(after)), nil).Must(t, 200)
		page := r.List("events")
		for _, e := range page {
			seqs = append(seqs, e["seq"].(float64))
		}
		if len(page) == 0 {
			if r.JSON["next_after"] != after {
				t.Errorf("empty page next_after = %v, want %v", r.JSON["next_after"], after)
			}
			break
		}
		after = r.JSON["next_after"].(float64)
	}
	if len(seqs) != int(last) {
		t.Fatalf("paged %d events, want %d", len(seqs), last)
	}
	for i, sq := range seqs {
		if sq != float64(i+1) {
			t.Fatalf("event %d has seq %v: not in stream order", i, sq)
		}
	}

	visits := s.Do("GET", "/api/v1/events?type=visit.announced", nil).Must(t, 200).List("events")
	if len(visits) != len(seedVisits) {
		t.Errorf("type filter: %d visit.announced, want %d", len(visits), len(seedVisits))
	}
	mine := s.Do("GET", "/api/v1/events?aggregate="+talksID, nil).Must(t, 200).List("events")
	if len(mine) != 2 || mine[1]["type"] != "meeting.postponed" {
		t.Errorf("aggregate filter: %v", mine)
	}

	req, _ := http.NewRequest("GET", s.base+"/api/v1/events?after=2", nil)
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := checkedClient(t, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	var lines int
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var env map[string]any
		if err := json.NewDecoder(bytes.NewReader(sc.Bytes())).Decode(&env); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		if env["seq"] != float64(2+lines) {
			t.Fatalf("line %d has seq %v", lines, env["seq"])
		}
	}
	if lines != int(last)-2 {
		t.Errorf("ndjson streamed %d events after 2, want %d", lines, last-2)
	}
}

func TestEventLogAfterTheLastPossibleSequenceIsAnEmptyPage(t *testing.T) {
	s := startService(t, t.TempDir())
	s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	for _, after := range []string{"18446744073709551615", "18446744073709551614", "999"} {
		r := s.Do("GET", "/api/v1/events?after="+after, nil).Must(t, 200)
		if len(r.List("events")) != 0 || !bytes.Contains(r.Raw, []byte(`"next_after":`+after+`}`)) {
			t.Errorf("after=%s: %s, want no events and next_after %s", after, r.Raw, after)
		}
		if r := s.Do("GET", "/api/v1/events?after="+after, nil, "Accept", "application/x-ndjson").Must(t, 200); len(r.Raw) != 0 {
			t.Errorf("after=%s as ndjson: %q, want nothing", after, r.Raw)
		}
	}
}

func TestReadsWaitForMinPositionAndGiveUpClearly(t *testing.T) {
	s := startService(t, t.TempDir())
	w := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	got := s.Do("GET", fmt.Sprintf("/api/v1/meetings?min_position=%d", w.Position(t)), nil).Must(t, 200)
	if len(got.List("meetings")) != 1 {
		t.Fatalf("read after write did not see the write: %s", got.Raw)
	}
	r := s.Do("GET", "/api/v1/meetings/"+w.Str("id"), nil, "If-None-Match", `"1"`)
	if r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match with the current version: %d, want 304", r.Status)
	}
	// A position the stream will not reach in time: a clear 503, not a hang.
	r = s.Do("GET", "/api/v1/meetings?min_position=999", nil)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("unreachable min_position: %d %s", r.Status, r.Raw)
	}
}

func TestFeedsHonourMinPosition(t *testing.T) {
	s := startService(t, t.TempDir())
	w := s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	r := s.Do("GET", fmt.Sprintf("/calendar.ics?from=2022-01-01&min_position=%d", w.Position(t)), nil).Must(t, 200)
	if !bytes.Contains(r.Raw, []byte("UID:"+w.Str("id")+"@")) {
		t.Errorf("feed read at the write's position lacks the meeting:\n%s", r.Raw)
	}
	s.Do("GET", "/calendar.ics?min_position=soon", nil).Must(t, 400)
}
