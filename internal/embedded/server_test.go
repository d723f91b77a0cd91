package embedded

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/chancery/chancery/events"
)

// A published server is reachable through nats.url by a client outside the
// process's in-process connection, and its shutdown removes the file.
func TestPublishedServerIsReachableAndShutdownRemovesItsURL(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Publish(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, URLFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("nats.url: %v, %v; want it with mode 0600", fi, err)
	}
	raw, _ := os.ReadFile(path)
	nc, err := nats.Connect(string(raw))
	if err != nil {
		t.Fatalf("connect through nats.url: %v", err)
	}
	nc.Close()
	in, err := nats.Connect("", e.ClientOptions()...)
	if err != nil {
		t.Fatalf("connect in-process: %v", err)
	}
	in.Close()
	e.Shutdown()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("nats.url after shutdown: %v, want it removed", err)
	}
}

// The guard turns a critical write error the server logs into an
// EUNAVAILABLE error, and ignores other errors.
func TestGuardReportsAStoreWriteErrorAsUnavailable(t *testing.T) {
	g := newGuard(t.TempDir(), func() error { return nil })
	g.noticed("some other error")
	if err := g.Err(); err != nil {
		t.Fatalf("after an unrelated error: %v, want nil", err)
	}
	g.noticed("Critical write error: no space left on device")
	if err := g.Err(); events.ErrorCode(err) != events.EUNAVAILABLE {
		t.Fatalf("after a write error: %v, want EUNAVAILABLE", err)
	}
}
