package natsconn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/datalock"
	"github.com/chancery/chancery/internal/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// storeDir is a data directory with an (empty) event store in it.
func storeDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "nats"), 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestToolRefusesADataDirectoryWithoutAStore(t *testing.T) {
	dir := t.TempDir()
	_, _, err := OpenTool(context.Background(), ToolOptions{Command: "export", Data: dir, GiveUpAfter: time.Minute}, quiet)
	if !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("OpenTool on %s = %v, want ErrNoStore naming the directory", dir, err)
	}
}

// With nothing running in the data directory, a tool opens the store
// itself and holds the directory until it closes: a second tool is
// refused, naming the first.
func TestToolOpensAStoppedStoreAndHoldsTheDirectory(t *testing.T) {
	dir := storeDir(t)
	o := ToolOptions{Command: "export", Data: dir, GiveUpAfter: time.Minute}
	first, ctx, err := OpenTool(context.Background(), o, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := "the store in " + filepath.Join(dir, "nats"); first.Via != want {
		t.Errorf("Via = %q, want %q", first.Via, want)
	}
	if _, err := first.Log(ctx, events.DefaultStream); err == nil || !strings.Contains(err.Error(), "no stream "+events.DefaultStream+" in the store in") {
		t.Errorf("Log of an absent stream = %v, want it named as absent", err)
	}
	if _, _, err := OpenTool(context.Background(), ToolOptions{Command: "audit log", Data: dir, GiveUpAfter: time.Minute}, quiet); err == nil || !strings.Contains(err.Error(), "in use by chancery export (pid") {
		t.Errorf("a second tool while the first holds the store: %v, want it refused, naming the first", err)
	}
	first.Close()
	second, _, err := OpenTool(context.Background(), o, quiet)
	if err != nil {
		t.Fatalf("a tool after the first closed: %v", err)
	}
	second.Close()
}

// While a serve holds the data directory, a tool attaches to its NATS
// through DATA/nats.url; a serve that publishes none (on an external NATS)
// is refused.
func TestToolAttachesToTheRunningServesNATS(t *testing.T) {
	dir := storeDir(t)
	lock, _, err := datalock.Try(dir, datalock.Serve)
	if err != nil || lock == nil {
		t.Fatalf("lock %s as serve: %v", dir, err)
	}
	defer lock.Release()
	o := ToolOptions{Command: "export", Data: dir, GiveUpAfter: time.Minute}
	if _, _, err := OpenTool(context.Background(), o, quiet); err == nil || !strings.Contains(err.Error(), "publishes no") {
		t.Errorf("a serve without nats.url: %v, want the tool refused", err)
	}

	ns := natstest.Start(t, "")
	if err := os.WriteFile(filepath.Join(dir, "nats.url"), []byte(ns.Srv.ClientURL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tool, _, err := OpenTool(context.Background(), o, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if !strings.HasPrefix(tool.Via, "the running service's NATS") || tool.Conn.ConnectedUrl() != ns.Srv.ClientURL() {
		t.Errorf("connected to %s via %q, want the serve's %s", tool.Conn.ConnectedUrl(), tool.Via, ns.Srv.ClientURL())
	}
}

// A NATS that does not come back within GiveUpAfter ends the tool's
// context, and Explain turns the error of the work it cut short into why.
func TestToolGivesUpALostNATSAndSaysWhy(t *testing.T) {
	ns := natstest.Start(t, "")
	tool, ctx, err := OpenTool(context.Background(), ToolOptions{Conn: Options{URL: ns.Srv.ClientURL()}, GiveUpAfter: 100 * time.Millisecond}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if err := tool.Explain(errors.New("unrelated")); err.Error() != "unrelated" {
		t.Errorf("Explain while connected = %v, want the error as is", err)
	}
	ns.Stop()
	<-ctx.Done()
	err = tool.Explain(ctx.Err())
	if !errors.Is(err, errLost) || !strings.Contains(err.Error(), "not back within 100ms") {
		t.Errorf("Explain after NATS stayed away = %v, want it lost, not back within 100ms", err)
	}
	if !tool.Conn.IsClosed() {
		t.Error("the connection is still open after giving up")
	}
}
