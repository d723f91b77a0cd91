package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/chancery/chancery/events"
)

// ReplayBatch is how many events a replay applies per transaction. (Tests
// lower it to see a replay stop between batches.)
var ReplayBatch = 10000

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
	// Reading and decoding the stream runs beside the SQL writes: two
	// cores, two stages. Batches are larger than the live projector's, so
	// an engagement changed several times is written once per batch.
	batches := make(chan []events.Envelope, 2)
	scanErr := make(chan error, 1)
	scanCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		batch := make([]events.Envelope, 0, ReplayBatch)
		send := func() bool {
			if len(batch) == 0 {
				return true
			}
			select {
			case batches <- batch:
				batch = make([]events.Envelope, 0, ReplayBatch)
				return true
			case <-scanCtx.Done():
				return false
			}
		}
		err := l.Scan(scanCtx, pos, events.ReadFilter{}, func(st events.Stored) error {
			if st.Seq > until {
				return events.ErrStopScan
			}
			batch = append(batch, st.Envelope)
			if len(batch) == ReplayBatch && !send() {
				return scanCtx.Err()
			}
			if st.Seq == until {
				return events.ErrStopScan
			}
			return nil
		})
		if err == nil && !send() {
			err = scanCtx.Err()
		}
		scanErr <- err
	}()
	for batch := range batches {
		if err = p.Apply(ctx, batch); err != nil {
			cancel()
			for range batches { // let the reader finish
			}
			break
		}
		if progress != nil {
			progress(p.Position(), until)
		}
	}
	if serr := <-scanErr; err == nil {
		err = serr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return p.Position(), fmt.Errorf("replay at %d: %w", p.Position(), err)
	}
	return p.Position(), err
}
