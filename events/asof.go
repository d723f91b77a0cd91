package events

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// "As of T" means every event recorded at or before T: what Chancery had
// learned by then. A writer stamps recorded_at before it appends, so
// concurrent writers (goroutines of one process, replicas with clocks of
// their own) store events whose recorded_at does not rise with the stream
// sequence: the events recorded at or before T are in general not a prefix
// of the stream, and no binary search over the stream finds them. A
// Timeline keeps every event's record time by sequence and answers with the
// exact set, as a Moment.
//
// Within one aggregate an event is decided against every earlier event of
// it, so it cannot have been learned before them: Execute stamps no event
// earlier than its aggregate's last one, and a Timeline reads an event
// written before that rule (or by a writer that ignored it) as recorded when
// the latest of its aggregate's earlier events was. An aggregate's events
// at or before T are then always a prefix of its history, which folds; this
// is also what FoldUntil with a RecordedAt test keeps.
//
// What cannot be known is an event stamped at or before T whose append is
// still under way when the question is asked: a Moment is exact for the
// events stored at that instant. A write gives up after its deadline, so a
// T further in the past than that deadline no longer changes.

// "Announced as of D" is the other clock: every event whose source was
// published on or before D (AnnouncedOn), what the world had been told by
// then, whenever Chancery learned it. It folds by the same rule: an event is
// announced no earlier than the events of its aggregate before it.

// Moment is the exact set of events recorded at or before some time (or
// within some other Bound): every event up to and including Last, except
// those listed in Later.
type Moment struct {
	Last  uint64   // the last event in the moment; 0: none
	Later []uint64 // events before Last that are not in it, ascending
}

// Includes reports whether the event at seq belongs to the moment.
func (m Moment) Includes(seq uint64) bool {
	if seq > m.Last {
		return false
	}
	_, later := slices.BinarySearch(m.Later, seq)
	return !later
}

// Key names the set of events: two times with the same events recorded at
// or before them have the same key, and no two different sets do.
func (m Moment) Key() string {
	key := strconv.FormatUint(m.Last, 10)
	if len(m.Later) == 0 {
		return key
	}
	h := sha256.New()
	var b [8]byte
	for _, seq := range m.Later {
		binary.BigEndian.PutUint64(b[:], seq)
		h.Write(b[:])
	}
	return key + "-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// Extends reports whether a read model holding exactly base's events can be
// brought to m by applying m's events after base.Last, in stream order: base
// must hold every event of m up to base.Last, and none that m lacks.
func (m Moment) Extends(base Moment) bool {
	if base.Last > m.Last {
		return false
	}
	n, _ := slices.BinarySearch(m.Later, base.Last+1)
	return slices.Equal(m.Later[:n], base.Later)
}

// Bound names the events a Moment holds: those recorded at or before
// Recorded and announced on or before the day Announced (see AnnouncedOn).
// A zero field bounds nothing.
type Bound struct {
	Recorded  time.Time
	Announced time.Time // a day, as midnight UTC
}

// Holds reports whether an event is within b on its own times. Folding an
// aggregate's history until the first event that is not keeps the prefix a
// Timeline counts: a later event is never recorded or announced before an
// earlier one of its aggregate.
func (b Bound) Holds(e Envelope) bool {
	return nanos(e.RecordedAt) <= b.recorded() && nanos(e.AnnouncedOn()) <= b.announced()
}

func (b Bound) recorded() int64  { return limit(b.Recorded) }
func (b Bound) announced() int64 { return limit(b.Announced) }

// limit is t in Unix nanoseconds, or no limit for the zero time.
func limit(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return nanos(t)
}

// Timeline is the record time and the announcement day of every event in
// the stream by sequence, kept in memory (16 bytes an event, and one entry
// per aggregate) and extended from the stream as it grows.
type Timeline struct {
	log *Log

	mu        sync.Mutex
	at        []int64             // at[i]: record time, in Unix nanoseconds, of the event at seq i+1
	announced []int64             // announced[i]: its announcement day, likewise
	last      map[string][2]int64 // each aggregate's latest record time and announcement day
}

// NewTimeline returns an empty timeline of l's stream; the first MomentAt
// reads the whole stream once.
func NewTimeline(l *Log) *Timeline {
	return &Timeline{log: l, last: map[string][2]int64{}}
}

// MomentAt returns the events recorded at or before t, among those stored
// now.
func (tl *Timeline) MomentAt(ctx context.Context, t time.Time) (Moment, error) {
	return tl.MomentOf(ctx, Bound{Recorded: t})
}

// MomentOf returns the events within b, among those stored now.
func (tl *Timeline) MomentOf(ctx context.Context, b Bound) (Moment, error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if err := tl.catchUp(ctx); err != nil {
		return Moment{}, err
	}
	recorded, announced := b.recorded(), b.announced()
	return momentWhere(len(tl.at), func(i int) bool { return tl.at[i] <= recorded && tl.announced[i] <= announced }), nil
}

// MomentAt scans the stream to find the events recorded at or before t: for
// a tool that asks once. A server keeps a Timeline.
func (l *Log) MomentAt(ctx context.Context, t time.Time) (Moment, error) {
	return NewTimeline(l).MomentAt(ctx, t)
}

// catchUp reads the events stored since the last call.
func (tl *Timeline) catchUp(ctx context.Context) error {
	last, err := tl.log.LastSeq(ctx)
	if err != nil || last <= uint64(len(tl.at)) {
		return err
	}
	return tl.log.Scan(ctx, uint64(len(tl.at)), ReadFilter{}, func(st Stored) error {
		for uint64(len(tl.at))+1 < st.Seq {
			// No event there (the stream denies deletes, so none should be
			// missing): nothing to include or leave out.
			tl.at = append(tl.at, math.MinInt64)
			tl.announced = append(tl.announced, math.MinInt64)
		}
		at := [2]int64{nanos(st.RecordedAt), nanos(st.AnnouncedOn())}
		if prev, ok := tl.last[st.AggregateID]; ok {
			at = [2]int64{max(at[0], prev[0]), max(at[1], prev[1])}
		}
		tl.last[st.AggregateID] = at
		tl.at = append(tl.at, at[0])
		tl.announced = append(tl.announced, at[1])
		if st.Seq >= last {
			return ErrStopScan
		}
		return nil
	})
}

// momentIn finds the events of at (record times by sequence) at or before
// t.
func momentIn(at []int64, t int64) Moment {
	return momentWhere(len(at), func(i int) bool { return at[i] <= t })
}

// momentWhere finds the events among the first n (by index, seq-1) that in
// holds for: one pass, a few milliseconds for a million events.
func momentWhere(n int, in func(i int) bool) Moment {
	prefix := 0 // every event up to it is in
	for prefix < n && in(prefix) {
		prefix++
	}
	m := Moment{Last: uint64(prefix)}
	for i := prefix; i < n; i++ {
		if in(i) {
			m.Last = uint64(i + 1)
		}
	}
	for i := prefix; i < int(m.Last); i++ {
		if !in(i) {
			m.Later = append(m.Later, uint64(i+1))
		}
	}
	return m
}

// nanos is t in Unix nanoseconds, held to the range an int64 counts.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
