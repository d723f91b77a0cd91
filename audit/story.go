package audit

// The story of one meeting or visit: each of its events in order, with the
// fields of the folded state it changed, old → new.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/chancery/chancery/events"
)

// Story is an aggregate's whole history as diffs.
type Story struct {
	AggregateID   string `json:"aggregate_id"`
	AggregateType string `json:"aggregate_type"`
	Events        []Step `json:"events"`
}

// Step is one event of a story with the fields it changed.
type Step struct {
	Seq        uint64    `json:"seq"`
	Version    int       `json:"version"`
	RecordedAt time.Time `json:"recorded_at"`
	Actor      string    `json:"actor"`
	Type       string    `json:"type"`
	Source     string    `json:"source,omitempty"`
	Changes    []Change  `json:"changes"`
}

// Change is one field of the folded state before and after an event, as
// JSON. Old is absent on the event that created the meeting or visit; New
// is absent when the event cleared the field.
type Change struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old,omitempty"`
	New   json.RawMessage `json:"new,omitempty"`
}

// bookkeeping are state fields every event changes or that only identify:
// a diff of them says nothing.
var bookkeeping = []string{"id", "version", "sequence", "updated_at"}

// Loader reads one aggregate's events, as *events.Log does.
type Loader interface {
	Load(ctx context.Context, aggType, id string) ([]events.Stored, error)
}

// StoryOf loads the story of the meeting or visit id. An id of neither is
// an events.EINVALID error; one with no events, events.ENOTFOUND.
func StoryOf(ctx context.Context, l Loader, id string) (Story, error) {
	s := Story{AggregateID: id, AggregateType: events.AggregateTypeOf(id)}
	if s.AggregateType == "" {
		return s, events.Errorf(events.EINVALID, "%q is not a meeting or visit id", id)
	}
	hist, err := l.Load(ctx, s.AggregateType, id)
	if err != nil {
		return s, err
	}
	if len(hist) == 0 {
		return s, events.Errorf(events.ENOTFOUND, "no %s %s", s.AggregateType, id)
	}
	if s.Events, err = Steps(s.AggregateType, hist); err != nil {
		return s, fmt.Errorf("%s: %w", id, err)
	}
	return s, nil
}

// evolver is a folded aggregate: events.Meeting or events.Visit.
type evolver interface {
	Evolve(events.Envelope) error
}

// Steps folds an aggregate's events one by one and compares the state
// before and after each, field by field.
func Steps(aggType string, hist []events.Stored) ([]Step, error) {
	var state evolver = &events.Meeting{}
	if aggType == events.VisitAggregate {
		state = &events.Visit{}
	}
	before, err := fieldsOf(state)
	if err != nil {
		return nil, err
	}
	steps := make([]Step, 0, len(hist))
	for i, st := range hist {
		if err := state.Evolve(st.Envelope); err != nil {
			return nil, err
		}
		after, err := fieldsOf(state)
		if err != nil {
			return nil, err
		}
		step := Step{Seq: st.Seq, Version: st.Version, RecordedAt: st.RecordedAt.UTC(), Actor: st.Actor, Type: st.Type,
			Source: sourceOf(st.Envelope), Changes: diff(before, after)}
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

type field struct {
	name  string
	value json.RawMessage
}

// fieldsOf returns the JSON fields of a state in the struct's order.
func fieldsOf(v any) ([]field, error) {
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
	var out []field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, field{name: k.(string), value: raw})
	}
	return out, nil
}

func diff(before, after []field) []Change {
	old := make(map[string]json.RawMessage, len(before))
	for _, f := range before {
		old[f.name] = f.value
	}
	out := []Change{}
	for _, f := range after {
		prev, had := old[f.name]
		delete(old, f.name)
		if (!had || !bytes.Equal(prev, f.value)) && !slices.Contains(bookkeeping, f.name) {
			out = append(out, Change{Field: f.name, Old: prev, New: f.value})
		}
	}
	for _, f := range before { // fields the event cleared (omitted when empty)
		if prev, ok := old[f.name]; ok && !slices.Contains(bookkeeping, f.name) {
			out = append(out, Change{Field: f.name, Old: prev})
		}
	}
	return out
}

// WriteJSON writes the story as one indented JSON object.
func (s Story) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the story for a reader. Values are shown as JSON, so
// that text from the record is quoted and escaped, never raw.
func (s Story) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d events\n", s.AggregateType, s.AggregateID, len(s.Events))
	for _, st := range s.Events {
		fmt.Fprintf(&b, "\nseq %d  v%d  %s  %s  by %s", st.Seq, st.Version, st.RecordedAt.Format(time.RFC3339), st.Type, tableCell(st.Actor))
		if st.Source != "" {
			fmt.Fprintf(&b, "  source %s", tableCell(st.Source))
		}
		b.WriteString("\n")
		if len(st.Changes) == 0 {
			b.WriteString("    (no field changed)\n")
		}
		for _, ch := range st.Changes {
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
