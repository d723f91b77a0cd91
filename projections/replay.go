package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/chancery/chancery/events"
)

// ReplayBatch is how many events a replay applies per transaction. It
// bounds the replay's memory: three batches are in flight between the
// stages, and the states of engagements changed in the last memBatches
// batches are kept. 2,500 replays as fast as 10,000 did, with half the peak
// memory (docs/benchmarks.md). (Tests lower it to see a replay stop between
// batches.)
var ReplayBatch = 2500

// Progress reports a replay's position and the stream's last sequence.
type Progress func(position, last uint64)

// Replay applies the stream's events to db, from db's position up to and
// including until (0: up to the end of the stream as it is when the replay
// starts), in batches, each committed with its checkpoint. Interrupted at
// any point, a second Replay on the same file continues where the first
// stopped and ends with the same read model as one uninterrupted run.
func Replay(ctx context.Context, db *DB, l *events.Log, until uint64, progress Progress) (uint64, error) {
	return replay(ctx, db, l, until, nil, progress)
}

// ReplayMoment applies exactly the events of a moment (those recorded at or
// before some time, not a prefix of the stream) that come after db's
// position. db must hold exactly the moment's events up to its position: a
// new file, or a copy of a read model of a moment that m extends.
func ReplayMoment(ctx context.Context, db *DB, l *events.Log, m events.Moment, progress Progress) (uint64, error) {
	if m.Last == 0 {
		return 0, nil // before the first event the schedule was empty
	}
	return replay(ctx, db, l, m.Last, func(seq uint64) bool { return !m.Includes(seq) }, progress)
}

// replay is Replay leaving out the events skip says to.
func replay(ctx context.Context, db *DB, l *events.Log, until uint64, skip func(seq uint64) bool, progress Progress) (uint64, error) {
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
		return pos, db.restoreIndexes(ctx)
	}
	if pos == 0 {
		// A new file: load the rows first and build the secondary indexes
		// once, at the end, instead of updating them row by row.
		if err := db.dropIndexes(ctx); err != nil {
			return pos, err
		}
	}
	// Three stages run side by side, a batch at a time: reading and
	// decoding the stream, folding the events into rows, writing the rows.
	// Two cores, and the writer only writes. Batches are larger than the
	// live projector's, so an engagement changed several times is written
	// once per batch. The first stage to fail stops the others.
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []events.Envelope, 2)
	prepared := make(chan *preparedBatch, 1)
	g.Go(func() error { defer close(batches); return scanBatches(gctx, l, pos, until, skip, batches) })
	g.Go(func() error { defer close(prepared); return foldBatches(gctx, db, batches, prepared) })
	g.Go(func() error { return writeBatches(gctx, p, prepared, until, progress) })
	err = g.Wait()
	if err == nil {
		err = db.restoreIndexes(ctx)
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err() // interrupted rather than failed: a second Replay continues
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return p.Position(), fmt.Errorf("replay at %d: %w", p.Position(), err)
	}
	return p.Position(), err
}

// scanBatches reads the events after pos up to until, but those skip says
// to leave out, and sends them on in batches of ReplayBatch.
func scanBatches(ctx context.Context, l *events.Log, pos, until uint64, skip func(seq uint64) bool, out chan<- []events.Envelope) error {
	batch := make([]events.Envelope, 0, ReplayBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := send(ctx, out, batch); err != nil {
			return err
		}
		batch = make([]events.Envelope, 0, ReplayBatch)
		return nil
	}
	err := l.Scan(ctx, pos, events.ReadFilter{}, func(st events.Stored) error {
		if st.Seq > until {
			return events.ErrStopScan
		}
		if skip == nil || !skip(st.Seq) {
			batch = append(batch, st.Envelope)
			if len(batch) == ReplayBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if st.Seq == until {
			return events.ErrStopScan
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// foldBatches folds each batch into the rows it changes.
func foldBatches(ctx context.Context, db *DB, in <-chan []events.Envelope, out chan<- *preparedBatch) error {
	f := &folder{db: db, mem: map[string]*memState{}}
	for batch := range in {
		pb, err := f.fold(ctx, batch)
		if err != nil {
			return err
		}
		if err := send(ctx, out, pb); err != nil {
			return err
		}
	}
	return nil
}

// writeBatches writes each prepared batch with its checkpoint, and reports
// the progress.
func writeBatches(ctx context.Context, p *Projector, in <-chan *preparedBatch, until uint64, progress Progress) error {
	for pb := range in {
		if err := p.applyPrepared(ctx, pb); err != nil {
			return err
		}
		if progress != nil {
			progress(p.Position(), until)
		}
	}
	return nil
}

// send passes v on, unless ctx ends first: the stage it goes to may have
// stopped.
func send[T any](ctx context.Context, out chan<- T, v T) error {
	select {
	case out <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dropIndexes drops the secondary indexes of a new read model and keeps
// their definitions in meta, so that an interrupted replay that resumes
// still rebuilds them.
func (db *DB) dropIndexes(ctx context.Context) error {
	return db.inWriteTx(ctx, "drop indexes", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
		if err != nil {
			return err
		}
		var names, defs []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				rows.Close()
				return err
			}
			names, defs = append(names, name), append(defs, def)
		}
		rows.Close()
		if len(defs) == 0 {
			return nil
		}
		saved, err := json.Marshal(defs)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('replay_indexes', ?)`, string(saved)); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, `DROP INDEX `+quoteIdent(n)); err != nil {
				return err
			}
		}
		return nil
	})
}

// restoreIndexes builds the indexes dropIndexes dropped, if it did.
func (db *DB) restoreIndexes(ctx context.Context) error {
	return db.inWriteTx(ctx, "restore indexes", func(tx *sql.Tx) error {
		var saved string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'replay_indexes'`).Scan(&saved)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var defs []string
		if err := json.Unmarshal([]byte(saved), &defs); err != nil {
			return fmt.Errorf("replay indexes: %w", err)
		}
		for _, def := range defs {
			if _, err := tx.ExecContext(ctx, def); err != nil {
				return fmt.Errorf("rebuild index: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM meta WHERE key = 'replay_indexes'`)
		return err
	})
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// preparedBatch is a batch folded and encoded, ready to write.
type preparedBatch struct {
	first, last uint64 // stream sequences of its first and last event
	rows        []row  // the engagements it changed, in id order
}

// memState is an aggregate's state as the replay last folded it.
type memState struct {
	st  state
	gen int // the batch that last changed it
}

// folder folds a replay's batches, keeping the states of engagements
// changed in the last few batches in memory: a change to a recent one
// needs no read of its document.
type folder struct {
	db  *DB
	mem map[string]*memState
	gen int
}

// memBatches is how many batches states stay in memory: more than the
// batches between the folder and the writer, so that a state dropped from
// memory is certainly committed when it is read back.
const memBatches = 4

func (f *folder) fold(ctx context.Context, envs []events.Envelope) (*preparedBatch, error) {
	f.gen++
	pb := &preparedBatch{first: envs[0].Seq, last: envs[len(envs)-1].Seq}
	touched := map[string]uint64{}
	for _, env := range envs {
		ms := f.mem[env.AggregateID]
		if ms == nil {
			f.db.mu.RLock()
			st, err := stateFor(ctx, f.db.read, env)
			f.db.mu.RUnlock()
			if err != nil {
				return nil, err
			}
			ms = &memState{st: st, gen: f.gen}
			f.mem[env.AggregateID] = ms
		}
		if err := ms.st.Evolve(env); err != nil {
			return nil, fmt.Errorf("project seq %d: %w", env.Seq, err)
		}
		ms.gen = f.gen
		touched[env.AggregateID] = env.Seq
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pb.rows = make([]row, 0, len(ids))
	for _, id := range ids {
		r, err := f.mem[id].st.row(touched[id])
		if err != nil {
			return nil, err
		}
		pb.rows = append(pb.rows, r)
	}
	for id, ms := range f.mem {
		if f.gen-ms.gen >= memBatches {
			delete(f.mem, id)
		}
	}
	return pb, nil
}

// applyPrepared writes a prepared batch and its checkpoint in one
// transaction.
func (p *Projector) applyPrepared(ctx context.Context, pb *preparedBatch) error {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	if cur := p.Position(); pb.first <= cur {
		return fmt.Errorf("projector: event at seq %d is not after position %d", pb.first, cur)
	}
	return p.commit(ctx, pb.last, func(b *batch) error {
		return writeRowList(ctx, b.tx, pb.rows)
	})
}
