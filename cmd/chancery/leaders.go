package main

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/notifier"
)

// leaderWatch learns, in the background, which node leads each stream and
// bucket the service writes to, so that /readyz can say which one has no
// leader during an election or a partition without asking NATS itself.
type leaderWatch struct {
	js      jetstream.JetStream
	streams []string

	mu      sync.Mutex
	leaders map[string]string
}

func newLeaderWatch(js jetstream.JetStream, eventStream string) *leaderWatch {
	return &leaderWatch{js: js, streams: []string{
		eventStream, "KV_" + events.IdempotencyBucket, notifier.AlertStream, "KV_" + notifier.DeliveryBucket,
	}, leaders: map[string]string{}}
}

// run asks every interval until ctx ends.
func (w *leaderWatch) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, name := range w.streams {
			w.ask(ctx, name, interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *leaderWatch) ask(ctx context.Context, name string, timeout time.Duration) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state := "no leader"
	s, err := w.js.Stream(actx, name)
	switch {
	case err != nil:
		state = "no answer: " + err.Error()
	case s.CachedInfo().Cluster == nil || s.CachedInfo().Cluster.Name == "":
		state = "single server"
	case s.CachedInfo().Cluster.Leader != "":
		state = "leader " + s.CachedInfo().Cluster.Leader
	}
	w.mu.Lock()
	w.leaders[name] = state
	w.mu.Unlock()
}

// Leaders returns what was last learned of each stream and bucket.
func (w *leaderWatch) Leaders() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]string, len(w.leaders))
	for k, v := range w.leaders {
		out[k] = v
	}
	return out
}
