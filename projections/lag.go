package projections

import (
	"context"
	"time"
)

// The read model's lag, for /readyz: how long the oldest event known to be
// in the stream has waited without being applied. A replica under steady
// writes is always a few events behind the stream, and that is not
// unready; a replica whose reader has stalled, or that is replaying a long
// backlog, is.
//
// Watch learns the stream's last sequence once a probe interval, in the
// background, so that readiness answers at once from what it last learned
// even while the stream has no leader to ask.

// maxSightings bounds the sightings kept while the read model is behind.
const maxSightings = 1024

type sighting struct {
	seq uint64    // the stream's last sequence
	at  time.Time // when it was seen
}

type lagState struct {
	sightings []sighting       // in rising seq, each not yet applied when seen
	probedAt  time.Time        // the last probe that answered, or when watching began
	probeErr  error            // the last probe's error, nil once one answers
	last      uint64           // the stream's last sequence at probedAt
	now       func() time.Time // Watch's clock; nil until it runs
}

// stallAfter is how long the reader may deliver nothing while the stream
// is known to hold unapplied events before the projector gives it up and
// starts a new one. nats.go re-creates an ordered consumer whose node
// died, but when it cannot (the stream has no leader at that moment), it
// says so only to an error handler and then waits for nothing.
const stallAfter = 3 * time.Second

// stalled reports whether the reader has delivered nothing since lastMsg
// for stallAfter while an event seen in the stream waited that long.
func (p *Projector) stalled(lastMsg time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lag.now == nil || len(p.lag.sightings) == 0 {
		return false
	}
	now := p.lag.now()
	return now.Sub(p.lag.sightings[0].at) > stallAfter && now.Sub(lastMsg) > stallAfter
}

// clock returns Watch's clock, or time.Now before Watch runs.
func (p *Projector) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lag.now == nil {
		return time.Now()
	}
	return p.lag.now()
}

// Health is what the projector knows of its own progress.
type Health struct {
	Position  uint64        // the last event applied
	StreamSeq uint64        // the stream's last sequence, as last probed
	ProbedAt  time.Time     // when the stream last answered a probe (or watching began; zero: not watched)
	ProbeErr  error         // why the last probe failed, if it did
	Lag       time.Duration // how long the oldest unapplied event seen has waited
}

// Watch probes the stream's last sequence every interval until ctx ends.
func (p *Projector) Watch(ctx context.Context, interval time.Duration, now func() time.Time) {
	p.mu.Lock()
	if p.lag.probedAt.IsZero() {
		p.lag.probedAt = now()
	}
	p.lag.now = now
	p.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.probe(ctx, interval, now)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Projector) probe(ctx context.Context, timeout time.Duration, now func() time.Time) {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// One request: the stream's info comes with the stream.
	var last uint64
	stream, err := p.js.Stream(pctx, p.stream)
	if err == nil {
		last = stream.CachedInfo().State.LastSeq
	}
	at := now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			p.lag.probeErr = err
		}
		return
	}
	p.lag.probedAt, p.lag.probeErr, p.lag.last = at, nil, last
	s := p.lag.sightings
	if last <= p.pos || (len(s) > 0 && last <= s[len(s)-1].seq) {
		return
	}
	if len(s) == maxSightings {
		// Keep the oldest, which measures the lag; move the newest on.
		s[len(s)-1] = sighting{last, at}
		return
	}
	p.lag.sightings = append(s, sighting{last, at})
}

// Health reports the projector's progress at now.
func (p *Projector) Health(now time.Time) Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := Health{Position: p.pos, StreamSeq: max(p.lag.last, p.pos), ProbedAt: p.lag.probedAt, ProbeErr: p.lag.probeErr}
	if len(p.lag.sightings) > 0 {
		h.Lag = max(now.Sub(p.lag.sightings[0].at), 0)
	}
	return h
}

// applied forgets the sightings the read model has caught up with; p.mu is
// held.
func (l *lagState) applied(pos uint64) {
	i := 0
	for i < len(l.sightings) && l.sightings[i].seq <= pos {
		i++
	}
	l.sightings = l.sightings[i:]
}
