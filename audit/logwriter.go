package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/chancery/chancery/events"
)

// LogFormats are the formats a LogWriter writes.
var LogFormats = []string{"table", "json", "csv"}

// LogWriter writes audit log entries in one format.
type LogWriter struct {
	f logFormat
}

type logFormat interface {
	write(Entry) error
	close() error
}

// NewLogWriter writes to w in format, one of LogFormats: table (aligned
// columns under a header), json (one JSON array, streamed) or csv (with a
// header row). An unknown format is an events.EINVALID error naming the
// field "format".
func NewLogWriter(format string, w io.Writer) (*LogWriter, error) {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tRECORDED AT\tACTOR\tTYPE\tAGGREGATE\tCHANGE\tSOURCE")
		return &LogWriter{logTable{tw}}, nil
	case "json":
		return &LogWriter{&logJSON{w: w}}, nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"seq", "recorded_at", "actor", "type", "aggregate_type", "aggregate_id", "version", "summary", "source", "event_id"}); err != nil {
			return nil, err
		}
		return &LogWriter{logCSV{cw}}, nil
	}
	var f events.Fields
	last := len(LogFormats) - 1
	f.Add("format", "%q is not %s or %s", format, strings.Join(LogFormats[:last], ", "), LogFormats[last])
	return nil, f.Err()
}

// Write writes one entry.
func (lw *LogWriter) Write(e Entry) error { return lw.f.write(e) }

// Close ends the output and flushes it.
func (lw *LogWriter) Close() error { return lw.f.close() }

// logTable aligns columns; values from the record are made single-line and
// free of control characters so that no field can break the table or drive
// the terminal.
type logTable struct{ tw *tabwriter.Writer }

func (t logTable) write(e Entry) error {
	_, err := fmt.Fprintf(t.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.RecordedAt.Format(time.RFC3339),
		tableCell(e.Actor), e.Type, e.AggregateID, tableCell(e.Summary), tableCell(e.Source))
	return err
}

func (t logTable) close() error { return t.tw.Flush() }

// tableCell makes text from the record one line without control characters.
func tableCell(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

// logJSON writes one JSON array, an element a line, streamed as the events
// are read.
type logJSON struct {
	w io.Writer
	n int
}

func (j *logJSON) write(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	sep := ",\n"
	if j.n == 0 {
		sep = "[\n"
	}
	j.n++
	_, err = fmt.Fprintf(j.w, "%s%s", sep, b)
	return err
}

func (j *logJSON) close() error {
	end := "\n]\n"
	if j.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

type logCSV struct{ w *csv.Writer }

func (c logCSV) write(e Entry) error {
	return c.w.Write([]string{strconv.FormatUint(e.Seq, 10), e.RecordedAt.Format(time.RFC3339Nano), e.Actor, e.Type,
		e.AggregateType, e.AggregateID, strconv.Itoa(e.Version), e.Summary, e.Source, e.EventID})
}

func (c logCSV) close() error {
	c.w.Flush()
	return c.w.Error()
}
