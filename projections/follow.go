package projections

import (
	"context"
	"time"

	"github.com/chancery/chancery/events"
)

// Follow keeps the projector running in the background until ctx ends or
// the returned stop is called: it applies the stream as it grows (Keep,
// retrying a failed run after 1 s, then twice as long up to 30 s), watches
// the lag /readyz reports (Watch, every second, by now), and rebuilds the
// read model beside the old one when another projection version wrote it.
// stop returns once the projector has stopped applying events.
func (p *Projector) Follow(ctx context.Context, log *events.Log, now func() time.Time) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Keep(ctx, time.Second, 30*time.Second)
	}()
	go p.Watch(ctx, time.Second, now)
	if from, stale := p.db.Stale(); stale {
		// The old rows keep answering (and following the stream) while the
		// new ones are built beside them; /readyz shows the progress.
		p.logger.Warn("read model was written by another projection version: rebuilding it in the background",
			"read_model", p.db.path, "found_version", from, "version", Version)
		go p.Rebuild(ctx, log)
	}
	return func() {
		cancel()
		<-done
	}
}
