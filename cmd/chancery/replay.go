package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/projections"
)

// replayAfterBatch, when set, runs after each committed batch of a replay.
// Tests slow replays down with it to kill them half way.
var replayAfterBatch func()

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("replay", "Usage: chancery replay --out FILE [--until-seq N | --until-time RFC3339] [--data DIR | --nats URL]\n\nRebuilds the read model from the event stream into a new SQLite file, as the\nschedule stood at that point.", getenv, stderr)
	out := fs.String("out", "", "the SQLite file to write (required); FILE.partial holds an unfinished replay, which a second run resumes")
	untilSeq := fs.Uint64("until-seq", 0, "replay events up to this stream sequence (default: all)")
	untilTime := fs.String("until-time", "", "replay events recorded up to this RFC 3339 time")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("replay: --out is required")
	}
	if *untilSeq != 0 && *untilTime != "" {
		return usagef("replay: give --until-seq or --until-time, not both")
	}
	var until time.Time
	if *untilTime != "" {
		t, err := time.Parse(time.RFC3339, *untilTime)
		if err != nil {
			return usagef("replay: --until-time %q is not an RFC 3339 time such as 2022-08-20T00:00:00Z", *untilTime)
		}
		until = t
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return usagef("replay: %s exists (--force overwrites it)", *out)
	}

	c, ctx, err := openStream(ctx, *f, quietLogger(stderr))
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := c.Log(ctx, f.stream, false)
	if err != nil {
		return err
	}
	target := events.Moment{Last: *untilSeq}
	if !until.IsZero() {
		if target, err = l.MomentAt(ctx, until); err != nil {
			return err
		}
		if target.Last == 0 {
			return fmt.Errorf("replay: no event was recorded at or before %s", until.Format(time.RFC3339))
		}
	}
	res, err := replayInto(ctx, *out+".partial", l, target, progressBar(stderr))
	if err != nil {
		return fmt.Errorf("replay stopped at position %d, kept in %s.partial (run the same command again to resume): %w", res.position, *out, c.Explain(err))
	}
	if err := os.Rename(*out+".partial", *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replayed %s events into %s: position %d%s, %s (%s events/s)%s\n",
		thousands(res.applied), *out, res.position, untilNote(*untilSeq, until), res.elapsed.Round(time.Millisecond),
		thousands(uint64(float64(res.applied)/max(res.elapsed.Seconds(), 1e-9))), resumedNote(res.resumedAt))
	return nil
}

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

type replayResult struct {
	position, applied, resumedAt uint64
	elapsed                      time.Duration
}

// replayInto brings the read model in path to exactly the events of until
// (those up to a sequence, or those recorded by a time); until.Last 0 is
// the whole stream.
func replayInto(ctx context.Context, path string, l *events.Log, until events.Moment, progress projections.Progress) (replayResult, error) {
	db, err := projections.Open(ctx, path)
	if err != nil {
		return replayResult{}, err
	}
	defer db.Close()
	from, err := db.Position(ctx)
	if err != nil {
		return replayResult{}, err
	}
	start := time.Now()
	report := func(p, last uint64) {
		if progress != nil {
			progress(p, last)
		}
		if replayAfterBatch != nil {
			replayAfterBatch()
		}
	}
	var pos uint64
	if until.Last == 0 {
		pos, err = projections.Replay(ctx, db, l, 0, report)
	} else {
		pos, err = projections.ReplayMoment(ctx, db, l, until, report)
	}
	res := replayResult{position: pos, applied: pos - from, resumedAt: from, elapsed: time.Since(start)}
	if err != nil {
		return res, err
	}
	return res, db.Close()
}

func untilNote(seq uint64, t time.Time) string {
	switch {
	case !t.IsZero():
		return fmt.Sprintf(" (the last event recorded by %s)", t.UTC().Format(time.RFC3339))
	case seq != 0:
		return fmt.Sprintf(" (--until-seq %d)", seq)
	}
	return ""
}

func resumedNote(from uint64) string {
	if from == 0 {
		return ""
	}
	return fmt.Sprintf("; resumed an interrupted replay at %d", from)
}

// progressBar draws a progress bar on w when it is a terminal; in scripts
// it draws nothing.
func progressBar(w io.Writer) projections.Progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	start := time.Now()
	var first uint64
	return func(pos, last uint64) {
		if first == 0 {
			first = pos
		}
		done := float64(pos) / float64(max(last, 1))
		rate := float64(pos-first) / max(time.Since(start).Seconds(), 1e-3)
		left := "?"
		if rate > 0 {
			left = (time.Duration(float64(last-pos)/rate) * time.Second).Round(time.Second).String()
		}
		const width = 30
		n := int(done * width)
		fmt.Fprintf(f, "\r[%s%s] %3.0f%%  %s/%s events  %s events/s  %s left ",
			strings.Repeat("=", n), strings.Repeat(" ", width-n), done*100, thousands(pos), thousands(last), thousands(uint64(rate)), left)
		if pos >= last {
			fmt.Fprintln(f)
		}
	}
}

// thousands writes n with thin separators: 1 234 567.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
