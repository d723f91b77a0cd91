package audit

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// verifyLimit is how many differing rows Verify names.
const verifyLimit = 10

// verifyAttempts bounds how often Verify catches up with a read model that
// keeps moving.
const verifyAttempts = 5

// Verdict is how a live read model compares with a rebuild from the stream.
type Verdict struct {
	Path     string                   // the live read model
	Position uint64                   // the stream position both were compared at
	Diffs    []projections.Difference // the first rows that differ; none when equal
}

// Verify rebuilds the read model from the stream into a temporary file and
// compares it with live, table by table and row by row. A live model that
// has applied no events is an error: there is nothing to compare.
func Verify(ctx context.Context, live *projections.DB, l *events.Log) (Verdict, error) {
	v := Verdict{Path: live.Path()}
	tmp, err := os.MkdirTemp("", "chancery-verify-")
	if err != nil {
		return v, err
	}
	defer os.RemoveAll(tmp)
	rebuilt := filepath.Join(tmp, "rebuilt.db")

	// A running service may apply events while we compare: rebuild to its
	// position, compare, and if it moved on meanwhile, catch up and again.
	for range verifyAttempts {
		if v.Position, err = live.Position(ctx); err != nil {
			return v, err
		}
		if v.Position == 0 {
			return v, fmt.Errorf("%s has applied no events", v.Path)
		}
		if _, err := Replay(ctx, rebuilt, l, ReplayOptions{Until: events.Moment{Last: v.Position}}); err != nil {
			return v, err
		}
		if v.Diffs, err = compare(ctx, live, rebuilt); err != nil {
			return v, err
		}
		now, err := live.Position(ctx)
		if err != nil {
			return v, err
		}
		if now == v.Position {
			break
		}
	}
	return v, nil
}

func compare(ctx context.Context, live *projections.DB, rebuilt string) ([]projections.Difference, error) {
	ref, err := projections.OpenReadOnly(ctx, rebuilt)
	if err != nil {
		return nil, err
	}
	defer ref.Close()
	return projections.Compare(ctx, live, ref, verifyLimit)
}

// Report writes the verdict to w: "ok: …" when the models are equal, else
// the first differing rows, and then returns an error naming the first.
func (v Verdict) Report(w io.Writer) error {
	if len(v.Diffs) == 0 {
		_, err := fmt.Fprintf(w, "ok: %s equals a rebuild from the stream at position %d\n", v.Path, v.Position)
		return err
	}
	fmt.Fprintf(w, "%s differs from a rebuild from the stream at position %d; first differing rows:\n", v.Path, v.Position)
	for _, d := range v.Diffs {
		fmt.Fprintln(w, d)
	}
	return fmt.Errorf("the read model differs from the stream (%s %s first)", v.Diffs[0].Table, v.Diffs[0].Key)
}
