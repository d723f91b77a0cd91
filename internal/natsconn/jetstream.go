package natsconn

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startupWait is how long a service waits for JetStream to become available.
const startupWait = 2 * time.Minute

// WhileJetStreamStarts runs f until it succeeds, fails for another reason
// than JetStream being unavailable for now, or startupWait has passed: a
// service started together with its NATS cluster (compose up, a restart of
// every node) waits for the cluster to elect its leaders and hear from its
// peers instead of exiting.
func WhileJetStreamStarts(ctx context.Context, logger *slog.Logger, f func() error) error {
	deadline := time.Now().Add(startupWait)
	for delay := 250 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := f()
		if err == nil || !jetStreamStarting(err) || time.Now().Add(delay).After(deadline) {
			return err
		}
		logger.Warn("JetStream is not ready yet; waiting", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// jetStreamStarting reports an error that a cluster still starting (or
// electing a leader) answers: no answer in time, nobody listening yet, too
// few peers heard from to place replicas, or the system not available.
func jetStreamStarting(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers for placement
			10008, // JetStream system temporarily unavailable
			10009: // cluster can not handle request (no leader)
			return true
		}
	}
	return false
}
