package audit

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A trail from stdin reads twice, as import-events reads it (check, then
// publish), and its copy is gone once closed; a named file is left alone.
func TestTrailFromStdinReadsTwiceAndLeavesNoCopy(t *testing.T) {
	const trail = "line one\nline two\n"
	f, err := OpenTrail("-", strings.NewReader(trail))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(f)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	second, _ := io.ReadAll(f)
	if string(first) != trail || string(second) != trail || f.Label != "stdin" {
		t.Errorf("read %q then %q as %q, want %q twice as stdin", first, second, f.Label, trail)
	}
	copyPath := f.File.Name()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy of stdin %s is still there (%v)", copyPath, err)
	}

	path := filepath.Join(t.TempDir(), "trail.ndjson")
	if err := os.WriteFile(path, []byte(trail), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = OpenTrail(path, nil)
	if err != nil || f.Label != path {
		t.Fatalf("OpenTrail(%s) = %v, %v; want it labelled with its path", path, f, err)
	}
	f.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("closing a named trail removed it: %v", err)
	}
	if _, err := OpenTrail(filepath.Join(t.TempDir(), "absent"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenTrail of an absent file = %v, want not exist", err)
	}
}
