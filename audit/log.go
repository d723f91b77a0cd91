package audit

// The audit log: who changed what, when and from which source, one entry
// per event in stream order. docs/audit.md documents its formats.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

// Entry is one line of the audit log.
type Entry struct {
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

// NewEntry describes one stored event.
func NewEntry(env events.Envelope) Entry {
	return Entry{
		Seq: env.Seq, RecordedAt: env.RecordedAt.UTC(), Actor: env.Actor, Type: env.Type,
		AggregateType: env.AggregateType, AggregateID: env.AggregateID, Version: env.Version,
		Summary: Summary(env), Source: sourceOf(env), EventID: env.ID, CorrelationID: env.CorrelationID, Data: env.Data,
	}
}

// sourceOf returns the URL of the document an event was recorded from, if
// it names one.
func sourceOf(env events.Envelope) string {
	var data struct {
		Source *events.Source `json:"source"`
	}
	if json.Unmarshal(env.Data, &data) != nil || data.Source == nil {
		return "" // an event without a readable source has none to show
	}
	return data.Source.URL
}

// Summary says in a few words what an event changed.
func Summary(env events.Envelope) string {
	ev, err := events.Decode(env)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	switch e := ev.(type) {
	case *events.MeetingScheduled:
		return fmt.Sprintf("%s %q, %s, %s", e.Kind, e.Title, spanLabel(e.Span), events.PlaceLabel(e.Location.Venue, e.Location.City, e.Location.Country))
	case *events.MeetingRescheduled:
		return withReason(spanLabel(e.Previous)+" → "+spanLabel(e.Span), e.Reason)
	case *events.MeetingRelocated:
		return withReason(events.PlaceLabel(e.Previous.Venue, e.Previous.City, e.Previous.Country)+" → "+events.PlaceLabel(e.Location.Venue, e.Location.City, e.Location.Country), e.Reason)
	case *events.MeetingParticipantsChanged:
		return participantsChange(e.Previous, e.Participants)
	case *events.MeetingPostponed:
		return withReason("postponed", e.Reason)
	case *events.MeetingCancelled:
		return withReason("cancelled", e.Reason)
	case *events.MeetingHeld:
		return withReason("held", e.Outcome)
	case *events.VisitAnnounced:
		return fmt.Sprintf("%s to %s, %s", events.PersonLabel(e.Visitor), events.PlaceLabel("", e.Destination.City, e.Destination.Country), spanLabel(e.Span))
	case *events.VisitRescheduled:
		return withReason(spanLabel(e.Previous)+" → "+spanLabel(e.Span), e.Reason)
	case *events.VisitCancelled:
		return withReason("cancelled", e.Reason)
	case *events.VisitCompleted:
		return withReason("completed", e.Outcome)
	}
	return ""
}

func spanLabel(s events.Span) string {
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

func participantsChange(before, after []events.Participant) string {
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

// Query selects the events of the audit log.
type Query struct {
	Filter       events.ReadFilter // served by the stream's subject filter
	Actor        string            // case-insensitive
	Since, Until time.Time         // inclusive; zero: open
}

// NewQuery reads a query as a user gives it: aggregate an id, typ an event
// type, since and until RFC 3339 times or dates (a date is a whole UTC day:
// since from its start, until through its end); each may be empty. Invalid
// input is an events.EINVALID error naming the fields at fault (aggregate,
// type, since, until).
func NewQuery(aggregate, actor, typ, since, until string) (Query, error) {
	q := Query{Filter: events.ReadFilter{AggregateID: aggregate, Type: typ}, Actor: actor}
	var f events.Fields
	if aggregate != "" && events.AggregateTypeOf(aggregate) == "" {
		f.Add("aggregate", "%q is not a meeting or visit id", aggregate)
	}
	if typ != "" {
		if events.SchemaOf(typ) == 0 {
			types := events.Types()
			slices.Sort(types)
			f.Add("type", "%q is not an event type (one of %s)", typ, strings.Join(types, ", "))
		} else if agg := events.AggregateTypeOf(aggregate); agg != "" && !strings.HasPrefix(typ, agg+".") {
			f.Add("type", "%s events do not occur on a %s", typ, agg)
		}
	}
	var ok bool
	if q.Since, ok = ParseTime(since, false); !ok {
		f.Add("since", "%q is neither an RFC 3339 time (2022-08-20T12:00:00Z) nor a date (2022-08-20)", since)
	}
	if q.Until, ok = ParseTime(until, true); !ok {
		f.Add("until", "%q is neither an RFC 3339 time (2022-08-20T12:00:00Z) nor a date (2022-08-20)", until)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		f.Add("until", "%s is before since (%s)", until, since)
	}
	return q, f.Err()
}

// ParseTime reads an RFC 3339 time or a date (a whole UTC day: its start,
// or with endOfDay its last instant); "" is the zero time. Every command
// that takes a time takes these forms.
func ParseTime(v string, endOfDay bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, false
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return d, true
}

// Match reports whether the query selects an event its filter let through.
func (q Query) Match(env events.Envelope) bool {
	return (q.Actor == "" || strings.EqualFold(env.Actor, q.Actor)) &&
		(q.Since.IsZero() || !env.RecordedAt.Before(q.Since)) &&
		(q.Until.IsZero() || !env.RecordedAt.After(q.Until))
}

// Scanner reads the event log in stream order, as *events.Log does.
type Scanner interface {
	Scan(ctx context.Context, after uint64, f events.ReadFilter, fn func(events.Stored) error) error
}

// WriteLog writes the entries of the events q selects to out, in stream
// order, and closes out.
func WriteLog(ctx context.Context, l Scanner, q Query, out *LogWriter) error {
	err := l.Scan(ctx, 0, q.Filter, func(st events.Stored) error {
		if !q.Match(st.Envelope) {
			return nil
		}
		return out.Write(NewEntry(st.Envelope))
	})
	if err != nil {
		return err
	}
	return out.Close()
}
