package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/dbfault"
	"github.com/chancery/chancery/internal/natstest"
)

// envelope builds a recorded event by hand, as the stream would hold it.
func envelope(t *testing.T, seq uint64, id string, version int, ev events.Event) events.Envelope {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return events.Envelope{
		Seq: seq, ID: "evt_" + id[4:], Type: ev.EventType(), Schema: events.SchemaOf(ev.EventType()),
		AggregateType: events.AggregateTypeOf(id), AggregateID: id, Version: version,
		RecordedAt: time.Date(2022, 8, 19, 10, 0, int(seq), 0, time.UTC), Actor: "test", Data: data,
	}
}

func openTestDB(t *testing.T) (*DB, *Projector) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := NewProjector(ctx, db, nil, "unused", nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}

func talks() *events.MeetingScheduled {
	return &events.MeetingScheduled{
		Kind: "talks", Title: "Lavrov–Vulin talks",
		Span:     events.Span{Start: "2022-08-22", End: "2022-08-22", Timezone: "Europe/Moscow"},
		Location: events.Location{City: "Moscow", Country: "RU"},
		Participants: []events.Participant{
			{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"},
			{Name: "Aleksandar Vulin", Office: "Minister of Internal Affairs", Country: "RS"},
		},
	}
}

// appliedTalks is a read model that has applied the talks' first event at
// seq 1; it returns the talks' id and the read model's digest then.
func appliedTalks(t *testing.T) (*DB, *Projector, string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db, p := openTestDB(t)
	id := events.NewMeetingID(time.Now())
	if err := p.Apply(ctx, []events.Envelope{envelope(t, 1, id, 1, talks())}); err != nil {
		t.Fatal(err)
	}
	digest, err := db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return db, p, id, digest
}

func TestProjectorRefusesAnEventAtOrBeforeItsPosition(t *testing.T) {
	ctx := context.Background()
	db, p, id, before := appliedTalks(t)
	resched := envelope(t, 1, id, 2, &events.MeetingRescheduled{Span: events.Span{Start: "2022-08-23", End: "2022-08-23", Timezone: "Europe/Moscow"}})
	if err := p.Apply(ctx, []events.Envelope{resched}); err == nil {
		t.Fatal("applying seq 1 twice succeeded")
	}
	if after, _ := db.Digest(ctx); !maps.Equal(before, after) {
		t.Fatal("a refused batch changed the read model")
	}
	if pos, _ := db.Position(ctx); pos != 1 {
		t.Fatalf("position %d, want 1", pos)
	}
}

func TestProjectorBatchWithABadEventCommitsNothing(t *testing.T) {
	ctx := context.Background()
	db, p := openTestDB(t)
	id := events.NewMeetingID(time.Now())
	other := events.NewMeetingID(time.Now())
	err := p.Apply(ctx, []events.Envelope{
		envelope(t, 1, id, 1, talks()),
		envelope(t, 2, other, 1, talks()),
		envelope(t, 3, id, 3, &events.MeetingPostponed{}), // version 2 is missing
	})
	if err == nil {
		t.Fatal("a version gap was applied")
	}
	if pos, _ := db.Position(ctx); pos != 0 {
		t.Fatalf("position %d after a failed batch, want 0", pos)
	}
	if _, _, err := db.Get(ctx, events.MeetingAggregate, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rows of a failed batch are visible: %v", err)
	}
}

func TestProjectorFoldsChangesAcrossBatches(t *testing.T) {
	ctx := context.Background()
	db, p := openTestDB(t)
	id := events.NewMeetingID(time.Now())
	steps := [][]events.Envelope{
		{envelope(t, 1, id, 1, talks())},
		{envelope(t, 2, id, 2, &events.MeetingParticipantsChanged{Participants: []events.Participant{{Name: "Ivica Dačić", Country: "RS"}}})},
		{envelope(t, 3, id, 3, &events.MeetingRescheduled{Span: events.Span{Start: "2022-08-23T11:00:00", End: "2022-08-23T12:00:00", Timezone: "Europe/Moscow"}}),
			envelope(t, 4, id, 4, &events.MeetingCancelled{Reason: "called off"})},
	}
	for _, s := range steps {
		if err := p.Apply(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	res, pos, err := db.Get(ctx, events.MeetingAggregate, id)
	if err != nil || pos != 4 {
		t.Fatalf("get: pos %d err %v", pos, err)
	}
	var m events.Meeting
	json.Unmarshal(res.Doc, &m)
	if m.Version != 4 || m.Status != events.StatusCancelled || m.Start != "2022-08-23T11:00:00" || m.PreviousStart != "2022-08-22" || m.StartUTC != time.Date(2022, 8, 23, 8, 0, 0, 0, time.UTC) {
		t.Fatalf("folded meeting = %+v", m)
	}
	// The participant table follows the change: Lavrov is gone, Dačić found without diacritics.
	for _, tc := range []struct {
		person string
		want   int
	}{{"Lavrov", 0}, {"dacic", 1}, {"Ivica Dačić", 1}, {"Ivi", 0}} {
		page, err := db.List(ctx, Query{Type: events.MeetingAggregate, Person: tc.person})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Docs) != tc.want {
			t.Errorf("person %q: %d results, want %d", tc.person, len(page.Docs), tc.want)
		}
	}
	if page, _ := db.List(ctx, Query{Country: "RU"}); len(page.Docs) != 1 {
		t.Errorf("country RU (the location) finds %d, want 1", len(page.Docs))
	}
	if page, _ := db.List(ctx, Query{Country: "RS"}); len(page.Docs) != 1 {
		t.Errorf("country RS (a participant) finds %d, want 1", len(page.Docs))
	}
}

func TestAStaleReadModelIsRebuiltWhileItKeepsAnswering(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t, "")
	l, err := events.OpenLog(ctx, srv.JS, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	record := func(n int) []string {
		var ids []string
		for i := range n {
			id := events.NewMeetingID(time.Now())
			c := talks()
			cmd := &events.ScheduleMeeting{Kind: c.Kind, Title: fmt.Sprintf("%s %d", c.Title, i), Start: c.Span.Start, Timezone: c.Span.Timezone, Location: c.Location, Participants: c.Participants}
			if _, _, err := events.Execute[events.Meeting](ctx, l, id, cmd, events.Meta{Actor: "test", Fresh: true}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	ids := record(2500)

	path := filepath.Join(t.TempDir(), "chancery.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := l.LastSeq(ctx)
	if _, err := Replay(ctx, db, l, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, stale := db.Stale(); stale {
		t.Fatal("a new read model is stale")
	}
	// Rows written by an older projection (a stale status shows it).
	for _, q := range []string{`UPDATE meta SET value = '1' WHERE key = 'projection_version'`, `UPDATE engagements SET status = 'held'`} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if from, stale := db.Stale(); !stale || from != 1 {
		t.Fatalf("Stale() = %d, %v; want 1, true", from, stale)
	}
	if pos, _ := db.Position(ctx); pos != last {
		t.Fatalf("stale read model opened at %d, want %d: it keeps answering until replaced", pos, last)
	}
	p, err := NewProjector(ctx, db, srv.JS, l.Stream(), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go p.Keep(runCtx, 10*time.Millisecond, 100*time.Millisecond)

	// Reads go on during the rebuild, and events keep arriving.
	done := make(chan error, 1)
	go func() { done <- p.Rebuild(ctx, l) }()
	more := record(50)
	reads := 0
	for rebuilding := true; rebuilding; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			rebuilding = false
		default:
		}
		if _, _, err := db.Get(ctx, events.MeetingAggregate, ids[reads%len(ids)]); err != nil {
			t.Fatalf("read %d during the rebuild: %v", reads, err)
		}
	}
	if s := p.RebuildStatus(); s == nil || s.Running || s.Error != "" || s.FromVersion != 1 || s.ToVersion != Version {
		t.Errorf("rebuild status = %+v", s)
	}
	if _, stale := db.Stale(); stale {
		t.Error("still stale after the rebuild")
	}
	final, _ := l.LastSeq(ctx)
	if err := p.WaitFor(ctx, final); err != nil {
		t.Fatal(err)
	}
	res, _, err := db.Get(ctx, events.MeetingAggregate, more[len(more)-1])
	if err != nil || !strings.Contains(string(res.Doc), `"status":"scheduled"`) {
		t.Fatalf("after the swap: %s, %v", res.Doc, err)
	}
	// Equal to a rebuild from scratch.
	want, err := Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if _, err := Replay(ctx, want, l, final, nil); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Compare(ctx, db, want, 5); err != nil || len(diffs) > 0 {
		t.Errorf("rebuilt read model differs from a fresh one: %v %v", diffs, err)
	}
	if _, err := os.Stat(path + ".rebuild"); !os.IsNotExist(err) {
		t.Errorf("the rebuild file is left behind: %v", err)
	}
}

func TestProjectorKilledBetweenRowsAndCheckpointCommitsNothing(t *testing.T) {
	ctx := context.Background()
	db, p, id, before := appliedTalks(t)
	var calls int
	crash := errors.New("injected crash between the rows and the checkpoint")
	dbfault.BeforeCheckpoint(t, db.Path(), func() error { calls++; return crash })

	cancel := envelope(t, 2, id, 2, &events.MeetingCancelled{Reason: "called off"})
	err := p.Apply(ctx, []events.Envelope{cancel})
	if err == nil || !strings.Contains(err.Error(), crash.Error()) {
		t.Fatalf("Apply = %v, want the injected crash", err)
	}
	if calls != 1 {
		t.Fatalf("the checkpoint was written %d times, want once, after the rows", calls)
	}
	if after, _ := db.Digest(ctx); !maps.Equal(before, after) {
		t.Fatal("the rows of a batch whose checkpoint failed are in the read model")
	}
	if pos, _ := db.Position(ctx); pos != 1 || p.Position() != 1 {
		t.Fatalf("position %d (projector %d) after the failed checkpoint, want 1", pos, p.Position())
	}

	// The same batch applies once the fault is gone, as after a restart.
	crash = nil
	if err := p.Apply(ctx, []events.Envelope{cancel}); err != nil {
		t.Fatal(err)
	}
	res, pos, err := db.Get(ctx, events.MeetingAggregate, id)
	if err != nil || pos != 2 || !strings.Contains(string(res.Doc), `"cancelled"`) {
		t.Fatalf("after the fault: pos %d err %v doc %s", pos, err, res.Doc)
	}
}
