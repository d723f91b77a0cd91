package events

import (
	"encoding/json"
	"fmt"
)

// Schema history.
//
// meeting.scheduled and visit.announced, schema 1 → 2: schema 1 recorded
// the source document either as an object {"url", "published"} or, from
// clients that knew only a link, as a bare URL string. Schema 2 always has
// the object. upcastSource turns the string into {"url": ...} and leaves
// an object (or no source) as it was. (Registered with the event types in
// meeting.go and visit.go.)

// registerUpcaster adds the upcaster from schema `from` of an event type.
func registerUpcaster(typ string, from int, up Upcaster) {
	registry[typ].upcaster[from] = up
}

func upcastSource(data json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	raw, ok := fields["source"]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return data, nil // no source, null, or already an object
	}
	var link string
	if err := json.Unmarshal(raw, &link); err != nil {
		return nil, err
	}
	if link == "" {
		delete(fields, "source")
	} else {
		obj, err := json.Marshal(Source{URL: link})
		if err != nil {
			return nil, err
		}
		fields["source"] = obj
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("upcast source: %w", err)
	}
	return out, nil
}
