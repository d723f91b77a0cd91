package datalock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// A Claim is serve's hold on its data directory, taken in two steps around
// opening its port: ClaimForServe refuses at once what must be refused,
// before the port is taken, and Take, with the port answering probes,
// makes the directory and waits for a tool that has the store open.
type Claim struct {
	dir, store string
	lock       *Lock
	holder     Holder // who held the directory at ClaimForServe, if anyone
}

// ClaimForServe refuses a data directory that another serve owns, or that
// (or whose event store) cannot be written, and takes its lock when nobody
// holds it. A directory that does not exist yet is made and locked by
// Take, once the port is known to be free.
func ClaimForServe(dir, store string) (*Claim, error) {
	c := &Claim{dir: dir, store: store}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err := Writable(dir, store); err != nil {
		return nil, err
	}
	lock, h, err := Try(dir, Serve)
	if err != nil {
		return nil, err
	}
	if lock == nil && h.Command == Serve {
		return nil, ServedBy(dir, h)
	}
	c.lock, c.holder = lock, h
	return c, nil
}

// Take makes the data directory if need be and holds its lock. When
// ClaimForServe did not take the lock (a tool held it, or there was no
// directory), Take waits for it (ForServe), telling waiting first whom it
// waits for, as far as ClaimForServe saw. Once the lock is held no other
// serve runs here, so leftovers, the files in the directory that only a
// running serve keeps (the embedded server's URL), were left by one that
// crashed and point nowhere: they are removed.
func (c *Claim) Take(ctx context.Context, logger *slog.Logger, waiting func(Holder), leftovers ...string) error {
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := Writable(c.dir, c.store); err != nil {
		return err
	}
	if c.lock == nil {
		waiting(c.holder)
		var err error
		if c.lock, err = ForServe(ctx, c.dir, logger); err != nil {
			return err
		}
	}
	for _, name := range leftovers {
		if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove a leftover of an earlier serve: %w", err)
		}
	}
	return nil
}

// Release lets the data directory go.
func (c *Claim) Release() {
	c.lock.Release()
	c.lock = nil
}
