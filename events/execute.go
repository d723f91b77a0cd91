package events

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Aggregate is a consistency boundary: it folds its events and decides
// commands against the folded state.
type Aggregate interface {
	Evolve(Envelope) error
	Apply(env Envelope, ev Event) error // Evolve with the payload already decoded
	Decide(cmd any, now time.Time) ([]Event, error)
}

// Meta describes who sends a command and under which guards.
type Meta struct {
	Actor         string
	CorrelationID string
	CausationID   string
	// IfMatch, when positive, is the version the caller last saw; any other
	// current version fails with EPRECONDITION.
	IfMatch int
	// MsgID makes the command idempotent: an event already stored with this
	// Nats-Msg-Id is returned instead of deciding the command again.
	MsgID string
	// Fresh says the caller has just minted id, so the aggregate cannot
	// exist: Execute skips loading it. The append is still guarded by
	// ExpectedSeq 0, so a wrong claim fails with ECONFLICT, not a overwrite.
	Fresh bool
}

// Result is what one executed command did.
type Result struct {
	Events    []Envelope // the events the command yielded (or had yielded, when Duplicate)
	Version   int        // the aggregate's version after them
	Position  uint64     // stream sequence of the last of them
	Duplicate bool       // the command had already been executed
}

// ExecuteAttempts is how many times Execute decides a command when its
// appends lose the race to other writers.
const ExecuteAttempts = 5

// Execute loads an aggregate, decides a command against it and appends the
// resulting events, guarded by the aggregate's last stream sequence so that a
// concurrent writer never has its event overwritten. When another writer
// appended first (or the history was read from a replica that had not yet
// caught up), it waits a moment, loads the aggregate again and decides the
// command again, up to ExecuteAttempts times: a command with IfMatch then
// fails with EPRECONDITION, one without is decided against the new state.
// On a single server, with k writers on one aggregate a command loses at
// most k-1 races; on a cluster it can also lose to a write still being
// replicated, which the waits (doubling from about a millisecond) outlast.
// A command that still loses fails with ECONFLICT. It returns the
// aggregate's state after the command.
func Execute[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l *Log, id string, cmd any, meta Meta) (PA, Result, error) {
	for attempt := 1; ; attempt++ {
		var raced bool
		agg, res, err := executeOnce[A, PA](ctx, l, id, cmd, meta, &raced)
		if !raced || meta.Fresh || attempt == ExecuteAttempts {
			return agg, res, err
		}
		// A moment for the winner's write to be replicated and a lagging
		// replica to catch up, and for colliding writers to spread out:
		// 1-2, 2-4, 4-8, 8-16 ms.
		wait := time.Duration(1<<(attempt-1)) * time.Millisecond
		select {
		case <-ctx.Done():
			return agg, res, err
		case <-time.After(wait + rand.N(wait)):
		}
	}
}

// executeOnce is one load, decide and append; *raced is set when the
// append lost to another writer.
func executeOnce[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l *Log, id string, cmd any, meta Meta, raced *bool) (PA, Result, error) {
	aggType := AggregateTypeOf(id)
	if aggType == "" {
		return nil, Result{}, (&Fields{{Field: "id", Detail: "is not a meeting or visit id"}}).Err()
	}
	var hist []Stored
	if !meta.Fresh {
		var err error
		if hist, err = l.Load(ctx, aggType, id); err != nil {
			return nil, Result{}, err
		}
	}
	agg := PA(new(A))
	var expected uint64
	for _, st := range hist {
		if err := agg.Evolve(st.Envelope); err != nil {
			return nil, Result{}, err
		}
		expected = st.Seq
		if meta.MsgID != "" && st.MsgID == meta.MsgID {
			return agg, Result{Events: []Envelope{st.Envelope}, Version: st.Version, Position: st.Seq, Duplicate: true}, nil
		}
	}
	version := len(hist)
	if meta.IfMatch > 0 && version > 0 && meta.IfMatch != version {
		return nil, Result{}, Errorf(EPRECONDITION, "%s %s is at version %d, not %d", aggType, id, version, meta.IfMatch)
	}
	now := l.now().UTC()
	if n := len(hist); n > 0 && now.Before(hist[n-1].RecordedAt) {
		// A writer whose clock is behind the one that recorded the last
		// event: this event is decided against that one, so it was not
		// learned earlier (asof.go relies on it).
		now = hist[n-1].RecordedAt.UTC()
	}
	evs, err := agg.Decide(cmd, now)
	if err != nil {
		return nil, Result{}, err
	}
	envs := make([]Envelope, len(evs))
	for i, ev := range evs {
		data, err := MarshalJSON(ev)
		if err != nil {
			return nil, Result{}, fmt.Errorf("encode %s: %w", ev.EventType(), err)
		}
		envs[i] = Envelope{
			ID: newID(eventPrefix, now), Type: ev.EventType(), Schema: SchemaOf(ev.EventType()),
			AggregateType: aggType, AggregateID: id, Version: version + i + 1, RecordedAt: now,
			Actor: meta.Actor, CorrelationID: meta.CorrelationID, CausationID: meta.CausationID, Data: data,
		}
	}
	last, dup, err := l.Append(ctx, envs, AppendOptions{ExpectedSeq: expected, MsgID: meta.MsgID})
	if err != nil {
		// A lost race may have been lost to an earlier attempt of this
		// very command: the next load finds it, and answers a duplicate.
		*raced = ErrorCode(err) == ECONFLICT
		return nil, Result{}, err
	}
	if dup {
		// The same MsgID was appended to another aggregate (a retried create
		// that drew a new id): answer with what the first attempt recorded.
		st, err := l.At(ctx, last)
		if err != nil {
			return nil, Result{}, err
		}
		prev, err := FoldUntil[A, PA](ctx, l, st.AggregateID, func(e Envelope) bool { return e.Seq <= last })
		if err != nil {
			return nil, Result{}, err
		}
		return prev, Result{Events: []Envelope{st.Envelope}, Version: st.Version, Position: last, Duplicate: true}, nil
	}
	first := last - uint64(len(envs)) + 1
	for i := range envs {
		envs[i].Seq = first + uint64(i)
		if err := agg.Apply(envs[i], evs[i]); err != nil {
			return nil, Result{}, err
		}
	}
	return agg, Result{Events: envs, Version: version + len(envs), Position: last}, nil
}

// FoldUntil folds an aggregate's events for as long as keep says yes. It
// answers "what did we know, and when": keep by RecordedAt for a point in
// time, by Version for a past version. The version of the result is 0 when
// no event was kept.
func FoldUntil[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l *Log, id string, keep func(Envelope) bool) (PA, error) {
	aggType := AggregateTypeOf(id)
	if aggType == "" {
		return nil, (&Fields{{Field: "id", Detail: "is not a meeting or visit id"}}).Err()
	}
	hist, err := l.Load(ctx, aggType, id)
	if err != nil {
		return nil, err
	}
	agg := PA(new(A))
	for _, st := range hist {
		if !keep(st.Envelope) {
			break
		}
		if err := agg.Evolve(st.Envelope); err != nil {
			return nil, err
		}
	}
	return agg, nil
}
