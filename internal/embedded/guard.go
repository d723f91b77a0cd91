package embedded

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chancery/chancery/events"
)

// A full disk. When a write of the embedded server's file store fails
// (ENOSPC, say), nats-server keeps the error: every later write of that
// stream fails, silently (the publish is never answered), even once space
// is freed, until the stream is loaded again. The store guard notices the
// error as the server logs it, makes writes answer 503 at once and /readyz
// say why, and, once the disk has room again, restarts the embedded server
// on the same store and port, which loads every stream afresh from disk.
// (Restarting only JetStream inside the running server races with the API
// requests it is serving.) In-process clients reconnect to the new server
// by themselves; a tool attached through nats.url reconnects to the same
// port.

// storeMinFree is the free space the store's file system must have before
// JetStream is restarted after a write error.
const storeMinFree = 4 << 20

// storeCheckEvery is how often the guard looks at the free space while the
// store is failing.
const storeCheckEvery = 2 * time.Second

// Guard watches the store for a write error, and heals it (see above).
type Guard struct {
	dir     string       // the store's directory
	restart func() error // restarts the embedded server

	mu    sync.Mutex
	err   string // the write error the server reported; empty when writing works
	since time.Time
	kick  chan struct{}
}

func newGuard(dir string, restart func() error) *Guard {
	return &Guard{dir: dir, restart: restart, kick: make(chan struct{}, 1)}
}

// noticed is called with each error the embedded server logs.
func (g *Guard) noticed(msg string) {
	if !strings.Contains(msg, "Critical write error") && !strings.Contains(msg, "no space left") {
		return
	}
	g.mu.Lock()
	if g.err == "" {
		g.err, g.since = msg, time.Now()
	}
	g.mu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Err says why the store cannot write, as an EUNAVAILABLE error, or nil.
func (g *Guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == "" {
		return nil
	}
	return events.Errorf(events.EUNAVAILABLE, "the event store cannot write since %s (%s); free space under %s",
		g.since.UTC().Format(time.RFC3339), g.err, g.dir)
}

// Run restarts the embedded server once the failing store's disk has room
// again, until ctx ends.
func (g *Guard) Run(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(storeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.kick:
			logger.Error("the event store cannot write: writes answer 503 until the disk has room again", "store", g.dir, "err", g.Err())
		case <-t.C:
		}
		if g.Err() == nil {
			continue
		}
		free, err := freeBytes(g.dir)
		if err != nil || free < storeMinFree {
			continue
		}
		logger.Warn("the disk has room again; restarting the embedded NATS server to reload the store", "store", g.dir, "free_bytes", free)
		if err := g.restart(); err != nil {
			logger.Error("embedded NATS restart failed; will try again", "err", err)
			continue
		}
		g.mu.Lock()
		g.err = ""
		g.mu.Unlock()
		logger.Info("embedded NATS restarted; the event store writes again", "store", g.dir)
	}
}

func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
