package main

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

// lockName is the file in a data directory whose lock says which process
// owns the directory. nats-server does not lock its store: two servers on
// one store each take the other's writes for damage and rebuild their
// state, and two projectors on one read model interleave their batches.
const lockName = "chancery.lock"

// dataLock is a held lock on a data directory, kept for the life of the
// process (the kernel releases it when the process ends, however it ends).
type dataLock struct{ f *os.File }

// holder is the process that holds a data directory's lock, as it wrote
// itself into the lock file. The zero holder is one not known yet.
type holder struct {
	command string // "serve", "export", "audit log", ...
	pid     int
}

func (h holder) String() string {
	if h.command == "" {
		return "another process"
	}
	return fmt.Sprintf("chancery %s (pid %d)", h.command, h.pid)
}

// tryLockData takes the lock on dir for command without waiting. When
// another process holds it, it returns no lock and that process.
func tryLockData(dir, command string) (*dataLock, holder, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, holder{}, fmt.Errorf("lock data directory: %w", err)
	}
	ok, err := flock(f)
	if err != nil {
		f.Close()
		return nil, holder{}, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		f.Close()
		return nil, lockHolder(path), nil
	}
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("%s %d\n", command, os.Getpid())), 0)
	return &dataLock{f: f}, holder{}, nil
}

// lockHolder reads who holds the lock. A holder that has locked the file
// but not written itself yet reads as the previous one, which is known to
// be gone when its process is.
func lockHolder(path string) holder {
	raw, err := os.ReadFile(path)
	if err != nil {
		return holder{}
	}
	line := strings.TrimSpace(string(raw))
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return holder{}
	}
	pid, err := strconv.Atoi(line[i+1:])
	if err != nil || !processAlive(pid) {
		return holder{}
	}
	return holder{command: line[:i], pid: pid}
}

// release clears the holder and lets the lock go.
func (l *dataLock) release() {
	if l == nil {
		return
	}
	l.f.Truncate(0)
	l.f.Close()
}

// errDataInUse is a data directory another serve owns.
var errDataInUse = errors.New("data directory in use")

// servedBy is the error of a serve started on a directory another owns.
func servedBy(dir string, h holder) error {
	return fmt.Errorf("%w: %s is used by %s; stop it first, or give this one its own --data", errDataInUse, dir, h)
}

// lockForServe takes the data directory for serve. Another serve holding
// it is an error at once: one process owns a data directory. A tool holding
// it (one that opened the store while no serve ran) is waited for, with a
// line in the log, since it ends by itself; ctx ends the wait.
func lockForServe(ctx context.Context, dir string, logger *slog.Logger) (*dataLock, error) {
	var waitingFor holder
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		l, h, err := tryLockData(dir, "serve")
		if l != nil || err != nil {
			return l, err
		}
		if h.command == "serve" {
			return nil, servedBy(dir, h)
		}
		if h != waitingFor && h.command != "" {
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
