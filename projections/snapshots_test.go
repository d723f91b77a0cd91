package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// interleavingClock hands out stamps one second apart with each pair
// swapped: the second caller gets the earlier second. Writers stamp before
// they append, so stamp order and stream order disagree as they do under
// load, without any sleep.
type interleavingClock struct {
	mu   sync.Mutex
	n    int64
	base time.Time
}

// interleavedLog is an event log on an embedded server, stamped by an
// interleavingClock.
func interleavedLog(t *testing.T) (*events.Log, *interleavingClock) {
	t.Helper()
	srv := natstest.Start(t, "")
	clk := &interleavingClock{base: time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC)}
	l, err := events.OpenLog(context.Background(), srv.JS, events.LogConfig{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

func (c *interleavingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n++
	return c.base.Add(time.Duration(n^1) * time.Second)
}

// recordConcurrently has writers schedule meetings and reschedule shared
// and their own ones at the same time through events.Execute, and returns
// the stream.
func recordConcurrently(t *testing.T, ctx context.Context, l *events.Log, writers, each int) []events.Stored {
	t.Helper()
	schedule := func(i int) (string, error) {
		c := talks()
		id := events.NewMeetingID(time.Now())
		cmd := &events.ScheduleMeeting{Kind: c.Kind, Title: fmt.Sprintf("%s %d", c.Title, i), Start: c.Span.Start, Timezone: c.Span.Timezone, Location: c.Location, Participants: c.Participants}
		_, _, err := events.Execute[events.Meeting](ctx, l, id, cmd, events.Meta{Actor: "test", Fresh: true})
		return id, err
	}
	var shared []string
	for i := range 3 {
		id, err := schedule(i)
		if err != nil {
			t.Fatal(err)
		}
		shared = append(shared, id)
	}
	var day atomic.Int64 // every reschedule to a day of its own: never unchanged
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			mine := slices.Clone(shared)
			for i := range each {
				if i%3 == 0 {
					id, err := schedule(100*w + i)
					if err != nil {
						errs <- err
						return
					}
					mine = append(mine, id)
					continue
				}
				id := mine[rnd.IntN(len(mine))]
				start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(day.Add(1))).Format(events.DateLayout)
				_, _, err := events.Execute[events.Meeting](ctx, l, id, &events.RescheduleMeeting{Start: start, Reason: "schedules"}, events.Meta{Actor: "test"})
				if err != nil && events.ErrorCode(err) != events.ECONFLICT { // (five lost races in a row: fine here)
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []events.Stored
	if err := l.Scan(ctx, 0, events.ReadFilter{}, func(st events.Stored) error { all = append(all, st); return nil }); err != nil {
		t.Fatal(err)
	}
	return all
}

// knownAt folds exactly the events recorded at or before at, per meeting in
// stream order, and returns the meetings and the last such event.
func knownAt(t *testing.T, all []events.Stored, at time.Time) (map[string]*events.Meeting, uint64) {
	t.Helper()
	out := map[string]*events.Meeting{}
	var last uint64
	for _, st := range all {
		if st.RecordedAt.After(at) {
			continue
		}
		m := out[st.AggregateID]
		if m == nil {
			m = &events.Meeting{}
			out[st.AggregateID] = m
		}
		// Version continuity fails here if a meeting's own events were
		// stamped out of order: Execute must not do that.
		if err := m.Evolve(st.Envelope); err != nil {
			t.Fatalf("as of %s: %v", at.Format(time.RFC3339), err)
		}
		last = st.Seq
	}
	return out, last
}

func TestAsOfListsHoldExactlyTheEventsRecordedByThen(t *testing.T) {
	ctx := context.Background()
	l, _ := interleavedLog(t)
	all := recordConcurrently(t, ctx, l, 4, 12)
	inversions := 0
	for i := 1; i < len(all); i++ {
		if all[i].RecordedAt.Before(all[i-1].RecordedAt) {
			inversions++
		}
	}
	if inversions == 0 {
		t.Fatal("recorded_at rose with the sequence: the test proves nothing")
	}

	snaps, err := NewSnapshots(t.TempDir(), l, SnapshotLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer snaps.Close()
	// Every instant at which what was known changes, and the instant just
	// before it; each twice, the second time from the cache.
	var instants []time.Time
	for _, st := range all {
		instants = append(instants, st.RecordedAt, st.RecordedAt.Add(-time.Nanosecond))
	}
	slices.SortFunc(instants, time.Time.Compare)
	instants = slices.Compact(instants)
	for _, at := range instants {
		for round := range 2 {
			want, wantLast := knownAt(t, all, at)
			db, _, release, err := snaps.At(ctx, at)
			if err != nil {
				t.Fatalf("as of %s: %v", at.Format(time.RFC3339), err)
			}
			page, err := db.List(ctx, Query{Limit: MaxLimit})
			release()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*events.Meeting{}
			for _, doc := range page.Docs {
				var m events.Meeting
				if err := json.Unmarshal(doc, &m); err != nil {
					t.Fatal(err)
				}
				got[m.ID] = &m
			}
			if page.Position != wantLast {
				t.Errorf("round %d, as of %s: position %d, want %d (the last event recorded by then)", round, at.Format(time.RFC3339), page.Position, wantLast)
			}
			for id, w := range want {
				g := got[id]
				if g == nil {
					t.Errorf("round %d, as of %s: %s (version %d) missing", round, at.Format(time.RFC3339), id, w.Version)
					continue
				}
				if g.Version != w.Version || g.Status != w.Status || g.Start != w.Start || !g.UpdatedAt.Equal(w.UpdatedAt) {
					t.Errorf("round %d, as of %s: %s at version %d %s %s, want version %d %s %s", round, at.Format(time.RFC3339), id, g.Version, g.Status, g.Start, w.Version, w.Status, w.Start)
				}
			}
			for id := range got {
				if want[id] == nil {
					t.Errorf("round %d, as of %s: %s listed, but not recorded by then", round, at.Format(time.RFC3339), id)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	if n := snaps.Builds(); n > int64(len(instants)) {
		t.Errorf("%d replays for %d instants asked twice: the second time replayed again", n, len(instants))
	}
}

// scheduleMeetings records n meetings, one after the other.
func scheduleMeetings(t *testing.T, ctx context.Context, l *events.Log, n int) {
	t.Helper()
	for i := range n {
		c := talks()
		cmd := &events.ScheduleMeeting{Kind: c.Kind, Title: fmt.Sprintf("%s %d", c.Title, i), Start: c.Span.Start, Timezone: c.Span.Timezone, Location: c.Location, Participants: c.Participants}
		if _, _, err := events.Execute[events.Meeting](ctx, l, events.NewMeetingID(time.Now()), cmd, events.Meta{Actor: "test", Fresh: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAsOfBeyondTheBuildSlotsIsRefusedAsTransient(t *testing.T) {
	ctx := context.Background()
	l, clk := interleavedLog(t)
	scheduleMeetings(t, ctx, l, 4)
	snaps, err := NewSnapshots(t.TempDir(), l, SnapshotLimits{Builds: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer snaps.Close()
	cached := clk.base.Add(time.Hour)
	_, _, release, err := snaps.At(ctx, cached)
	if err != nil {
		t.Fatal(err)
	}
	release()

	snaps.slots <- struct{}{} // the one replay slot taken, as by a build under way
	_, _, _, err = snaps.At(ctx, clk.base.Add(time.Second))
	if events.ErrorCode(err) != events.EUNAVAILABLE || !events.Transient(err) {
		t.Fatalf("a new moment with every slot busy: %v, want a transient EUNAVAILABLE", err)
	}
	// A moment already kept needs no replay.
	db, _, release, err := snaps.At(ctx, cached)
	if err != nil {
		t.Fatalf("a cached moment with every slot busy: %v", err)
	}
	page, err := db.List(ctx, Query{})
	release()
	if err != nil || len(page.Docs) != 4 {
		t.Fatalf("cached moment lists %d (%v), want 4", len(page.Docs), err)
	}
	<-snaps.slots
	if _, _, release, err = snaps.At(ctx, clk.base.Add(time.Second)); err != nil {
		t.Fatalf("once a slot is free: %v", err)
	}
	release()
}

func TestAsOfSnapshotsStayWithinTheirBytes(t *testing.T) {
	ctx := context.Background()
	l, clk := interleavedLog(t)
	scheduleMeetings(t, ctx, l, 6)
	dir := t.TempDir()
	one, err := NewSnapshots(filepath.Join(dir, "one"), l, SnapshotLimits{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, release, err := one.At(ctx, clk.base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	release()
	size := one.CachedBytes()
	one.Close()
	if size == 0 {
		t.Fatal("a snapshot takes no bytes")
	}

	limit := 2*size + size/2
	snaps, err := NewSnapshots(filepath.Join(dir, "two"), l, SnapshotLimits{CacheBytes: limit, Files: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer snaps.Close()
	for i := range 6 {
		_, _, release, err := snaps.At(ctx, clk.base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		release()
		if got := snaps.CachedBytes(); got > limit {
			t.Fatalf("after %d moments the cache takes %d bytes, over its %d", i+1, got, limit)
		}
		var onDisk int64
		files, _ := filepath.Glob(filepath.Join(dir, "two", "*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				onDisk += fi.Size()
			}
		}
		if onDisk > limit {
			t.Fatalf("after %d moments %d bytes on disk (%d files), over %d", i+1, onDisk, len(files), limit)
		}
	}
	// The most recent moment is kept; the first was dropped.
	builds := snaps.Builds()
	if _, _, release, err = snaps.At(ctx, clk.base.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	release()
	if snaps.Builds() != builds {
		t.Error("the most recently used moment was replayed again")
	}
	if _, _, release, err = snaps.At(ctx, clk.base); err != nil {
		t.Fatal(err)
	}
	release()
	if snaps.Builds() != builds+1 {
		t.Error("the least recently used moment was still kept")
	}
}
