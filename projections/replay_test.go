package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natstest"
)

// A stream holding an event the replay cannot fold (one that skips a
// version): the fold stage fails while the scanner still has batches to
// hand it and the writer still has batches to write. The replay must stop
// and name the event, not hang, and write nothing from it on, however
// often it is run again.
func TestReplayStopsAtAnEventItCannotFold(t *testing.T) {
	defer func(n int) { ReplayBatch = n }(ReplayBatch)
	ReplayBatch = 2
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := natstest.Start(t, "")
	l, err := events.OpenLog(ctx, srv.JS, events.LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	schedule := func(n int) {
		for range n {
			c := talks()
			cmd := &events.ScheduleMeeting{Kind: c.Kind, Title: c.Title, Start: c.Span.Start, Timezone: c.Span.Timezone, Location: c.Location, Participants: c.Participants}
			if _, _, err := events.Execute[events.Meeting](ctx, l, events.NewMeetingID(time.Now()), cmd, events.Meta{Actor: "test", Fresh: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	schedule(9)
	// Version 3 of a meeting that never had a version 1 or 2, stored past
	// the log's checks, as a bug in an older release might have.
	bad := envelope(t, 0, events.NewMeetingID(time.Now()), 3, &events.MeetingPostponed{})
	data, err := json.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := srv.JS.Publish(ctx, events.Subject(bad.AggregateType, bad.AggregateID, strings.TrimPrefix(bad.Type, bad.AggregateType+".")), data)
	if err != nil {
		t.Fatal(err)
	}
	schedule(9)

	db, err := Open(ctx, filepath.Join(t.TempDir(), "chancery.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for run := 1; run <= 2; run++ {
		pos, err := Replay(ctx, db, l, 0, nil)
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("seq %d", ack.Sequence)) {
			t.Fatalf("run %d: Replay = %v, want an error naming seq %d", run, err, ack.Sequence)
		}
		if stored, _ := db.Position(ctx); pos >= ack.Sequence || stored != pos {
			t.Fatalf("run %d: Replay stopped at %d (stored %d), want before the bad event at %d", run, pos, stored, ack.Sequence)
		}
	}
}
