package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// exportAll writes the whole record as a trail.
func exportAll(t *testing.T, r *record) (string, TrailEnd) {
	t.Helper()
	var b bytes.Buffer
	end, err := ExportTrail(r.ctx, r.srv.JS, events.DefaultStream, 6, day(23, 12), &b)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return b.String(), end
}

// talksTrail records the talks story and exports the record whole.
func talksTrail(t *testing.T) (*record, string, TrailEnd) {
	t.Helper()
	r := newRecord(t)
	talksStory(t, r)
	trail, end := exportAll(t, r)
	return r, trail, end
}

func TestExportedTrailChecksOutAndImportsAsTheSameStream(t *testing.T) {
	r, trail, end := talksTrail(t)

	lines := strings.SplitAfter(trail, "\n")
	lines = lines[:len(lines)-1]
	if len(lines) != 8 || end.Count != 6 || end.LastSeq != 6 {
		t.Fatalf("trail of %d lines ending %+v, want a header, 6 events and an end line:\n%s", len(lines), end, trail)
	}
	if want := `{"format":"chancery-export","version":2,"stream":"CHANCERY_EVENTS","exported_at":"2022-08-23T12:00:00Z","hash":"`; !strings.HasPrefix(lines[0], want) {
		t.Errorf("header %q, want it to start %q", lines[0], want)
	}
	if !strings.Contains(lines[3], `"seq":3,`) || !strings.Contains(lines[3], `"msg_id":"reschedule-talks-1"`) {
		t.Errorf("the reschedule's line lacks its Nats-Msg-Id: %s", lines[3])
	}
	sum, err := CheckTrail("trail", strings.NewReader(trail), nil)
	if err != nil || sum.End != end || sum.Header.Stream != events.DefaultStream {
		t.Fatalf("check of the trail just written: %+v, %v; want %+v", sum, err, end)
	}

	// Imported into another server's empty stream, the trail reproduces
	// it: a second export holds the same lines below its header.
	dst := natstest.Start(t, "")
	if _, err := events.OpenLog(r.ctx, dst.JS, events.LogConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := ImportTrail(r.ctx, dst.JS, events.DefaultStream, "trail", strings.NewReader(trail), &bytes.Buffer{}); err != nil {
		t.Fatalf("import: %v", err)
	}
	var again bytes.Buffer
	if _, err := ExportTrail(r.ctx, dst.JS, events.DefaultStream, 6, day(24, 12), &again); err != nil {
		t.Fatal(err)
	}
	if got := strings.SplitAfterN(again.String(), "\n", 2)[1]; got != strings.Join(lines[1:], "") {
		t.Errorf("export of the import differs below the header:\n%s\nwant\n%s", got, strings.Join(lines[1:], ""))
	}
}

func TestCheckTrailNamesTheFirstBadLine(t *testing.T) {
	_, trail, _ := talksTrail(t)
	lines := strings.SplitAfter(trail, "\n")
	lines = lines[:len(lines)-1] // header, seq 1..6, end

	// An event line altered and its own hash made to match: the chain
	// still breaks at the next line, whose hash covers the one before.
	var first, ev TrailEvent
	if err := errors.Join(json.Unmarshal([]byte(lines[1]), &first), json.Unmarshal([]byte(lines[2]), &ev)); err != nil {
		t.Fatal(err)
	}
	ev.Subject = strings.Replace(ev.Subject, ".announced", ".cancelled", 1)
	ev.Hash = ev.Digest(first.Hash)
	rehashed := lines[0] + lines[1] + string(ev.Line()) + strings.Join(lines[3:], "")

	for _, tc := range []struct {
		name, trail string
		line        int
		want        string
	}{
		{"a city changed", strings.Replace(trail, `"city":"Moscow"`, `"city":"Moskva"`, 1), 2, "hash mismatch at seq 1"},
		{"an altered line re-hashed", rehashed, 4, "hash mismatch at seq 3"},
		{"the header's stream renamed", strings.Replace(trail, `"stream":"CHANCERY_EVENTS"`, `"stream":"OTHER_EVENTS"`, 1), 1, "header hash mismatch"},
		{"two events swapped", lines[0] + lines[1] + lines[3] + lines[2] + strings.Join(lines[4:], ""), 3, "seq gap: seq 3 follows seq 1"},
		{"an event repeated", lines[0] + lines[1] + lines[2] + lines[2] + strings.Join(lines[3:], ""), 4, "seq 2 out of order"},
		{"an event removed", lines[0] + lines[1] + strings.Join(lines[3:], ""), 3, "seq gap: seq 3 follows seq 1"},
		{"the first event removed", lines[0] + strings.Join(lines[2:], ""), 2, "the first event is seq 2"},
		{"cut after an event", strings.Join(lines[:4], ""), 5, "missing end line: the file is cut short after line 4"},
		{"cut mid-line", trail[:len(trail)-len(lines[7])-10], 7, "no newline at its end"},
		{"the end line's count", strings.Replace(trail, `"count":6`, `"count":5`, 1), 8, "end line counts 5 events, the trail holds 6"},
		{"white space added", strings.Replace(trail, `{"seq":4,`, `{"seq": 4,`, 1), 5, "not in canonical form"},
		{"a line after the end", trail + lines[1], 9, "data after the end line"},
		{"empty", "", 1, "empty file"},
	} {
		_, err := CheckTrail("trail", strings.NewReader(tc.trail), nil)
		var te *TrailError
		if !errors.As(err, &te) || te.Line != tc.line || !strings.Contains(te.Msg, tc.want) {
			t.Errorf("%s: %v; want line %d: %s", tc.name, err, tc.line, tc.want)
		}
	}
}

func TestCheckTrailHandsOnlyCheckedEventsOn(t *testing.T) {
	_, trail, _ := talksTrail(t)
	broken := strings.Replace(trail, `"reason":"host's request"`, `"reason":"the host's request"`, 1)
	var seen []uint64
	_, err := CheckTrail("trail", strings.NewReader(broken), func(ev TrailEvent) error {
		seen = append(seen, ev.Seq)
		return nil
	})
	if err == nil || len(seen) != 3 || seen[2] != 3 {
		t.Errorf("a trail altered at seq 4 handed on %v (%v); want seq 1..3 and a failure", seen, err)
	}
}

func TestExportBoundIncludesTheEventsOfRacingWriters(t *testing.T) {
	r := newRecord(t)
	talksStory(t, r)
	// A writer whose clock lagged: recorded at seq 7 as of the 20th.
	r.at = day(20, 10)
	r.do(t, events.NewMeetingID(r.at), &events.ScheduleMeeting{Kind: "call", Title: "Call", Start: "2022-08-30",
		Location: events.Location{Country: "RS"}, Participants: []events.Participant{vulin}}, "press-office")

	for _, tc := range []struct {
		seq       uint64
		at        time.Time
		last      uint64
		laterThan int
	}{
		{0, time.Time{}, 7, 0},
		{4, time.Time{}, 4, 0},
		{40, time.Time{}, 7, 0},
		{0, day(20, 12), 7, 3}, // seq 4..6 were recorded on the 21st and 22nd
		{0, day(19, 12), 2, 0},
		{0, day(1, 0), 0, 0},
	} {
		m, err := ExportBound(r.ctx, r.log, tc.seq, tc.at)
		if err != nil || m.Last != tc.last || len(m.Later) != tc.laterThan {
			t.Errorf("ExportBound(%d, %s) = %+v, %v; want up to %d with %d later", tc.seq, tc.at, m, err, tc.last, tc.laterThan)
		}
	}
}
