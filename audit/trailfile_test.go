package audit

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A trail from stdin is checked whole and then reads again from its start,
// as import-events reads it (check, then publish); its copy is gone once
// closed.
func TestTrailFromStdinChecksThenReadsAgain(t *testing.T) {
	_, trail, end := talksTrail(t)
	f, err := OpenTrail("-", strings.NewReader(trail))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.Check()
	if err != nil || sum.End != end {
		t.Fatalf("Check = %+v, %v; want the export's end %+v", sum.End, err, end)
	}
	again, _ := io.ReadAll(f)
	if string(again) != trail || f.Label != "stdin" {
		t.Errorf("after the check, %s read %d bytes, want the whole trail of %d", f.Label, len(again), len(trail))
	}
	copyPath := f.File.Name()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy of stdin %s is still there (%v)", copyPath, err)
	}
}

// A named trail is read in place and left alone; a broken one fails its
// check naming the file and line.
func TestNamedTrailIsCheckedInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.ndjson")
	if err := os.WriteFile(path, []byte("not a trail\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenTrail(path, nil)
	if err != nil || f.Label != path {
		t.Fatalf("OpenTrail(%s) = %v, %v; want it labelled with its path", path, f, err)
	}
	var te *TrailError
	if _, err := f.Check(); !errors.As(err, &te) || te.Name != path || te.Line != 1 {
		t.Errorf("Check of a broken trail = %v, want line 1 of %s named", err, path)
	}
	f.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("closing a named trail removed it: %v", err)
	}
	if _, err := OpenTrail(filepath.Join(t.TempDir(), "absent"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenTrail of an absent file = %v, want not exist", err)
	}
}
