package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chancery/chancery/audit"
)

// replayAfterBatch, when set, runs after each committed batch of a replay.
// Tests slow replays down with it to kill them half way.
var replayAfterBatch func()

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("replay", "Usage: chancery replay --out FILE [--until-seq N | --until-time TIME] [--data DIR | --nats URL]\n\nRebuilds the read model from the event stream into a new SQLite file, as the\nschedule stood at that point.", getenv, stderr)
	out := fs.String("out", "", "the SQLite file to write (required); FILE.partial holds an unfinished replay, which a second run resumes")
	untilSeq := fs.Uint64("until-seq", 0, "replay events up to this stream sequence (default: all)")
	untilTime := fs.String("until-time", "", "replay events recorded up to this time: RFC 3339, or a date (its whole UTC day)")
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
	var at time.Time
	bound := ""
	switch {
	case *untilTime != "":
		t, err := parseTimeFlag("replay: --until-time", *untilTime, true)
		if err != nil {
			return err
		}
		at, bound = t, "the last event recorded by "+t.UTC().Format(time.RFC3339)
	case *untilSeq != 0:
		bound = fmt.Sprintf("--until-seq %d", *untilSeq)
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return usagef("replay: %s exists (--force overwrites it)", *out)
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	o := audit.ReplayOptions{Progress: audit.ProgressBar(stderr, time.Now)}
	if o.Until, err = audit.ReplayUntil(ctx, log, *untilSeq, at); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if bar := o.Progress; replayAfterBatch != nil {
		o.Progress = func(pos, last uint64) {
			if bar != nil {
				bar(pos, last)
			}
			replayAfterBatch()
		}
	}
	res, err := audit.ReplayInto(ctx, *out, log, o)
	if err != nil {
		return fmt.Errorf("replay stopped at position %d, kept in %s.partial (run the same command again to resume): %w", res.Position, *out, c.Explain(err))
	}
	fmt.Fprintln(stdout, res.Summary(*out, bound))
	return nil
}
