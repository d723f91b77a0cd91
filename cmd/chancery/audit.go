package main

// `chancery audit`: the questions an auditor asks of the record. `log` lists
// who changed what, when and from which source; `show` tells one meeting's
// or visit's whole story as diffs; `verify` (verify.go) compares the live
// read model with a rebuild; `check-export` (export.go) checks a trail
// offline. docs/audit.md documents the output formats.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

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

// openToolLog connects to the stream the way f says and opens the event
// log, which must exist. The context it returns ends when NATS is lost for
// good (see openStream).
func openToolLog(ctx context.Context, f streamFlags, stderr io.Writer) (*streamConn, context.Context, *events.Log, error) {
	c, ctx, err := openStream(ctx, f, quietLogger(stderr))
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := c.Log(ctx, f.stream, false)
	if err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	return c, ctx, log, nil
}

// auditEntry is one line of the audit log.
type auditEntry struct {
	Seq           uint64          `json:"seq"`
	RecordedAt    time.Time       `json:"recorded_at"`
	Actor         string          `json:"actor"`
	Type          string          `json:"type"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	Version       int             `json:"version"`
	Summary       string          `json:"summary"`
	Source        string          `json:"source,omitempty"` // the URL of the document the change was recorded from
	EventID       string          `json:"event_id"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Data          json.RawMessage `json:"data"`
}

func newAuditEntry(env events.Envelope) auditEntry {
	var data struct {
		Source *events.Source `json:"source"`
	}
	json.Unmarshal(env.Data, &data) // no source is fine
	e := auditEntry{
		Seq: env.Seq, RecordedAt: env.RecordedAt.UTC(), Actor: env.Actor, Type: env.Type,
		AggregateType: env.AggregateType, AggregateID: env.AggregateID, Version: env.Version,
		Summary: auditSummary(env), EventID: env.ID, CorrelationID: env.CorrelationID, Data: env.Data,
	}
	if data.Source != nil {
		e.Source = data.Source.URL
	}
	return e
}

// auditSummary says in a few words what an event changed.
func auditSummary(env events.Envelope) string {
	ev, err := events.Decode(env)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	switch e := ev.(type) {
	case *events.MeetingScheduled:
		return fmt.Sprintf("%s %q, %s, %s", e.Kind, e.Title, auditSpan(e.Span), events.PlaceLabel(e.Location.Venue, e.Location.City, e.Location.Country))
	case *events.MeetingRescheduled:
		return withReason(auditSpan(e.Previous)+" → "+auditSpan(e.Span), e.Reason)
	case *events.MeetingRelocated:
		return withReason(events.PlaceLabel(e.Previous.Venue, e.Previous.City, e.Previous.Country)+" → "+events.PlaceLabel(e.Location.Venue, e.Location.City, e.Location.Country), e.Reason)
	case *events.MeetingParticipantsChanged:
		return auditParticipants(e.Previous, e.Participants)
	case *events.MeetingPostponed:
		return withReason("postponed", e.Reason)
	case *events.MeetingCancelled:
		return withReason("cancelled", e.Reason)
	case *events.MeetingHeld:
		return withReason("held", e.Outcome)
	case *events.VisitAnnounced:
		return fmt.Sprintf("%s to %s, %s", events.PersonLabel(e.Visitor), events.PlaceLabel("", e.Destination.City, e.Destination.Country), auditSpan(e.Span))
	case *events.VisitRescheduled:
		return withReason(auditSpan(e.Previous)+" → "+auditSpan(e.Span), e.Reason)
	case *events.VisitCancelled:
		return withReason("cancelled", e.Reason)
	case *events.VisitCompleted:
		return withReason("completed", e.Outcome)
	}
	return ""
}

func auditSpan(s events.Span) string {
	out := s.Start
	if s.End != "" && s.End != s.Start {
		out += "–" + s.End
	}
	if !s.AllDay() && s.Timezone != "" {
		out += " " + s.Timezone
	}
	return out
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + reason
}

func auditParticipants(before, after []events.Participant) string {
	var parts []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			parts = append(parts, "+"+events.PersonLabel(p))
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			parts = append(parts, "−"+events.PersonLabel(p))
		}
	}
	return "participants " + strings.Join(parts, "; ")
}

// auditLogQuery selects the events of the audit log.
type auditLogQuery struct {
	filter       events.ReadFilter // served by the stream's subject filter
	actor        string
	since, until time.Time // inclusive; zero: open
}

func (q auditLogQuery) match(env events.Envelope) bool {
	return (q.actor == "" || strings.EqualFold(env.Actor, q.actor)) &&
		(q.since.IsZero() || !env.RecordedAt.Before(q.since)) &&
		(q.until.IsZero() || !env.RecordedAt.After(q.until))
}

func runAuditLog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := toolFlags("audit log", `Usage: chancery audit log [--aggregate ID] [--actor NAME] [--since T] [--until T] [--type T] [--format table|json|csv]

Lists who changed what, when and from which source, in stream order: one row
per event with its sequence, the time it was recorded, the actor, the event
type, the meeting or visit, a summary of the change and the source's URL when
the event names one. See docs/audit.md.`, getenv, stderr)
	var q auditLogQuery
	var since, until string
	fs.StringVar(&q.filter.AggregateID, "aggregate", "", "only the events of this meeting or visit id")
	fs.StringVar(&q.actor, "actor", "", "only the events recorded by this actor (an API token's name; case-insensitive)")
	fs.StringVar(&since, "since", "", "only events recorded at or after this RFC 3339 time or date (YYYY-MM-DD, UTC)")
	fs.StringVar(&until, "until", "", "only events recorded at or before this RFC 3339 time or date (through its end, UTC)")
	fs.StringVar(&q.filter.Type, "type", "", "only events of this type, e.g. meeting.rescheduled")
	format := fs.String("format", "table", "output: table, json (one JSON array) or csv (with a header row)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := q.parse(since, until); err != nil {
		return err
	}
	out, err := newAuditLogWriter(*format, stdout)
	if err != nil {
		return err
	}

	c, ctx, log, err := openToolLog(ctx, *f, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	err = log.Scan(ctx, 0, q.filter, func(st events.Stored) error {
		if !q.match(st.Envelope) {
			return nil
		}
		return out.write(newAuditEntry(st.Envelope))
	})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return out.close()
}

// parse validates the query's flags, naming the one at fault.
func (q *auditLogQuery) parse(since, until string) error {
	if id := q.filter.AggregateID; id != "" && events.AggregateTypeOf(id) == "" {
		return usagef("--aggregate: %q is not a meeting or visit id", id)
	}
	if t := q.filter.Type; t != "" {
		if events.SchemaOf(t) == 0 {
			types := events.Types()
			slices.Sort(types)
			return usagef("--type: %q is not an event type (one of %s)", t, strings.Join(types, ", "))
		}
		if agg := events.AggregateTypeOf(q.filter.AggregateID); agg != "" && !strings.HasPrefix(t, agg+".") {
			return usagef("--type: %s events do not occur on a %s", t, agg)
		}
	}
	var err error
	if q.since, err = parseAuditTime("--since", since, false); err != nil {
		return err
	}
	if q.until, err = parseAuditTime("--until", until, true); err != nil {
		return err
	}
	if !q.since.IsZero() && !q.until.IsZero() && q.until.Before(q.since) {
		return usagef("--until %s is before --since %s", until, since)
	}
	return nil
}

// parseAuditTime reads an RFC 3339 time or a date (a whole UTC day: its
// start, or with endOfDay its last instant).
func parseAuditTime(name, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, usagef("%s: %q is neither an RFC 3339 time (2022-08-20T12:00:00Z) nor a date (2022-08-20)", name, v)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return d, nil
}

// auditLogWriter writes audit log entries in one format.
type auditLogWriter interface {
	write(auditEntry) error
	close() error
}

func newAuditLogWriter(format string, w io.Writer) (auditLogWriter, error) {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tRECORDED AT\tACTOR\tTYPE\tAGGREGATE\tCHANGE\tSOURCE")
		return auditTable{tw}, nil
	case "json":
		return &auditJSON{w: w}, nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"seq", "recorded_at", "actor", "type", "aggregate_type", "aggregate_id", "version", "summary", "source", "event_id"})
		return auditCSV{cw}, nil
	}
	return nil, usagef("--format: %q is not table, json or csv", format)
}

// auditTable aligns columns; values from the record are made single-line
// and free of control characters so that no field can break the table or
// drive the terminal.
type auditTable struct{ tw *tabwriter.Writer }

func (t auditTable) write(e auditEntry) error {
	_, err := fmt.Fprintf(t.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.RecordedAt.Format(time.RFC3339),
		tableCell(e.Actor), e.Type, e.AggregateID, tableCell(e.Summary), tableCell(e.Source))
	return err
}

func (t auditTable) close() error { return t.tw.Flush() }

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

// auditJSON writes one JSON array, an element a line, streamed as the
// events are read.
type auditJSON struct {
	w io.Writer
	n int
}

func (j *auditJSON) write(e auditEntry) error {
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

func (j *auditJSON) close() error {
	end := "\n]\n"
	if j.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

type auditCSV struct{ w *csv.Writer }

func (c auditCSV) write(e auditEntry) error {
	return c.w.Write([]string{strconv.FormatUint(e.Seq, 10), e.RecordedAt.Format(time.RFC3339Nano), e.Actor, e.Type,
		e.AggregateType, e.AggregateID, strconv.Itoa(e.Version), e.Summary, e.Source, e.EventID})
}

func (c auditCSV) close() error {
	c.w.Flush()
	return c.w.Error()
}

// auditStep is one event of an aggregate's story with the fields it changed.
type auditStep struct {
	Seq        uint64        `json:"seq"`
	Version    int           `json:"version"`
	RecordedAt time.Time     `json:"recorded_at"`
	Actor      string        `json:"actor"`
	Type       string        `json:"type"`
	Source     string        `json:"source,omitempty"`
	Changes    []auditChange `json:"changes"`
}

// auditChange is one field of the folded state before and after an event,
// as JSON. Old is absent on the event that created the meeting or visit;
// New is absent when the event cleared the field.
type auditChange struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old,omitempty"`
	New   json.RawMessage `json:"new,omitempty"`
}

// auditBookkeeping are state fields every event changes or that only
// identify: a diff of them says nothing.
var auditBookkeeping = []string{"id", "version", "sequence", "updated_at"}

// evolver is a folded aggregate: events.Meeting or events.Visit.
type evolver interface {
	Evolve(events.Envelope) error
}

// auditStory folds an aggregate's events one by one and compares the state
// before and after each, field by field.
func auditStory(aggType string, hist []events.Stored) ([]auditStep, error) {
	var state evolver = &events.Meeting{}
	if aggType == events.VisitAggregate {
		state = &events.Visit{}
	}
	before, err := auditFields(state)
	if err != nil {
		return nil, err
	}
	steps := make([]auditStep, 0, len(hist))
	for i, st := range hist {
		if err := state.Evolve(st.Envelope); err != nil {
			return nil, err
		}
		after, err := auditFields(state)
		if err != nil {
			return nil, err
		}
		step := auditStep{Seq: st.Seq, Version: st.Version, RecordedAt: st.RecordedAt.UTC(), Actor: st.Actor, Type: st.Type,
			Source: newAuditEntry(st.Envelope).Source, Changes: auditDiff(before, after)}
		if i == 0 {
			for j := range step.Changes {
				step.Changes[j].Old = nil // a new aggregate had no fields
			}
		}
		steps = append(steps, step)
		before = after
	}
	return steps, nil
}

type auditField struct {
	name  string
	value json.RawMessage
}

// auditFields returns the JSON fields of a state in the struct's order.
func auditFields(v any) ([]auditField, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&buf)
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out []auditField
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, auditField{name: k.(string), value: raw})
	}
	return out, nil
}

func auditDiff(before, after []auditField) []auditChange {
	old := make(map[string]json.RawMessage, len(before))
	for _, f := range before {
		old[f.name] = f.value
	}
	out := []auditChange{}
	for _, f := range after {
		prev, had := old[f.name]
		delete(old, f.name)
		if (!had || !bytes.Equal(prev, f.value)) && !slices.Contains(auditBookkeeping, f.name) {
			out = append(out, auditChange{Field: f.name, Old: prev, New: f.value})
		}
	}
	for _, f := range before { // fields the event cleared (omitted when empty)
		if prev, ok := old[f.name]; ok && !slices.Contains(auditBookkeeping, f.name) {
			out = append(out, auditChange{Field: f.name, Old: prev})
		}
	}
	return out
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
	aggType := events.AggregateTypeOf(id)
	if aggType == "" {
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
	hist, err := log.Load(ctx, aggType, id)
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		return fmt.Errorf("audit show: no %s %s in stream %s (%s)", aggType, id, f.stream, c.via)
	}
	steps, err := auditStory(aggType, hist)
	if err != nil {
		return fmt.Errorf("audit show %s: %w", id, err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"aggregate_type": aggType, "aggregate_id": id, "events": steps})
	}
	return writeAuditStory(stdout, aggType, id, steps)
}

// writeAuditStory prints a story as text. Values are shown as JSON, so that
// text from the record is quoted and escaped, never raw.
func writeAuditStory(w io.Writer, aggType, id string, steps []auditStep) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d events\n", aggType, id, len(steps))
	for _, s := range steps {
		fmt.Fprintf(&b, "\nseq %d  v%d  %s  %s  by %s", s.Seq, s.Version, s.RecordedAt.Format(time.RFC3339), s.Type, tableCell(s.Actor))
		if s.Source != "" {
			fmt.Fprintf(&b, "  source %s", tableCell(s.Source))
		}
		b.WriteString("\n")
		if len(s.Changes) == 0 {
			b.WriteString("    (no field changed)\n")
		}
		for _, ch := range s.Changes {
			switch {
			case ch.Old == nil:
				fmt.Fprintf(&b, "    %s: %s\n", ch.Field, ch.New)
			case ch.New == nil:
				fmt.Fprintf(&b, "    %s: %s → (none)\n", ch.Field, ch.Old)
			default:
				fmt.Fprintf(&b, "    %s: %s → %s\n", ch.Field, ch.Old, ch.New)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
