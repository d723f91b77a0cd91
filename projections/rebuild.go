package projections

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/chancery/chancery/events"
)

// RebuildStatus is the progress of a background rebuild.
type RebuildStatus struct {
	Running     bool      `json:"running"`
	FromVersion int       `json:"from_version"`
	ToVersion   int       `json:"to_version"`
	Position    uint64    `json:"position"` // of the new read model
	Target      uint64    `json:"target"`   // the stream's last sequence when last looked at
	StartedAt   time.Time `json:"started_at"`
	Error       string    `json:"error,omitempty"`
}

// rebuildState is a projector's rebuild, if any.
type rebuildState struct {
	mu     sync.Mutex
	status *RebuildStatus
}

// RebuildStatus returns the current or last rebuild, or nil if there was
// none.
func (p *Projector) RebuildStatus() *RebuildStatus {
	p.rebuild.mu.Lock()
	defer p.rebuild.mu.Unlock()
	if p.rebuild.status == nil {
		return nil
	}
	s := *p.rebuild.status
	return &s
}

func (p *Projector) setRebuild(f func(*RebuildStatus)) {
	p.rebuild.mu.Lock()
	defer p.rebuild.mu.Unlock()
	f(p.rebuild.status)
}

// Rebuild replaces a stale read model (written by another projection
// version) without downtime: it replays the stream into a new file next to
// the live one while the live one keeps answering and following the
// stream, then, holding the projector for the last few events, swaps the
// new file in. Interrupted, it resumes from the new file's checkpoint on the
// next start. A read model that is not stale is left alone.
func (p *Projector) Rebuild(ctx context.Context, l *events.Log) error {
	from, stale := p.db.Stale()
	if !stale {
		return nil
	}
	p.rebuild.mu.Lock()
	p.rebuild.status = &RebuildStatus{Running: true, FromVersion: from, ToVersion: Version, StartedAt: time.Now().UTC()}
	p.rebuild.mu.Unlock()
	err := p.rebuildInto(ctx, l, p.db.path+".rebuild")
	p.setRebuild(func(s *RebuildStatus) {
		s.Running = false
		if err != nil {
			s.Error = err.Error()
		}
	})
	if err != nil {
		p.logger.Error("read model rebuild failed", "err", err)
		return err
	}
	p.logger.Info("read model rebuilt and swapped in", "from_version", from, "version", Version, "position", p.Position())
	return nil
}

func (p *Projector) rebuildInto(ctx context.Context, l *events.Log, path string) error {
	fresh, err := Open(ctx, path)
	if _, staleToo := fresh.staleOrNil(); err == nil && staleToo {
		// Left over from a rebuild by yet another version: start over.
		fresh.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		fresh, err = Open(ctx, path)
	}
	if err != nil {
		return err
	}
	progress := func(pos, target uint64) {
		p.setRebuild(func(s *RebuildStatus) { s.Position, s.Target = pos, target })
	}
	// Catch up while the live read model answers and follows the stream.
	for {
		pos, err := Replay(ctx, fresh, l, 0, progress)
		if err != nil {
			fresh.Close()
			return err
		}
		last, err := l.LastSeq(ctx)
		if err != nil {
			fresh.Close()
			return err
		}
		progress(pos, last)
		if last-pos < maxBatch {
			break
		}
	}
	// The last stretch with the live projector held, then the swap.
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	pos, err := Replay(ctx, fresh, l, 0, progress)
	if err != nil {
		fresh.Close()
		return err
	}
	if live := p.Position(); pos < live {
		fresh.Close()
		return fmt.Errorf("rebuilt read model at %d is behind the live one at %d", pos, live)
	}
	if err := p.db.replace(fresh); err != nil {
		return fmt.Errorf("swap in the rebuilt read model: %w", err)
	}
	p.advance(pos, nil)
	return nil
}

// staleOrNil is Stale on a DB that may be nil.
func (db *DB) staleOrNil() (int, bool) {
	if db == nil {
		return 0, false
	}
	return db.Stale()
}
