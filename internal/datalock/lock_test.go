//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package datalock

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestSecondHolderIsRefusedNamingTheFirst(t *testing.T) {
	dir := t.TempDir()
	first, _, err := Try(dir, "export")
	if err != nil || first == nil {
		t.Fatalf("first lock: %v, %v", first, err)
	}
	second, h, err := Try(dir, "audit log")
	if err != nil || second != nil {
		t.Fatalf("second lock: %v, %v; want none", second, err)
	}
	if want := (Holder{Command: "export", PID: os.Getpid()}); h != want {
		t.Errorf("holder %+v, want %+v", h, want)
	}
	first.Release()
	again, _, err := Try(dir, "audit log")
	if err != nil || again == nil {
		t.Fatalf("lock after release: %v, %v", again, err)
	}
	again.Release()
}

func TestServeIsRefusedByAServeAndWaitsForATool(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	s, _, _ := Try(dir, Serve)
	if _, err := ForServe(context.Background(), dir, logger); !errors.Is(err, ErrInUse) {
		t.Fatalf("serve on a served directory: %v, want ErrInUse", err)
	}
	s.Release()

	tool, _, _ := Try(dir, "export")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := ForServe(ctx, dir, logger); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("serve while a tool holds the directory: %v, want it to wait until ctx ends", err)
	}
	tool.Release()
	l, err := ForServe(context.Background(), dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
}
