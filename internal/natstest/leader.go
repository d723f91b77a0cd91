package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamLeader is the name of the server that leads stream (a stream, or a
// bucket's KV_ stream), as its info says when asked through js; "" while it
// has none. One request has a second: a node cut off from the others must
// not hold a test that polls.
func StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) (string, error) {
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := js.Stream(actx, stream)
	if err != nil {
		return "", err
	}
	if info := s.CachedInfo(); info.Cluster != nil {
		return info.Cluster.Leader, nil
	}
	return "", nil
}

// WaitStreamLeader waits until stream has a leader and returns its name;
// the test fails if ctx ends first.
func WaitStreamLeader(ctx context.Context, tb testing.TB, js jetstream.JetStream, stream string) string {
	tb.Helper()
	for ctx.Err() == nil {
		if name, err := StreamLeader(ctx, js, stream); err == nil && name != "" {
			return name
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("%s has no leader", stream)
	return ""
}
