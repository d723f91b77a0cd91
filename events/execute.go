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

// ExecuteTimeout bounds a command whose context has no deadline of its own:
// long enough to outlast a stream leader election.
const ExecuteTimeout = 30 * time.Second

// Execute loads an aggregate, decides a command against it and appends the
// resulting events, guarded by the aggregate's last stream sequence so that a
// concurrent writer never has its event overwritten.
//
// When another writer appended first, it waits a moment, loads the
// aggregate again and decides the command again, up to ExecuteAttempts
// times: a command with IfMatch then fails with EPRECONDITION, one without
// is decided against the new state. With k writers on one aggregate a
// command loses at most k-1 races on one server; on a cluster it can also
// lose to a write still being replicated, which the waits (doubling from
// about a millisecond) outlast. A command that still loses fails with
// ECONFLICT.
//
// When an append fails on a transient condition (no stream leader during an
// election, a timeout), its events may have been stored all the same. Every
// later attempt carries the same expected sequence or a newer one, so at most
// one of the attempts can land; Execute remembers the ids of the events it
// tried and, on each reload, looks for them: found, the command is done and
// its result is those events. It keeps trying until ctx ends (ExecuteTimeout
// when ctx has no deadline) and then fails with EUNAVAILABLE.
//
// It returns the aggregate's state after the command.
func Execute[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l CommandLog, id string, cmd any, meta Meta) (PA, Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ExecuteTimeout)
		defer cancel()
	}
	x := execution{meta: meta}
	races := 0
	pause := time.Millisecond
	for {
		agg, res, err := executeOnce[A, PA](ctx, l, id, cmd, &x)
		switch {
		case x.outcome == appendRaced && !x.meta.Fresh && races < ExecuteAttempts-1:
			races++
			// A moment for the winner's write to be replicated and for
			// colliding writers to spread out: 1-2, 2-4, 4-8, 8-16 ms.
			pause = time.Duration(1<<(races-1)) * time.Millisecond
		case x.outcome == appendUnknown && ctx.Err() == nil:
			// The next attempt must load: the events may be stored.
			x.meta.Fresh = false
			pause = min(max(2*pause, 50*time.Millisecond), time.Second)
		default:
			return agg, res, err
		}
		select {
		case <-ctx.Done():
			return agg, res, Unavailable(err, "append to "+id)
		case <-time.After(pause + rand.N(pause)):
		}
	}
}

// History reads an aggregate's events; *Log is one.
type History interface {
	Load(ctx context.Context, aggType, id string) ([]Stored, error)
}

// CommandLog is what executing a command needs of the event log: *Log, or
// a consumer's interface with its methods.
type CommandLog interface {
	History
	Append(ctx context.Context, envs []Envelope, opt AppendOptions) (last uint64, duplicate bool, err error)
	At(ctx context.Context, seq uint64) (Stored, error)
	Now() time.Time
}

// execution is what Execute carries from one attempt to the next.
type execution struct {
	meta    Meta
	outcome appendOutcome
	tried   map[string]bool // ids of the first event of appends whose outcome is unknown
}

type appendOutcome int

const (
	appendDone    appendOutcome = iota // stored, or refused before storing anything
	appendRaced                        // lost to another writer: decide again
	appendUnknown                      // failed on a transient condition: may be stored
)

// executeOnce is one load, decide and append.
func executeOnce[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l CommandLog, id string, cmd any, x *execution) (PA, Result, error) {
	x.outcome = appendDone
	meta := x.meta
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
	for i, st := range hist {
		if err := agg.Evolve(st.Envelope); err != nil {
			return nil, Result{}, err
		}
		expected = st.Seq
		if meta.MsgID != "" && st.MsgID == meta.MsgID {
			return agg, Result{Events: []Envelope{st.Envelope}, Version: st.Version, Position: st.Seq, Duplicate: true}, nil
		}
		if x.tried[st.ID] {
			// An earlier attempt of this command was stored after all.
			return storedAttempt[A](agg, hist[i:])
		}
	}
	version := len(hist)
	if meta.IfMatch > 0 && version > 0 && meta.IfMatch != version {
		return nil, Result{}, Errorf(EPRECONDITION, "%s %s is at version %d, not %d", aggType, id, version, meta.IfMatch)
	}
	now := l.Now().UTC()
	if n := len(hist); n > 0 && now.Before(hist[n-1].RecordedAt) {
		// A writer whose clock is behind the one that recorded the last
		// event: this event is decided against that one, so it was not
		// learned earlier (asof.go relies on it).
		now = hist[n-1].RecordedAt.UTC()
	}
	evs, err := agg.Decide(cmd, now)
	if err != nil {
		if version == 0 && ErrorCode(err) == ENOTFOUND {
			// The aggregate has no events, so it has no id to name itself by.
			return nil, Result{}, Errorf(ENOTFOUND, "%s %s not found", aggType, id)
		}
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
		switch {
		case ErrorCode(err) == ECONFLICT:
			// A lost race may have been lost to an earlier attempt of this
			// very command: the next load finds it.
			x.outcome = appendRaced
		case Transient(err):
			if x.tried == nil {
				x.tried = map[string]bool{}
			}
			x.tried[envs[0].ID] = true
			x.outcome = appendUnknown
		}
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

// storedAttempt completes a command whose earlier append was found stored:
// agg has folded its first event, rest starts with it. The batch it was
// appended in is the events that share its batch id.
func storedAttempt[A any, PA interface {
	*A
	Aggregate
}](agg PA, rest []Stored) (PA, Result, error) {
	n := 1
	for n < len(rest) && rest[0].batch != "" && rest[n].batch == rest[0].batch {
		if err := agg.Evolve(rest[n].Envelope); err != nil {
			return nil, Result{}, err
		}
		n++
	}
	envs := make([]Envelope, n)
	for i := range envs {
		envs[i] = rest[i].Envelope
	}
	return agg, Result{Events: envs, Version: envs[n-1].Version, Position: envs[n-1].Seq}, nil
}

// FoldUntil folds an aggregate's events for as long as keep says yes. It
// answers "what did we know, and when": keep by RecordedAt for a point in
// time, by Version for a past version. The version of the result is 0 when
// no event was kept.
func FoldUntil[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l History, id string, keep func(Envelope) bool) (PA, error) {
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

// staleRetries is how many times FoldVersion reads a history again that
// lacks a version the caller knows exists.
const staleRetries = 5

// FoldVersion folds an aggregate's events up to and including version v,
// for a caller that knows v exists (a notifier handling that event, a
// retried request replaying its answer). A history with fewer events was
// read from a server that had not applied them yet: it is read again a few
// times, and then the answer is EUNAVAILABLE, never a fold that silently
// lacks the event.
func FoldVersion[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, l History, id string, v int) (PA, error) {
	aggType := AggregateTypeOf(id)
	if aggType == "" {
		return nil, (&Fields{{Field: "id", Detail: "is not a meeting or visit id"}}).Err()
	}
	pause := 10 * time.Millisecond
	for try := 0; ; try++ {
		hist, err := l.Load(ctx, aggType, id)
		if err != nil {
			return nil, err
		}
		if len(hist) >= v {
			agg := PA(new(A))
			for _, st := range hist[:v] {
				if err := agg.Evolve(st.Envelope); err != nil {
					return nil, err
				}
			}
			return agg, nil
		}
		if try == staleRetries {
			return nil, Errorf(EUNAVAILABLE, "%s %s: read %d events, but version %d exists; try again shortly", aggType, id, len(hist), v)
		}
		select {
		case <-ctx.Done():
			return nil, Unavailable(ctx.Err(), "load "+aggType+" "+id)
		case <-time.After(pause):
		}
		pause *= 2
	}
}
