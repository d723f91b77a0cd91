package main

import (
	"context"
	"io"
)

func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return usagef("audit verify: not available in this build")
}
