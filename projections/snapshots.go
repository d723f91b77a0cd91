package projections

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chancery/chancery/events"
)

// Snapshots are read models as they stood at past stream positions, for
// point-in-time queries (?as_of=). Each is a SQLite file replayed from the
// stream once and kept in a small LRU cache: a second query for the same
// moment (or any moment with the same last event) replays nothing. A new
// snapshot starts from a copy of the nearest earlier one when there is one.
type Snapshots struct {
	dir string
	log *events.Log
	max int

	mu     sync.Mutex
	cached map[uint64]*snapshot
	order  []uint64 // least recently used first
	flight map[uint64]*build
	builds atomic.Int64
}

type snapshot struct {
	db      *DB
	pos     uint64
	refs    int
	evicted bool
}

type build struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// NewSnapshots keeps up to max snapshots as files under dir.
func NewSnapshots(dir string, l *events.Log, max int) (*Snapshots, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return &Snapshots{dir: dir, log: l, max: max, cached: map[uint64]*snapshot{}, flight: map[uint64]*build{}}, nil
}

// Builds counts the snapshots replayed so far.
func (s *Snapshots) Builds() int64 { return s.builds.Load() }

// At returns the read model as it stood at time t (after the last event
// recorded at or before t) and its position. Call release when done with it.
func (s *Snapshots) At(ctx context.Context, t time.Time) (db *DB, pos uint64, release func(), err error) {
	pos, err = s.log.PositionAt(ctx, t)
	if err != nil {
		return nil, 0, nil, err
	}
	snap, err := s.get(ctx, pos)
	if err != nil {
		return nil, 0, nil, err
	}
	return snap.db, pos, func() { s.release(snap) }, nil
}

func (s *Snapshots) get(ctx context.Context, pos uint64) (*snapshot, error) {
	s.mu.Lock()
	if snap, ok := s.cached[pos]; ok {
		snap.refs++
		s.touch(pos)
		s.mu.Unlock()
		return snap, nil
	}
	if b, ok := s.flight[pos]; ok {
		s.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if b.err != nil {
			return nil, b.err
		}
		return s.get(ctx, pos)
	}
	b := &build{done: make(chan struct{})}
	s.flight[pos] = b
	base := s.nearestBelow(pos)
	s.mu.Unlock()

	// The replay belongs to every waiter, not to the first request.
	snap, err := s.build(context.WithoutCancel(ctx), pos, base)
	if base != nil {
		s.release(base)
	}
	s.mu.Lock()
	delete(s.flight, pos)
	b.snap, b.err = snap, err
	close(b.done)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	snap.refs++
	s.cached[pos] = snap
	s.touch(pos)
	s.evict()
	s.mu.Unlock()
	return snap, nil
}

// nearestBelow returns the cached snapshot closest below pos, held.
func (s *Snapshots) nearestBelow(pos uint64) *snapshot {
	var best *snapshot
	for p, snap := range s.cached {
		if p < pos && (best == nil || p > best.pos) {
			best = snap
		}
	}
	if best != nil {
		best.refs++
	}
	return best
}

func (s *Snapshots) build(ctx context.Context, pos uint64, base *snapshot) (*snapshot, error) {
	s.builds.Add(1)
	path := filepath.Join(s.dir, fmt.Sprintf("at-%d.db", pos))
	os.Remove(path)
	if base != nil {
		// A consistent copy of the earlier snapshot to replay on from.
		base.db.mu.RLock()
		_, err := base.db.read.ExecContext(ctx, `VACUUM INTO ?`, path)
		base.db.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("snapshot at %d: copy %d: %w", pos, base.pos, err)
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if pos > 0 { // at 0, before the first event, the schedule was empty
		if _, err := Replay(ctx, db, s.log, pos, nil); err != nil {
			db.Close()
			os.Remove(path)
			return nil, fmt.Errorf("snapshot at %d: %w", pos, err)
		}
	}
	return &snapshot{db: db, pos: pos}, nil
}

func (s *Snapshots) touch(pos uint64) {
	for i, p := range s.order {
		if p == pos {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.order = append(s.order, pos)
}

// evict drops the least recently used snapshots beyond max; one still in
// use closes when its last user releases it.
func (s *Snapshots) evict() {
	for len(s.order) > s.max {
		pos := s.order[0]
		s.order = s.order[1:]
		snap := s.cached[pos]
		delete(s.cached, pos)
		snap.evicted = true
		if snap.refs == 0 {
			s.drop(snap)
		}
	}
}

func (s *Snapshots) release(snap *snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap.refs--
	if snap.evicted && snap.refs == 0 {
		s.drop(snap)
	}
}

func (s *Snapshots) drop(snap *snapshot) {
	snap.db.Close()
	os.Remove(snap.db.Path())
}

// Close drops every snapshot.
func (s *Snapshots) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pos, snap := range s.cached {
		delete(s.cached, pos)
		s.drop(snap)
	}
	s.order = nil
}
