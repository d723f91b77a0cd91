package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Aggregate types.
const (
	MeetingAggregate = "meeting"
	VisitAggregate   = "visit"
)

// Envelope is one recorded event as it is stored in the stream and served by
// the event log API. Seq is the stream sequence, known once appended; Version
// counts the aggregate's events from 1.
type Envelope struct {
	Seq           uint64          `json:"seq,omitempty"`
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Schema        int             `json:"schema"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	Version       int             `json:"version"`
	RecordedAt    time.Time       `json:"recorded_at"`
	Actor         string          `json:"actor"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// Event is the payload of one event type.
type Event interface {
	EventType() string
}

// Upcaster turns the JSON of one schema version into the next one.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

type eventType struct {
	schema   int              // the current schema version
	new      func() Event     // a zero value to decode into
	upcaster map[int]Upcaster // from schema n to n+1
}

var registry = map[string]*eventType{}

func register(schema int, newEvent func() Event) {
	registry[newEvent().EventType()] = &eventType{schema: schema, new: newEvent, upcaster: map[int]Upcaster{}}
}

// SchemaOf returns the current schema version of an event type, or 0 when
// the type is unknown.
func SchemaOf(typ string) int {
	if t, ok := registry[typ]; ok {
		return t.schema
	}
	return 0
}

// Decode returns the typed payload of an envelope, upcasting an older schema
// to the current one: events recorded years ago stay readable.
func Decode(env Envelope) (Event, error) {
	t, ok := registry[env.Type]
	if !ok {
		return nil, fmt.Errorf("decode event %s (seq %d): unknown type %q", env.ID, env.Seq, env.Type)
	}
	data := env.Data
	for s := env.Schema; s < t.schema; s++ {
		up, ok := t.upcaster[s]
		if !ok {
			return nil, fmt.Errorf("decode event %s: no upcaster for %s schema %d", env.ID, env.Type, s)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("decode event %s: upcast %s from schema %d: %w", env.ID, env.Type, s, err)
		}
	}
	if env.Schema > t.schema {
		return nil, fmt.Errorf("decode event %s: %s schema %d is newer than this build knows (%d)", env.ID, env.Type, env.Schema, t.schema)
	}
	ev := t.new()
	if err := UnmarshalJSON(data, ev); err != nil {
		return nil, fmt.Errorf("decode event %s (%s): %w", env.ID, env.Type, err)
	}
	return ev, nil
}

// Types lists every known event type.
func Types() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	return out
}
