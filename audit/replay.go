package audit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// ReplayUntil returns the events a replay applies: the whole stream; with
// seq not 0, those up to seq; with at not zero, exactly those recorded at
// or before at (not a prefix of the stream: writers race). No event
// recorded by at is an error.
func ReplayUntil(ctx context.Context, tl Timeline, seq uint64, at time.Time) (events.Moment, error) {
	if at.IsZero() {
		return events.Moment{Last: seq}, nil
	}
	m, err := tl.MomentAt(ctx, at)
	if err != nil {
		return m, err
	}
	if m.Last == 0 {
		return m, fmt.Errorf("no event was recorded at or before %s", at.Format(time.RFC3339))
	}
	return m, nil
}

// ReplayOptions say how far a replay goes and who watches it.
type ReplayOptions struct {
	Until    events.Moment        // Last 0: the whole stream
	Progress projections.Progress // after each committed batch; may be nil
	Now      func() time.Time     // times the replay; nil: time.Now
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	Position  uint64 // the read model's position at the end
	Applied   uint64 // events applied by this run
	ResumedAt uint64 // the position an interrupted replay had reached; 0 for a new file
	Elapsed   time.Duration
}

// Replay brings the read model in the SQLite file path to exactly the
// events of o.Until. A file an interrupted replay left is resumed from its
// position; a new one is created.
func Replay(ctx context.Context, path string, l *events.Log, o ReplayOptions) (ReplayResult, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	db, err := projections.Open(ctx, path)
	if err != nil {
		return ReplayResult{}, err
	}
	defer db.Close()
	from, err := db.Position(ctx)
	if err != nil {
		return ReplayResult{}, err
	}
	start := now()
	var pos uint64
	if o.Until.Last == 0 {
		pos, err = projections.Replay(ctx, db, l, 0, o.Progress)
	} else {
		pos, err = projections.ReplayMoment(ctx, db, l, o.Until, o.Progress)
	}
	res := ReplayResult{Position: pos, Applied: pos - from, ResumedAt: from, Elapsed: now().Sub(start)}
	if err != nil {
		return res, err
	}
	return res, db.Close()
}

// ReplayInto replays (Replay) into the file out by way of out.partial,
// which keeps a replay that stopped for the next run to resume: out only
// ever holds a whole replay.
func ReplayInto(ctx context.Context, out string, l *events.Log, o ReplayOptions) (ReplayResult, error) {
	res, err := Replay(ctx, out+".partial", l, o)
	if err != nil {
		return res, err
	}
	return res, os.Rename(out+".partial", out)
}

// Summary says what the replay into out did; bound, when not empty, says
// how far the user asked it to go.
func (r ReplayResult) Summary(out, bound string) string {
	s := fmt.Sprintf("replayed %s events into %s: position %d", thousands(r.Applied), out, r.Position)
	if bound != "" {
		s += " (" + bound + ")"
	}
	s += fmt.Sprintf(", %s (%s events/s)", r.Elapsed.Round(time.Millisecond), thousands(uint64(float64(r.Applied)/max(r.Elapsed.Seconds(), 1e-9))))
	if r.ResumedAt != 0 {
		s += fmt.Sprintf("; resumed an interrupted replay at %d", r.ResumedAt)
	}
	return s
}

// thousands writes n with separators: 1,234,567.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
