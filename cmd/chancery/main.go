// Command chancery runs the Chancery service and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones for venues and subscribers on any machine, with or without a zone database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, errHelp) {
		fmt.Fprintln(os.Stderr, "chancery:", err)
	}
	os.Exit(exitCode(err))
}

// usageError is bad usage or invalid input: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errHelp is returned after help was printed on request.
var errHelp = errors.New("help requested")

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

const usage = `chancery — an event-sourced calendar of diplomatic engagements

Usage:
  chancery serve [flags]          run the service (embedded NATS, SQLite, HTTP API)
  chancery config check FILE      validate a config file without starting
  chancery replay --out FILE      rebuild the read model from the stream, as it stood at a point
  chancery audit log|show|verify|check-export
                                  who changed what and when; verify the read model; check an export
  chancery export                 the whole log as NDJSON with a SHA-256 hash chain
  chancery import-events FILE     load an export into an empty stream
  chancery version                print the version

Run 'chancery COMMAND --help' for a command's flags.
`

// run is the whole program, with its environment passed in so tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		return runConfig(args[1:], getenv, stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout)
	case "replay":
		return runReplay(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "export":
		return runExport(ctx, args[1:], getenv, stdout, stderr)
	case "import-events":
		return runImportEvents(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (chancery help lists them)", args[0])
}

// parseQuietly parses flags without the flag package's own output on a
// bad flag (its message and the whole usage), so that the error is the one
// line main prints; --help still prints the usage.
func parseQuietly(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
	}
	return err
}
