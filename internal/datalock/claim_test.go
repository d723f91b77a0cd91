//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package datalock

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A directory that does not exist yet is claimed, then made and locked by
// Take, which removes what a crashed serve left behind.
func TestTakeMakesTheDirectoryLocksItAndRemovesLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, err := ClaimForServe(dir, filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ClaimForServe made %s before Take: %v", dir, err)
	}
	noWait := func(h Holder) {
		if h != (Holder{}) {
			t.Errorf("Take waited for %s; nobody held the directory", h)
		}
	}
	if err := c.Take(context.Background(), slog.New(slog.DiscardHandler), noWait, "nats.url"); err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if _, h, _ := Try(dir, "export"); h.Command != Serve {
		t.Errorf("after Take the lock is held by %+v, want serve", h)
	}

	c.Release()
	if err := os.WriteFile(filepath.Join(dir, "nats.url"), []byte("nats://127.0.0.1:1"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := ClaimForServe(dir, filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if err := again.Take(context.Background(), slog.New(slog.DiscardHandler), noWait, "nats.url"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats.url")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale nats.url is still there: %v", err)
	}
}

// Another serve's directory and one whose store takes no file are refused
// before anything is taken.
func TestClaimRefusesAServedOrUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := Try(dir, Serve)
	if _, err := ClaimForServe(dir, filepath.Join(dir, "nats")); !errors.Is(err, ErrInUse) {
		t.Errorf("claim of a served directory: %v, want ErrInUse", err)
	}
	s.Release()

	notDir := filepath.Join(dir, "nats")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ClaimForServe(dir, notDir); err == nil {
		t.Error("claim of a directory whose store takes no file: no error")
	}
	if l, _, _ := Try(dir, "export"); l == nil {
		t.Error("a refused claim kept the lock")
	} else {
		l.Release()
	}
}

// A tool holding the directory at the claim is named to waiting and waited
// for; once it is done, Take holds the lock.
func TestTakeWaitsForTheToolThatHeldTheDirectory(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	tool, _, _ := Try(dir, "export")
	c, err := ClaimForServe(dir, filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	var waitedFor Holder
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Take(ctx, logger, func(h Holder) { waitedFor = h }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take while a tool holds the directory: %v, want it to wait until ctx ends", err)
	}
	if want := (Holder{Command: "export", PID: os.Getpid()}); waitedFor != want {
		t.Errorf("waited for %+v, want %+v", waitedFor, want)
	}
	tool.Release()
	if err := c.Take(context.Background(), logger, func(Holder) {}); err != nil {
		t.Fatal(err)
	}
	c.Release()
}
