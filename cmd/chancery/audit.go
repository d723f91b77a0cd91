package main

import (
	"context"
	"io"
)

// Placeholders: the audit log, export and import tools are being written.

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return runAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	}
	return usagef("usage: chancery audit verify [flags]")
}

func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return usagef("export: not available in this build")
}

func runImportEvents(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return usagef("import-events: not available in this build")
}
