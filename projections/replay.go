package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/chancery/chancery/events"
)

// Progress reports a replay's position and the stream's last sequence.
type Progress func(position, last uint64)

// Replay applies the stream's events to db, from db's position up to and
// including until (0: up to the end of the stream as it is when the replay
// starts), in batches, each committed with its checkpoint. Interrupted at
// any point, a second Replay on the same file continues where the first
// stopped and ends with the same read model as one uninterrupted run.
func Replay(ctx context.Context, db *DB, l *events.Log, until uint64, progress Progress) (uint64, error) {
	p, err := NewProjector(ctx, db, nil, l.Stream(), nil)
	if err != nil {
		return 0, err
	}
	last, err := l.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	if until == 0 || until > last {
		until = last
	}
	pos := p.Position()
	if pos > until {
		return pos, fmt.Errorf("the read model is at position %d, past %d", pos, until)
	}
	if pos == until {
		return pos, nil
	}
	batch := make([]events.Envelope, 0, maxBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := p.Apply(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		if progress != nil {
			progress(p.Position(), until)
		}
		return nil
	}
	err = l.Scan(ctx, pos, events.ReadFilter{}, func(st events.Stored) error {
		if st.Seq > until {
			return events.ErrStopScan
		}
		batch = append(batch, st.Envelope)
		if len(batch) == maxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		if st.Seq == until {
			return events.ErrStopScan
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return p.Position(), fmt.Errorf("replay at %d: %w", p.Position(), err)
	}
	return p.Position(), err
}
