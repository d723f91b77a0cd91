package main

import (
	"context"
	"io"
)

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return usagef("replay: not available in this build")
}
