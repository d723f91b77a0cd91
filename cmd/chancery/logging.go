package main

import (
	"io"
	"log/slog"
	"os"
)

// logFormats are the values of --log-format.
var logFormats = []string{"json", "text"}

// newLogger writes to w in format, or, when format is empty, as text to a
// terminal (a person reading) and as JSON to anything else (a collector).
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if terminal(w) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// terminal reports whether w is a character device, as a terminal is.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
