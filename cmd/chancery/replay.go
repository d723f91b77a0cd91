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
	until := untilFlags(fs)
	force := fs.Bool("force", false, "overwrite --out if it exists")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("replay: --out is required")
	}
	untilSeq, at, err := until()
	if err != nil {
		return err
	}
	bound := ""
	switch {
	case !at.IsZero():
		bound = "the last event recorded by " + at.UTC().Format(time.RFC3339)
	case untilSeq != 0:
		bound = fmt.Sprintf("--until-seq %d", untilSeq)
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
	if o.Until, err = audit.ReplayUntil(ctx, log, untilSeq, at); err != nil {
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
