package events

import (
	"context"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/natstest"
)

// On three nodes the idempotency bucket elects its own leader, which may be
// another node than the event stream's. A watch that co-locates moves it to
// the stream's leader; one that does not leaves it where it is.
func TestLeaderWatchMovesBucketLeadersToTheStreamLeader(t *testing.T) {
	nodes := natstest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	js := nodes[0].JS
	l, err := OpenLog(ctx, js, LogConfig{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIdempotency(ctx, js, 3); err != nil {
		t.Fatal(err)
	}
	bucket := "KV_" + IdempotencyBucket
	leader := func(name string) string {
		t.Helper()
		return natstest.WaitStreamLeader(ctx, t, js, name)
	}
	// Put the bucket's leader on a node that does not lead the stream.
	streamLeader := leader(l.Stream())
	if leader(bucket) == streamLeader {
		other := "n1"
		if streamLeader == other {
			other = "n2"
		}
		if err := StepDownTo(ctx, js, bucket, other, 5*time.Second); err != nil {
			t.Fatalf("step-down: %v", err)
		}
		for leader(bucket) == streamLeader {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if leader(l.Stream()) != streamLeader {
		t.Skip("the stream's leader changed meanwhile; nothing to compare")
	}

	watch := func(colocate bool) {
		w := NewLeaderWatch(js, LeaderWatchConfig{Streams: []string{l.Stream(), bucket}, Colocate: colocate, Settle: 300 * time.Millisecond})
		wctx, stop := context.WithTimeout(ctx, 4*time.Second)
		defer stop()
		w.Run(wctx, 100*time.Millisecond)
		if got := w.Leaders()[bucket]; got == "" || got == "no leader" {
			t.Errorf("Leaders()[%s] = %q", bucket, got)
		}
	}
	watch(false)
	if got := leader(bucket); got == streamLeader {
		t.Fatalf("without co-location the bucket's leader moved to %s", got)
	}
	watch(true)
	deadline := time.Now().Add(10 * time.Second)
	for leader(bucket) != leader(l.Stream()) {
		if time.Now().After(deadline) {
			t.Fatalf("bucket led by %s, stream by %s", leader(bucket), leader(l.Stream()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
