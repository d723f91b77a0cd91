package events

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

// On a three-node cluster with three replicas, writers connected to
// different nodes share one stream. Histories may be read from a follower
// that has not caught up yet (direct gets are answered by any replica);
// the guarded append refuses a decision taken on such a history, and
// Execute loads and decides again, so no write is lost or overwritten and
// every writer's command is applied.
func TestLogOnAThreeNodeCluster(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	// A generous deadline: a loaded machine elects stream leaders slowly.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	logs := openLogs(ctx, t, nodes)
	if got := logs[0].stream.CachedInfo().Config.Replicas; got != 3 {
		t.Fatalf("stream replicas = %d, want 3", got)
	}

	id := NewMeetingID(releaseDay)
	if _, _, err := Execute[Meeting](ctx, logs[0], id, lavrovVulin(), Meta{Fresh: true}); err != nil {
		t.Fatal(err)
	}
	// A writer on every node reschedules the talks, all at once.
	var wg sync.WaitGroup
	errs := make([]error, len(logs))
	for i := range errs {
		wg.Go(func() {
			cmd := &RescheduleMeeting{Start: fmt.Sprintf("2022-09-%02d", i+1)}
			_, _, errs[i] = Execute[Meeting](ctx, logs[i%len(logs)], id, cmd, Meta{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d on node %d: %v", i, i%len(logs)+1, err)
		}
	}

	// Every node comes to show the same history: one event per command,
	// versions in order.
	want := 1 + len(errs)
	for i, l := range logs {
		var hist []Stored
		deadline := time.Now().Add(10 * time.Second)
		for {
			var err error
			if hist, err = l.Load(ctx, MeetingAggregate, id); err != nil {
				t.Fatal(err)
			}
			if len(hist) == want || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(hist) != want {
			t.Fatalf("node %d shows %d events, want %d", i+1, len(hist), want)
		}
		for j, st := range hist {
			if st.Version != j+1 {
				t.Errorf("node %d: event %d has version %d, want %d", i+1, j, st.Version, j+1)
			}
		}
	}
}

// A history read right after an append — on any node, through any
// connection — includes that append. Before reads went to the stream
// leader, direct gets answered by a follower that had not applied the event
// yet returned a shorter history: the cause of the lost change alerts and
// of the spurious 404 and 412 on a follow-up write.
func TestLoadRightAfterAppendIsNeverStaleOnACluster(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	logs := openLogs(ctx, t, nodes)
	// Other writers keep the followers busy, as a fleet under load does.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	defer load.Wait()
	defer stopLoad()
	for i := range 4 {
		load.Go(func() {
			for loadCtx.Err() == nil {
				id := NewMeetingID(releaseDay)
				_, _, _ = Execute[Meeting](loadCtx, logs[i%3], id, lavrovVulin(), Meta{Fresh: true})
			}
		})
	}
	const pairs = 500
	stale := 0
	for i := range pairs {
		w, r := logs[i%3], logs[(i+1)%3]
		id := NewMeetingID(releaseDay)
		_, res, err := Execute[Meeting](ctx, w, id, lavrovVulin(), Meta{Fresh: true})
		if err != nil {
			t.Fatal(err)
		}
		hist, err := r.Load(ctx, MeetingAggregate, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) == 0 || hist[len(hist)-1].Seq != res.Position {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d histories read right after their append missed it", stale, pairs)
	}
}

// openLogs opens the three-replica log on every node, as one replica a
// node would.
func openLogs(ctx context.Context, t *testing.T, nodes []*natstest.Server) []*Log {
	t.Helper()
	logs := make([]*Log, len(nodes))
	for i, n := range nodes {
		l, err := OpenLog(ctx, n.JS, LogConfig{Replicas: 3})
		if err != nil {
			t.Fatalf("OpenLog on node %d: %v", i+1, err)
		}
		logs[i] = l
	}
	return logs
}
