// Package datalock makes one process the owner of a data directory.
// nats-server does not lock its store: two servers on one store each take
// the other's writes for damage and rebuild their state, and two projectors
// on one read model interleave their batches. It depends on nothing of the
// module.
package datalock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FileName is the file in a data directory whose lock says which process
// owns the directory.
const FileName = "chancery.lock"

// Serve is the command that owns a data directory for as long as it runs;
// tools hold it only while no serve does.
const Serve = "serve"

// Lock is a held lock on a data directory, kept for the life of the
// process (the kernel releases it when the process ends, however it ends).
type Lock struct{ f *os.File }

// Holder is the process that holds a data directory's lock, as it wrote
// itself into the lock file. The zero Holder is one not known yet.
type Holder struct {
	Command string // "serve", "export", "audit log", ...
	PID     int
}

func (h Holder) String() string {
	if h.Command == "" {
		return "another process"
	}
	return fmt.Sprintf("chancery %s (pid %d)", h.Command, h.PID)
}

// Try takes the lock on dir for command without waiting. When another
// process holds it, it returns no lock and that process.
func Try(dir, command string) (*Lock, Holder, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, Holder{}, fmt.Errorf("lock data directory: %w", err)
	}
	ok, err := flock(f)
	if err != nil {
		f.Close()
		return nil, Holder{}, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		f.Close()
		return nil, holderOf(path), nil
	}
	// Who holds the lock is a hint for messages; a failure to write it
	// leaves the lock held all the same.
	if err := f.Truncate(0); err == nil {
		_, _ = fmt.Fprintf(f, "%s %d\n", command, os.Getpid())
	}
	return &Lock{f: f}, Holder{}, nil
}

// holderOf reads who holds the lock. A holder that has locked the file but
// not written itself yet reads as the previous one, which is known to be
// gone when its process is.
func holderOf(path string) Holder {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Holder{}
	}
	line := strings.TrimSpace(string(raw))
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return Holder{}
	}
	pid, err := strconv.Atoi(line[i+1:])
	if err != nil || !processAlive(pid) {
		return Holder{}
	}
	return Holder{Command: line[:i], PID: pid}
}

// Release clears the holder and lets the lock go.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	_ = l.f.Truncate(0) // the lock goes with the file; a stale name is only a hint
	l.f.Close()
}

// ErrInUse is a data directory another serve owns.
var ErrInUse = errors.New("data directory in use")

// ServedBy is the error of a serve started on a directory another owns.
func ServedBy(dir string, h Holder) error {
	return fmt.Errorf("%w: %s is used by %s; stop it first, or give this one its own --data", ErrInUse, dir, h)
}

// ForServe takes the data directory for serve. Another serve holding it is
// an error at once: one process owns a data directory. A tool holding it
// (one that opened the store while no serve ran) is waited for, with a line
// in the log, since it ends by itself; ctx ends the wait.
func ForServe(ctx context.Context, dir string, logger *slog.Logger) (*Lock, error) {
	var waitingFor Holder
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		l, h, err := Try(dir, Serve)
		if l != nil || err != nil {
			return l, err
		}
		if h.Command == Serve {
			return nil, ServedBy(dir, h)
		}
		if h != waitingFor && h.Command != "" {
			logger.Warn("waiting for the data directory: another process has the event store open", "data", dir, "holder", h.String())
			waitingFor = h
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s to release %s: %w", waitingFor, dir, ctx.Err())
		case <-time.After(delay):
		}
	}
}
