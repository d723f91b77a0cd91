package audit

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chancery/chancery/events"
)

func TestReplayUntilATimeHoldsWhatWasKnownThen(t *testing.T) {
	r := newRecord(t)
	talks, _ := talksStory(t, r)
	for _, tc := range []struct {
		day    int
		status string
		start  string
		last   uint64
	}{
		{19, "scheduled", "2022-08-22", 2},
		{20, "rescheduled", "2022-08-23", 3},
		{22, "cancelled", "2022-08-23", 6},
	} {
		until, err := ReplayUntil(r.ctx, r.log, 0, day(tc.day, 12))
		if err != nil || until.Last != tc.last {
			t.Fatalf("ReplayUntil the %dth: %+v, %v; want up to seq %d", tc.day, until, err, tc.last)
		}
		path := filepath.Join(t.TempDir(), "asof.db")
		res, err := Replay(r.ctx, path, r.log, ReplayOptions{Until: until})
		if err != nil || res.Position != tc.last || res.Applied != tc.last || res.ResumedAt != 0 {
			t.Fatalf("replay to the %dth: %+v, %v", tc.day, res, err)
		}
		if m := meetingIn(t, r, path, talks); m.Status != tc.status || m.Start != tc.start {
			t.Errorf("as of the %dth the talks were %s on %s, want %s on %s", tc.day, m.Status, m.Start, tc.status, tc.start)
		}
	}
	if _, err := ReplayUntil(r.ctx, r.log, 0, day(1, 0)); err == nil || !strings.Contains(err.Error(), "no event was recorded at or before 2022-08-01T00:00:00Z") {
		t.Errorf("ReplayUntil before the first event: %v", err)
	}
}

func TestReplayResumesAFileItLeftAndEqualsOneRun(t *testing.T) {
	r := newRecord(t)
	talksStory(t, r)
	path := filepath.Join(t.TempDir(), "resumed.db")
	if _, err := Replay(r.ctx, path, r.log, ReplayOptions{Until: events.Moment{Last: 3}}); err != nil {
		t.Fatal(err)
	}
	res, err := Replay(r.ctx, path, r.log, ReplayOptions{})
	if err != nil || res.ResumedAt != 3 || res.Applied != 3 || res.Position != 6 {
		t.Fatalf("resumed replay: %+v, %v; want 3 more events from 3", res, err)
	}
	if got := res.Summary("resumed.db", ""); !strings.HasPrefix(got, "replayed 3 events into resumed.db: position 6, ") || !strings.HasSuffix(got, "; resumed an interrupted replay at 3") {
		t.Errorf("summary = %q", got)
	}
	wantAsOneReplay(t, r, path, "a resumed replay")
}

// A replay into a file goes by way of FILE.partial, which a replay that
// stopped leaves and the next one resumes; FILE appears whole.
func TestReplayIntoAFileResumesItsPartial(t *testing.T) {
	r := newRecord(t)
	talksStory(t, r)
	out := filepath.Join(t.TempDir(), "asof.db")
	if _, err := Replay(r.ctx, out+".partial", r.log, ReplayOptions{Until: events.Moment{Last: 3}}); err != nil {
		t.Fatal(err)
	}
	res, err := ReplayInto(r.ctx, out, r.log, ReplayOptions{})
	if err != nil || res.ResumedAt != 3 || res.Position != 6 {
		t.Fatalf("ReplayInto after a stopped replay: %+v, %v; want it resumed at 3, up to 6", res, err)
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.partial is still there after a whole replay (%v)", out, err)
	}
	wantAsOneReplay(t, r, out, "a replay into a file")
}

func meetingIn(t *testing.T, r *record, path, id string) events.Meeting {
	t.Helper()
	db := r.readModel(t, path)
	defer db.Close()
	res, _, err := db.Get(r.ctx, events.MeetingAggregate, id)
	if err != nil {
		t.Fatal(err)
	}
	var m events.Meeting
	if err := json.Unmarshal(res.Doc, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func digestOf(t *testing.T, r *record, path string) map[string]string {
	t.Helper()
	db := r.readModel(t, path)
	defer db.Close()
	d, err := db.Digest(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantAsOneReplay fails the test unless the read model at path holds what
// one uninterrupted replay of r's whole log gives; what names the model.
func wantAsOneReplay(t *testing.T, r *record, path, what string) {
	t.Helper()
	whole := filepath.Join(t.TempDir(), "whole.db")
	if _, err := Replay(r.ctx, whole, r.log, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if a, b := digestOf(t, r, path), digestOf(t, r, whole); !maps.Equal(a, b) {
		t.Errorf("%s differs from one run:\n%v\n%v", what, a, b)
	}
}
