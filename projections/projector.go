package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/chancery/chancery/events"
)

// maxBatch bounds how many events one transaction applies.
const maxBatch = 1000

// Projector keeps the read model up to date: it reads the stream from the
// position after the read model's checkpoint and applies events in batches,
// each batch and its checkpoint in one transaction.
//
// It uses an ordered consumer rather than a server-side durable: the
// checkpoint that matters is the one stored with the rows, so a deleted or
// replaced SQLite file simply starts again from its own position, and every
// replica reads the stream at its own pace with no consumer state to clean up.
type Projector struct {
	db     *DB
	js     jetstream.JetStream
	stream string
	logger *slog.Logger

	// applyMu is held while a batch is applied; Rebuild holds it to swap
	// the read model between two batches.
	applyMu sync.Mutex
	rebuild rebuildState

	mu      sync.Mutex
	pos     uint64
	changed chan struct{} // closed and replaced whenever pos moves
	err     error         // why Run stopped, if it failed
	lag     lagState
}

// NewProjector returns a projector for db that reads stream.
func NewProjector(ctx context.Context, db *DB, js jetstream.JetStream, stream string, logger *slog.Logger) (*Projector, error) {
	pos, err := db.Position(ctx)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Projector{db: db, js: js, stream: stream, logger: logger, pos: pos, changed: make(chan struct{})}, nil
}

// Position returns the stream sequence of the last event applied.
func (p *Projector) Position() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos
}

// Err returns why the projector's last run failed, until it runs again.
func (p *Projector) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// WaitFor blocks until the read model has applied pos, ctx ends, or the
// projector fails.
func (p *Projector) WaitFor(ctx context.Context, pos uint64) error {
	for {
		p.mu.Lock()
		cur, ch, perr := p.pos, p.changed, p.err
		p.mu.Unlock()
		if cur >= pos {
			return nil
		}
		if perr != nil {
			return perr
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (p *Projector) clearErr() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = nil
}

func (p *Projector) advance(pos uint64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
	if err == nil {
		p.pos = pos
		p.lag.applied(pos)
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// Keep runs the projector until ctx ends. When a run fails (NATS
// restarting, a disk error, an event this version cannot apply), it logs
// why, waits, and starts again from the checkpoint, pausing twice as long
// after each consecutive failure up to maxPause. While it waits, Err
// reports the failure, so /readyz says not ready.
func (p *Projector) Keep(ctx context.Context, minPause, maxPause time.Duration) {
	pause := minPause
	for {
		start := p.Position()
		if p.Run(ctx) == nil {
			return
		}
		if p.Position() > start {
			pause = minPause // it made progress: this is a new failure
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
		if events.Transient(p.Err()) {
			// A stream with no leader for a moment: try again soon.
			pause = min(pause, transientPause)
		}
	}
}

// readerCreateTimeout bounds the creation of a reader.
const readerCreateTimeout = 2 * time.Second

// transientPause caps the pause between runs that failed on a transient
// condition (an election): the reader should be back soon after it.
const transientPause = 2 * time.Second

// Run applies events until ctx ends (returning nil once the batch in hand is
// committed) or an event cannot be applied (returning why).
func (p *Projector) Run(ctx context.Context) error {
	err := p.run(ctx)
	if err != nil {
		p.logger.Error("projector stopped", "position", p.Position(), "err", err)
		p.advance(0, err)
	}
	return err
}

func (p *Projector) run(ctx context.Context) error {
	// Creating the reader is one request, which nats.go would wait for
	// without end when it was sent on a connection that died under it.
	cctx, cancelCreate := context.WithTimeout(ctx, readerCreateTimeout)
	defer cancelCreate()
	cons, err := p.js.OrderedConsumer(cctx, p.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectPrefix + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    p.Position() + 1,
		// nats.go re-creates a reader whose consumer is gone, by default
		// for ever, inside Consume, out of reach of any context. A few
		// tries, and then the run fails and Keep starts another, saying
		// why in the log.
		MaxResetAttempts: 3,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("projector consumer: %w", err)
	}
	// This run's reader is stopped and deleted in the background when the
	// run ends: a reader given up because its node died cannot be deleted
	// there, and nats.go holds a stopping ordered consumer while it tries
	// (10 s and more) to re-create it; the next reader should not wait for
	// either. (The server drops an idle consumer by itself.)
	rctx, endRun := context.WithCancel(ctx)
	var cc jetstream.ConsumeContext
	defer func() {
		endRun()
		go func() {
			if cc != nil {
				cc.Stop()
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if info := cons.CachedInfo(); info != nil {
				_ = p.js.DeleteConsumer(dctx, p.stream, info.Name)
			}
		}()
	}()
	msgs := make(chan jetstream.Msg, 2*maxBatch)
	cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-rctx.Done():
		}
	}, events.PullOptions(maxBatch)...)
	if err != nil {
		return fmt.Errorf("projector consume: %w", err)
	}
	p.logger.Info("projector started", "position", p.Position())
	p.clearErr()

	batch := make([]jetstream.Msg, 0, maxBatch)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastMsg := p.clock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if p.stalled(lastMsg) {
				return events.Errorf(events.EUNAVAILABLE, "projector: the stream holds unapplied events but its reader delivered none for %v; starting a new reader", stallAfter)
			}
			continue
		case m := <-msgs:
			batch = append(batch[:0], m)
			lastMsg = p.clock()
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		// A batch in hand is finished even when shutdown has begun.
		if err := p.applyMsgs(context.WithoutCancel(ctx), batch); err != nil {
			return err
		}
	}
}

func (p *Projector) applyMsgs(ctx context.Context, msgs []jetstream.Msg) error {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	envs := make([]events.Envelope, 0, len(msgs))
	pos := p.Position()
	for _, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("projector: %w", err)
		}
		if meta.Sequence.Stream <= pos {
			continue // redelivered after a consumer reset, or applied by a rebuild: already in
		}
		var env events.Envelope
		if err := json.Unmarshal(m.Data(), &env); err != nil {
			return fmt.Errorf("projector: event at seq %d: %w", meta.Sequence.Stream, err)
		}
		env.Seq = meta.Sequence.Stream
		envs = append(envs, env)
	}
	return p.apply(ctx, envs)
}

// Apply applies envelopes, in stream order and all after the current
// position, in one transaction with the checkpoint.
func (p *Projector) Apply(ctx context.Context, envs []events.Envelope) error {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	return p.apply(ctx, envs)
}

func (p *Projector) apply(ctx context.Context, envs []events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	cur := p.Position()
	for _, env := range envs {
		if env.Seq <= cur {
			return fmt.Errorf("projector: event at seq %d is not after position %d", env.Seq, cur)
		}
		cur = env.Seq
	}
	return p.commit(ctx, cur, func(b *batch) error {
		for _, env := range envs {
			if err := b.apply(ctx, env); err != nil {
				return err
			}
		}
		return b.writeRows(ctx)
	})
}

// commit writes what write puts in the batch and the checkpoint at last in
// one transaction, so that a crash keeps both or neither, and moves the
// position only once they are committed.
func (p *Projector) commit(ctx context.Context, last uint64, write func(*batch) error) error {
	err := p.db.inWriteTx(ctx, fmt.Sprintf("projector at %d", last), func(tx *sql.Tx) error {
		b := newBatch(tx)
		if err := write(b); err != nil {
			return err
		}
		return b.checkpoint(ctx, last)
	})
	if err != nil {
		return err
	}
	p.advance(last, nil)
	return nil
}

// CatchUp runs the projector until it has applied target, then stops it.
func (p *Projector) CatchUp(ctx context.Context, target uint64) error {
	if p.Position() >= target {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	werr := p.WaitFor(ctx, target)
	cancel()
	rerr := <-done
	if werr != nil && !errors.Is(werr, context.Canceled) {
		return werr
	}
	return rerr
}
