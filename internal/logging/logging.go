// Package logging makes the loggers of the binary: the service's, whose
// format follows where it writes, and the tools' quiet one. It depends on
// nothing of the module.
package logging

import (
	"io"
	"log/slog"
	"os"
)

// Formats are the formats New writes, as --log-format names them.
var Formats = []string{"json", "text"}

// New writes to w in format, or, when format is empty, as text to a
// terminal (a person reading) and as JSON to anything else (a collector).
func New(format string, w io.Writer) *slog.Logger {
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

// Quiet is the logger of tools: warnings and errors only, as text, since a
// tool's stderr is read by the person who ran it.
func Quiet(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
