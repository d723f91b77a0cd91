// Package tooltest is the one rule for a test that needs a program the
// module does not bring with it (an independent iCalendar parser, a
// browser): under CI=true a missing program fails the test, so that CI
// cannot pass having checked less than it claims; anywhere else the test
// is skipped, and the first skip for each program is said on the terminal.
//
// The terminal, because go test shows nothing of a passing package but its
// "ok" line unless -v is given: a skip message, or a line printed to
// stderr, would be seen by nobody.
package tooltest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Require returns the path of the program name, found on PATH; when it is
// not there, it skips or fails tb by the package's rule. hint says how to
// install it.
func Require(tb testing.TB, name, hint string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, name, err, hint)
	}
	return path
}

// Missing skips or fails tb, by the package's rule, for a tool that its
// own check (a library that must be importable, a file that must exist)
// found missing: name names it, why says what is missing, hint how to
// install it.
func Missing(tb testing.TB, name string, why error, hint string) {
	tb.Helper()
	msg := fmt.Sprintf("%s: %v; %s", name, why, hint)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("missing %s (under CI=true a test does not skip for a missing tool)", msg)
	}
	announce(name, msg)
	tb.Skip("missing " + msg)
}

// terminal is where the first skip for each tool is said; the tests
// replace it.
var terminal = func() (io.WriteCloser, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }

var announced sync.Map // tool name → true

// announce says once per test process that tests needing name are skipped:
// on the terminal when there is one, else on stderr (which -v shows).
func announce(name, msg string) {
	if _, done := announced.LoadOrStore(name, true); done {
		return
	}
	line := fmt.Sprintf("%s: skipping the tests that need %s\n", filepath.Base(os.Args[0]), msg)
	if tty, err := terminal(); err == nil {
		defer tty.Close()
		if _, err := io.WriteString(tty, line); err == nil {
			return
		}
	}
	fmt.Fprint(os.Stderr, line)
}
