package main

// `chancery audit`: the questions an auditor asks of the record. `log` lists
// who changed what, when and from which source; `show` tells one meeting's
// or visit's whole story as diffs; `verify` (verify.go) compares the live
// read model with a rebuild; `check-export` (export.go) checks a trail
// offline. The answers are package audit's; docs/audit.md documents the
// output formats.

import (
	"context"
	"fmt"
	"io"

	"github.com/chancery/chancery/audit"
	"github.com/chancery/chancery/events"
)

const auditUsage = `Usage: chancery audit COMMAND [flags]

Commands:
  log                 who changed what, when and from which source, in stream order
  show ID             one meeting's or visit's whole story, each change as a diff
  verify              rebuild the read model and compare it with the live one
  check-export FILE   verify an export's hash chain offline

Run 'chancery audit COMMAND --help' for a command's flags.
`

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return usagef("audit: no command given")
	}
	switch args[0] {
	case "log":
		return runAuditLog(ctx, args[1:], getenv, stdout, stderr)
	case "show":
		return runAuditShow(ctx, args[1:], getenv, stdout, stderr)
	case "verify":
		return runAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "check-export":
		// run does not hand stdin to audit; "-" reads the process's own.
		return runCheckExport(args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	fmt.Fprint(stderr, auditUsage)
	return usagef("audit: unknown command %q", args[0])
}

func runAuditLog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("audit log", `Usage: chancery audit log [--aggregate ID] [--actor NAME] [--since T] [--until T] [--type T] [--format table|json|csv]

Lists who changed what, when and from which source, in stream order: one row
per event with its sequence, the time it was recorded, the actor, the event
type, the meeting or visit, a summary of the change and the source's URL when
the event names one. See docs/audit.md.`, getenv, stderr)
	aggregate := fs.String("aggregate", "", "only the events of this meeting or visit id")
	actor := fs.String("actor", "", "only the events recorded by this actor (an API token's name; case-insensitive)")
	since := fs.String("since", "", "only events recorded at or after this RFC 3339 time or date (YYYY-MM-DD, UTC)")
	until := fs.String("until", "", "only events recorded at or before this RFC 3339 time or date (through its end, UTC)")
	typ := fs.String("type", "", "only events of this type, e.g. meeting.rescheduled")
	format := fs.String("format", "table", "output: table, json (one JSON array) or csv (with a header row)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q, err := audit.NewQuery(*aggregate, *actor, *typ, *since, *until)
	if err != nil {
		return flagError(err)
	}
	out, err := audit.NewLogWriter(*format, stdout)
	if err != nil {
		return flagError(err)
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := audit.WriteLog(ctx, log, q, out); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

func runAuditShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("audit show", `Usage: chancery audit show ID [--format text|json] [--data DIR | --nats URL]

Prints one meeting's or visit's whole story: each of its events in order, who
recorded it and when, and the fields it changed (old → new), found by folding
the events one by one. Bookkeeping fields (id, version, sequence, updated_at)
are left out. See docs/audit.md.`, getenv, stderr)
	format := fs.String("format", "text", "output: text, or json (one object with the events and their changes)")
	id, err := parseOneArg(fs, args, "chancery audit show ID")
	if err != nil {
		return err
	}
	if events.AggregateTypeOf(id) == "" {
		return usagef("audit show: %q is not a meeting or visit id", id)
	}
	if *format != "text" && *format != "json" {
		return usagef("--format: %q is not text or json", *format)
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	story, err := audit.StoryOf(ctx, log, id)
	if events.ErrorCode(err) == events.ENOTFOUND {
		return fmt.Errorf("audit show: %w in stream %s (%s)", err, f.stream, c.Via)
	} else if err != nil {
		return fmt.Errorf("audit show: %w", err)
	}
	if *format == "json" {
		return story.WriteJSON(stdout)
	}
	return story.WriteText(stdout)
}
