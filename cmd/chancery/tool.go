package main

// What the tools that read the stream (replay, audit, export,
// import-events) share: parsing their flags and opening the event log.

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/natsconn"
)

// parseFlags parses a tool's flags: --help is not an error, a bad flag is a
// usage error, and no positional arguments are taken.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseQuietly(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// parseFlagsAnywhere parses flags that may come before or after the
// positional arguments (`import-events trail.ndjson --nats URL`), which the
// flag package alone stops at, and returns the positional arguments.
func parseFlagsAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseQuietly(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil // after "--" nothing is a flag
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// parseOneArg parses a tool's flags around exactly one positional argument,
// which it returns: --help is not an error, anything else amiss is a usage
// error.
func parseOneArg(fs *flag.FlagSet, args []string, usage string) (string, error) {
	pos, err := parseFlagsAnywhere(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return "", errHelp
	case err != nil:
		return "", usagef("%s: %v", fs.Name(), err)
	case len(pos) != 1:
		return "", usagef("usage: %s (--help for more)", usage)
	}
	return pos[0], nil
}

// flagError turns invalid input that names its fields (an events.EINVALID
// error) into a usage error naming the flags of the same names; any other
// error is returned as is.
func flagError(err error) error {
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.EINVALID {
		return err
	}
	if len(e.Fields) == 0 {
		return usagef("%s", e.Message)
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = "--" + f.Field + ": " + f.Detail
	}
	return usagef("%s", strings.Join(parts, "; "))
}

// openToolLog connects to the stream the way f says and opens the event
// log, which must exist. The context it returns ends when NATS is lost for
// good (see streamFlags.open).
func openToolLog(ctx context.Context, f streamFlags, stderr io.Writer) (*natsconn.Tool, context.Context, *events.Log, error) {
	c, ctx, err := f.open(ctx, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := c.Log(ctx, f.stream)
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	return c, ctx, log, nil
}
