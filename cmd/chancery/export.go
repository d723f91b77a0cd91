package main

// `chancery export`, `chancery audit check-export` and `chancery
// import-events`: the trail format, its chain and its check are in package
// audit (audit/trail.go); here are the flags and the connections.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chancery/chancery/audit"
)

func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("export", `Usage: chancery export [--until-seq N | --until-time TIME] [--data DIR | --nats URL] > trail.ndjson

Writes the event log to stdout as NDJSON: a header line, one line per event
with its stream sequence, subject, Nats-Msg-Id, the envelope exactly as stored
and a SHA-256 hash chained to the line before, and an end line with the count
and the chain's head. Check it offline with 'chancery audit check-export';
load it into an empty stream with 'chancery import-events'. See docs/audit.md.`, getenv, stderr)
	until := untilFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	untilSeq, at, err := until()
	if err != nil {
		return err
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	bound, err := audit.ExportBound(ctx, log, untilSeq, at)
	if err != nil {
		return err
	}
	if len(bound.Later) > 0 {
		fmt.Fprintf(stderr, "note: %d of the events up to seq %d were recorded after %s (writers raced); the trail includes them\n",
			len(bound.Later), bound.Last, at.UTC().Format(time.RFC3339))
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	end, err := audit.ExportTrail(ctx, c.JS, f.stream, bound.Last, time.Now(), w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %s from %s in %s\n", end, f.stream, c.Via)
	return nil
}

func runCheckExport(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit check-export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: chancery audit check-export FILE

Verifies an export offline (no NATS needed): the header, every line's place in
the SHA-256 hash chain, the sequence numbers and the end line. Prints one line
"ok: N events, seq 1..N, head HASH" and exits 0, or names the first bad line
and why, and exits 1. FILE "-" reads stdin. See docs/audit.md.
`)
	}
	path, err := parseOneArg(fs, args, "chancery audit check-export FILE")
	if err != nil {
		return err
	}
	file, sum, err := openTrail(path, stdin)
	if err != nil {
		return err
	}
	defer file.Close()
	fmt.Fprintln(stdout, "ok: "+sum.End.String())
	return nil
}

func runImportEvents(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, f := toolFlags("import-events", `Usage: chancery import-events FILE [--nats URL | --data DIR] [--replicas N]

Loads a trail written by 'chancery export' into an empty or absent stream,
reproducing it exactly: the same sequences, subjects, Nats-Msg-Id headers and
event bytes. The whole trail is checked first; a trail that fails the check is
refused and nothing is stored. FILE "-" reads stdin. See docs/audit.md.`, getenv, stderr)
	replicas := fs.Int("replicas", 1, "stream replicas when the stream is created (3 on a cluster)")
	path, err := parseOneArg(fs, args, "chancery import-events FILE [flags]")
	if err != nil {
		return err
	}
	if *replicas < 1 || *replicas > 5 {
		return usagef("--replicas: %d is not between 1 and 5", *replicas)
	}
	file, sum, err := openTrail(path, stdin)
	if err != nil {
		return fmt.Errorf("%w (nothing imported)", err)
	}
	defer file.Close()

	if f.nats.url == "" {
		// A new data directory is a fine target: serve then starts on the
		// imported stream.
		if err := os.MkdirAll(filepath.Join(f.data, "nats"), 0o750); err != nil {
			return err
		}
	}
	c, ctx, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	to := audit.ImportTarget{Conn: c.Conn, Stream: f.stream, Replicas: *replicas, Via: c.Via}
	if err := audit.ImportInto(ctx, to, file, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s into %s in %s\n", sum.End, f.stream, c.Via)
	return nil
}

// openTrail opens the trail FILE names (audit.OpenTrail) and checks it
// whole, ready to be read again from its start. A file that cannot be
// opened is bad input.
func openTrail(path string, stdin io.Reader) (*audit.TrailFile, audit.TrailSummary, error) {
	f, err := audit.OpenTrail(path, stdin)
	if err != nil {
		if path != "-" {
			err = usagef("%v", err)
		}
		return nil, audit.TrailSummary{}, err
	}
	sum, err := f.Check()
	if err != nil {
		f.Close()
		return nil, sum, err
	}
	return f, sum, nil
}
