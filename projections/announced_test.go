package projections

import (
	"context"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
)

// TestBoundsWithTheSameEventsShareOneSnapshot: a snapshot is named by its
// events, not by the question: as_of a time after every event, and
// announced_as_of their day, are one replay.
func TestBoundsWithTheSameEventsShareOneSnapshot(t *testing.T) {
	ctx := context.Background()
	l, clk := interleavedLog(t)
	scheduleMeetings(t, ctx, l, 3) // no sources: announced the day they were recorded
	snaps, err := NewSnapshots(t.TempDir(), l, SnapshotLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer snaps.Close()
	day := clk.base.Truncate(24 * time.Hour)
	for _, tc := range []struct {
		b      events.Bound
		listed int
		builds int64
	}{
		{events.Bound{Recorded: clk.base.Add(time.Hour)}, 3, 1},
		{events.Bound{Announced: day}, 3, 1},
		{events.Bound{Recorded: clk.base.Add(time.Hour), Announced: day}, 3, 1},
		{events.Bound{Announced: day.AddDate(0, 0, -1)}, 0, 2},
	} {
		db, _, release, err := snaps.Within(ctx, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		page, err := db.List(ctx, Query{Limit: MaxLimit})
		release()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Docs) != tc.listed || snaps.Builds() != tc.builds {
			t.Errorf("%+v: %d listed after %d replays, want %d after %d", tc.b, len(page.Docs), snaps.Builds(), tc.listed, tc.builds)
		}
	}
}
