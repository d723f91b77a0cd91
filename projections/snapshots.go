package projections

import (
	"container/list"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chancery/chancery/events"
)

// Snapshots are read models as they stood at past moments, for
// point-in-time queries (?as_of=, ?announced_as_of=). Each holds exactly the
// events recorded (or announced) by its moment (events.Moment: not a prefix of the stream when
// writers raced), is a SQLite file replayed from the stream once, and is
// kept in an LRU cache bounded in files and in bytes: a second query for
// the same moment (or any moment with the same events) replays nothing. A
// new snapshot starts from a copy of a cached one it extends when there is
// one.
//
// Anyone who may read may ask for any moment, and each new one is a replay:
// at most SnapshotLimits.Builds replay at once, and a query that needs
// another is refused at once with an EUNAVAILABLE error (a 503 with
// Retry-After) rather than queued, so that the memory and disk a burst of
// moments takes stay bounded.
type Snapshots struct {
	dir    string
	events *events.Log
	times  *events.Timeline
	limits SnapshotLimits
	slots  chan struct{} // one token per replay under way

	mu     sync.Mutex
	cached map[string]*snapshot // by Moment.Key
	order  *list.List           // of *snapshot, most recently used at the front
	used   int64                // bytes of the cached files
	flight map[string]*build
	builds atomic.Int64
}

// SnapshotLimits bound what point-in-time queries may take.
type SnapshotLimits struct {
	// Builds is how many snapshots may replay at once (each takes a core,
	// tens of MiB of memory and a read model's worth of disk).
	Builds int
	// CacheBytes is the disk the kept snapshots may take together.
	CacheBytes int64
	// Files is how many snapshots are kept (each an open SQLite file).
	Files int
}

// Default snapshot limits, documented in docs/configuration.md.
const (
	DefaultSnapshotBuilds     = 2
	DefaultSnapshotCacheBytes = 256 << 20
	DefaultSnapshotFiles      = 8
)

type snapshot struct {
	db      *DB
	at      events.Moment
	key     string
	size    int64
	elem    *list.Element
	refs    int
	evicted bool
}

type build struct {
	done chan struct{}
	err  error
}

// NewSnapshots keeps snapshots as files under dir, within limits (a zero
// field takes its default).
func NewSnapshots(dir string, l *events.Log, limits SnapshotLimits) (*Snapshots, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	limits.Builds = positiveOr(limits.Builds, DefaultSnapshotBuilds)
	limits.CacheBytes = positiveOr(limits.CacheBytes, DefaultSnapshotCacheBytes)
	limits.Files = positiveOr(limits.Files, DefaultSnapshotFiles)
	return &Snapshots{
		dir: dir, events: l, times: events.NewTimeline(l), limits: limits, slots: make(chan struct{}, limits.Builds),
		cached: map[string]*snapshot{}, order: list.New(), flight: map[string]*build{},
	}, nil
}

// positiveOr is v, or def when v is zero or negative: a limit that would
// allow nothing means "not set".
func positiveOr[T int | int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Builds counts the snapshots replayed so far.
func (s *Snapshots) Builds() int64 { return s.builds.Load() }

// CachedBytes is the disk the kept snapshots take.
func (s *Snapshots) CachedBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// At returns the read model holding exactly the events recorded at or
// before t, and that moment. Call release when done with it.
func (s *Snapshots) At(ctx context.Context, t time.Time) (db *DB, at events.Moment, release func(), err error) {
	return s.Within(ctx, events.Bound{Recorded: t})
}

// Within returns the read model holding exactly the events within b
// (recorded by a time, announced by a day, or both), and that moment. Two
// bounds with the same events share one snapshot. Call release when done
// with it.
func (s *Snapshots) Within(ctx context.Context, b events.Bound) (db *DB, at events.Moment, release func(), err error) {
	at, err = s.times.MomentOf(ctx, b)
	if err != nil {
		return nil, at, nil, err
	}
	snap, err := s.get(ctx, at)
	if err != nil {
		return nil, at, nil, err
	}
	return snap.db, at, func() { s.release(snap) }, nil
}

func (s *Snapshots) get(ctx context.Context, at events.Moment) (*snapshot, error) {
	key := at.Key()
	s.mu.Lock()
	if snap, ok := s.cached[key]; ok {
		snap.refs++
		s.order.MoveToFront(snap.elem)
		s.mu.Unlock()
		return snap, nil
	}
	if b, ok := s.flight[key]; ok {
		s.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if b.err != nil {
			return nil, b.err
		}
		return s.get(ctx, at)
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.mu.Unlock()
		return nil, events.Errorf(events.EUNAVAILABLE, "all %d point-in-time replays are busy; try again shortly", s.limits.Builds)
	}
	b := &build{done: make(chan struct{})}
	s.flight[key] = b
	base := s.nearestBase(at)
	s.mu.Unlock()

	// The replay belongs to every waiter, not to the first request.
	snap, err := s.build(context.WithoutCancel(ctx), at, key, base)
	<-s.slots
	if base != nil {
		s.release(base)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.flight, key)
	b.err = err
	close(b.done)
	if err != nil {
		return nil, err
	}
	snap.refs++
	snap.elem = s.order.PushFront(snap)
	s.cached[key] = snap
	s.used += snap.size
	s.evict()
	return snap, nil
}

// nearestBase returns the cached snapshot that at extends with the most
// events already applied, held; nil when none.
func (s *Snapshots) nearestBase(at events.Moment) *snapshot {
	var best *snapshot
	for _, snap := range s.cached {
		if at.Extends(snap.at) && (best == nil || snap.at.Last > best.at.Last) {
			best = snap
		}
	}
	if best != nil {
		best.refs++
	}
	return best
}

func (s *Snapshots) build(ctx context.Context, at events.Moment, key string, base *snapshot) (*snapshot, error) {
	s.builds.Add(1)
	path := filepath.Join(s.dir, "at-"+key+".db")
	removeDB(path)
	if base != nil {
		// A consistent copy of the earlier snapshot to replay on from.
		base.db.mu.RLock()
		_, err := base.db.read.ExecContext(ctx, `VACUUM INTO ?`, path)
		base.db.mu.RUnlock()
		if err != nil {
			removeDB(path)
			return nil, fmt.Errorf("snapshot at %s: copy %s: %w", key, base.key, err)
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		removeDB(path)
		return nil, err
	}
	_, err = ReplayMoment(ctx, db, s.events, at, nil)
	// Closing checkpoints the write-ahead log into the file and lets go of
	// the writer's page cache: a kept snapshot is only read.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		db, err = OpenReadOnly(ctx, path)
	}
	if err != nil {
		removeDB(path)
		return nil, fmt.Errorf("snapshot at %s: %w", key, err)
	}
	return &snapshot{db: db, at: at, key: key, size: dbSize(path)}, nil
}

// evict drops the least recently used snapshots beyond the limits; one
// still in use closes when its last user releases it.
func (s *Snapshots) evict() {
	for s.order.Len() > 0 && (s.order.Len() > s.limits.Files || s.used > s.limits.CacheBytes) {
		snap := s.order.Remove(s.order.Back()).(*snapshot)
		delete(s.cached, snap.key)
		s.used -= snap.size
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
	removeDB(snap.db.Path())
}

// Close drops every snapshot.
func (s *Snapshots) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, snap := range s.cached {
		delete(s.cached, key)
		s.drop(snap)
	}
	s.order.Init()
	s.used = 0
}

// dbSize is the disk a SQLite file takes with its write-ahead log.
func dbSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func removeDB(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(p) // a leftover is cleared with the directory at the next start
	}
}
