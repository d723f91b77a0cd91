package tooltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes a failure or a skip instead of
// ending the test that runs it.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// run runs f on a recorder in a goroutine of its own, which Fatalf and
// Skip end as they end a test.
func run(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// onTerminal sends what announce says to the returned buffer.
func onTerminal(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	saved := terminal
	terminal = func() (io.WriteCloser, error) { return nopCloser{&buf}, nil }
	t.Cleanup(func() { terminal = saved })
	return &buf
}

func TestMissingToolFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	said := onTerminal(t)
	r := run(t, func(tb testing.TB) { Missing(tb, "ci-parser", errors.New("not installed"), "run install-it") })
	if !r.failed || r.skipped {
		t.Fatalf("under CI=true: failed %v, skipped %v; want a failure", r.failed, r.skipped)
	}
	for _, want := range []string{"ci-parser", "not installed", "run install-it"} {
		if !strings.Contains(r.msg, want) {
			t.Errorf("failure %q does not say %q", r.msg, want)
		}
	}
	if said.Len() != 0 {
		t.Errorf("a failure was also said on the terminal: %q", said)
	}
}

func TestMissingToolSkipsOutsideCIAndSaysSoOnce(t *testing.T) {
	for _, ci := range []string{"", "false"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			said := onTerminal(t)
			name := "laptop-parser-" + ci
			for range 3 {
				r := run(t, func(tb testing.TB) { Missing(tb, name, errors.New("not installed"), "run install-it") })
				if !r.skipped || r.failed {
					t.Fatalf("failed %v, skipped %v; want a skip", r.failed, r.skipped)
				}
			}
			lines := strings.Split(strings.TrimSuffix(said.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], name) || !strings.Contains(lines[0], "run install-it") {
				t.Fatalf("the terminal got %q, want one line naming the tool and how to install it", said)
			}
		})
	}
}

func TestRequireLooksOnPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "present-tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("CI", "true")
	onTerminal(t)
	var path string
	if r := run(t, func(tb testing.TB) { path = Require(tb, "present-tool", "") }); r.failed || r.skipped {
		t.Errorf("a tool on PATH: failed %v, skipped %v (%s)", r.failed, r.skipped, r.msg)
	}
	if want := filepath.Join(dir, "present-tool"); path != want {
		t.Errorf("Require returned %q, want %q", path, want)
	}
	if r := run(t, func(tb testing.TB) { Require(tb, "absent-tool", "install absent-tool") }); !r.failed {
		t.Errorf("a tool not on PATH under CI=true did not fail the test")
	}
}
