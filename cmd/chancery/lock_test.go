package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chancery/chancery/internal/datalock"
	"github.com/chancery/chancery/internal/natstest"
)

// readNATSURL reads the nats.url that serve published in dir.
func readNATSURL(t *testing.T, dir string) string {
	t.Helper()
	u, err := os.ReadFile(filepath.Join(dir, "nats.url"))
	if err != nil {
		t.Fatal(err)
	}
	return string(u)
}

// wantNATSURL fails the test unless dir's nats.url is still want, the one
// serve wrote; when says after what.
func wantNATSURL(t *testing.T, dir, want, when string) {
	t.Helper()
	if got, err := os.ReadFile(filepath.Join(dir, "nats.url")); err != nil || string(got) != want {
		t.Errorf("nats.url %s: %q, %v; want serve's %q, unchanged", when, got, err, want)
	}
}

// A second serve on a data directory another serve owns refuses to start,
// naming it, and leaves the first one's nats.url and service alone.
func TestSecondServeOnOneDataDirectoryRefuses(t *testing.T) {
	dir := t.TempDir()
	first := startService(t, dir)
	urlBefore := readNATSURL(t, dir)
	_, err := tryStartService(t, dir)
	if !errors.Is(err, datalock.ErrInUse) || !strings.Contains(err.Error(), "chancery serve (pid") {
		t.Fatalf("second serve on %s: %v; want it refused, naming the serve that owns the directory", dir, err)
	}
	wantNATSURL(t, dir, urlBefore, "after the refused start")
	first.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
}

// A tool run while serve runs attaches to serve's server through nats.url
// and leaves the file, which it did not write, in place for the next one.
func TestToolAttachesToARunningServeAndLeavesItsURL(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	recordSeed(t, s)
	urlBefore := readNATSURL(t, dir)
	for range 2 {
		code, out, errOut := runCLI(t, context.Background(), nil, "export", "--data", dir)
		if code != 0 || !strings.Contains(out, `"format":"chancery-export"`) {
			t.Fatalf("export while serve runs: exit %d: %s", code, errOut)
		}
		wantNATSURL(t, dir, urlBefore, "after a tool ran")
	}
	s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
}

// A tool run while no serve runs opens the store itself and holds the data
// directory: a second tool is refused, naming it; a serve started meanwhile
// waits for it and starts when it is done. The tool removes no nats.url it
// did not write.
func TestServeWaitsForAToolThatOpenedTheStore(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	recordSeed(t, s)
	s.stop()
	stale := "nats://chancery:stale@127.0.0.1:1\n"
	if err := os.WriteFile(filepath.Join(dir, "nats.url"), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}

	tool, _, err := streamFlags{command: "export", data: dir}.open(context.Background(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if !strings.HasPrefix(tool.Via, "the store in ") {
		t.Fatalf("the tool connected through %s; want it to open the store itself", tool.Via)
	}
	code, _, errOut := runCLI(t, context.Background(), nil, "audit", "log", "--data", dir)
	if code == 0 || !strings.Contains(errOut, "in use by chancery export (pid") {
		t.Errorf("a second tool while the first holds the store: exit %d, %q; want it refused, naming the first", code, errOut)
	}

	pending := startInBackground(t, dir)
	pending.stillWaiting(time.Second, "while a tool had the store open")
	tool.Close()
	if got, _ := os.ReadFile(filepath.Join(dir, "nats.url")); string(got) != stale {
		t.Errorf("the tool's exit changed nats.url to %q; only serve writes and removes it", got)
	}
	s = pending.started(30*time.Second, "after the tool finished")
	s.Do("POST", "/api/v1/meetings", seedTalks()).Must(t, 201)
	if got, _ := os.ReadFile(filepath.Join(dir, "nats.url")); string(got) == stale {
		t.Error("serve kept the stale nats.url")
	}
}

// A serve on an external NATS publishes no nats.url: a tool given its data
// directory is refused, pointed at --nats, rather than opening the stale
// store that may lie in the directory.
func TestToolOnTheDataOfAServeWithExternalNATSIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "nats"), 0o750); err != nil {
		t.Fatal(err)
	}
	ns := natstest.Start(t, "")
	startService(t, dir, func(o *testServe) { o.nats.url = ns.Srv.ClientURL() })
	code, _, errOut := runCLI(t, context.Background(), nil, "export", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "chancery serve (pid") || !strings.Contains(errOut, "--nats URL") {
		t.Errorf("export --data of a serve on external NATS: exit %d, %q; want refused, naming the serve and --nats", code, errOut)
	}
}
