package fleet

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main runs a fleet command: run gets a context that ends at SIGINT,
// SIGTERM or after timeout, so that every run stops by itself and cleans
// up. The exit code is 1 when run fails or reports a missed aim.
func Main(name string, timeout time.Duration, run func(ctx context.Context) (bool, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	ok, err := run(ctx)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	if !ok {
		fmt.Println("RESULT: an aim was missed")
		os.Exit(1)
	}
	fmt.Println("RESULT: every aim met")
}

// Logf prints one timestamped line of a run's progress.
func Logf(format string, args ...any) {
	fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Aims collects a run's verdicts, to print at the end.
type Aims struct {
	lines []string
	Met   bool
}

// NewAims starts with every aim met.
func NewAims() *Aims { return &Aims{Met: true} }

// Check records whether one aim was met.
func (a *Aims) Check(ok bool, format string, args ...any) {
	mark := "ok  "
	if !ok {
		mark, a.Met = "MISS", false
	}
	a.lines = append(a.lines, fmt.Sprintf("aim %s %s", mark, fmt.Sprintf(format, args...)))
}

// Print writes the verdicts.
func (a *Aims) Print() {
	for _, l := range a.lines {
		fmt.Println(l)
	}
}
