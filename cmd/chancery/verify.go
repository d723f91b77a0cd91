package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// verifyLimit is how many differing rows verify names.
const verifyLimit = 10

// runAuditVerify rebuilds the read model from the stream into a temporary
// file and compares it with the live one, table by table and row by row.
func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("audit verify", "Usage: chancery audit verify [--data DIR | --nats URL --db FILE]\n\nRebuilds the read model from the stream into a temporary file and compares it\nwith the live one. Exit 0 when they are equal; exit 1 naming the first rows\nthat differ.", getenv, stderr)
	dbPath := fs.String("db", "", "the live read model (default DATA/chancery.db)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dbPath == "" {
		*dbPath = filepath.Join(f.data, "chancery.db")
	}
	live, err := projections.OpenReadOnly(ctx, *dbPath)
	if err != nil {
		return usagef("audit verify: no read model at %s: %v", *dbPath, err)
	}
	defer live.Close()
	c, ctx, err := openStream(ctx, *f, quietLogger(stderr))
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := c.Log(ctx, f.stream, false)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "chancery-verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rebuilt := filepath.Join(tmp, "rebuilt.db")

	// A running service may apply events while we compare: rebuild to its
	// position, compare, and if it moved on meanwhile, catch up and again.
	var diffs []projections.Difference
	var pos uint64
	for attempt := 0; ; attempt++ {
		if pos, err = live.Position(ctx); err != nil {
			return err
		}
		if pos == 0 {
			return fmt.Errorf("audit verify: %s has applied no events", *dbPath)
		}
		if _, err := replayInto(ctx, rebuilt, l, events.Moment{Last: pos}, nil); err != nil {
			return err
		}
		ref, err := projections.OpenReadOnly(ctx, rebuilt)
		if err != nil {
			return err
		}
		diffs, err = projections.Compare(ctx, live, ref, verifyLimit)
		ref.Close()
		if err != nil {
			return err
		}
		now, err := live.Position(ctx)
		if err != nil {
			return err
		}
		if now == pos || attempt == 4 {
			break
		}
	}
	if len(diffs) == 0 {
		fmt.Fprintf(stdout, "ok: %s equals a rebuild from the stream at position %d\n", *dbPath, pos)
		return nil
	}
	fmt.Fprintf(stdout, "%s differs from a rebuild from the stream at position %d; first differing rows:\n", *dbPath, pos)
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	return fmt.Errorf("audit verify: the read model differs from the stream (%s %s first)", diffs[0].Table, diffs[0].Key)
}
