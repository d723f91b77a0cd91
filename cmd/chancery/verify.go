package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/chancery/chancery/audit"
	"github.com/chancery/chancery/projections"
)

// runAuditVerify compares the live read model with a rebuild from the
// stream (audit.Verify).
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
	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := audit.Verify(ctx, live, log)
	if err == nil {
		err = v.Report(stdout)
	}
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	return nil
}
