package events

import (
	"bytes"
	"encoding/json"
	"time"
)

// AnnouncedOn is the day the world was told of an event, as midnight UTC:
// the source.published date of its data, whatever the event type (every
// type that carries a source names it so), or, for an event with no
// published source, the UTC day it was recorded: what Chancery recorded
// first-hand was public no earlier than Chancery knew it.
func (e Envelope) AnnouncedOn() time.Time {
	if bytes.Contains(e.Data, []byte(`"published"`)) {
		var d struct {
			Source json.RawMessage `json:"source"`
		}
		var src struct {
			Published string `json:"published"`
		}
		// An old event's source is a bare URL string: no date in it.
		if json.Unmarshal(e.Data, &d) == nil && json.Unmarshal(d.Source, &src) == nil {
			if day, err := time.Parse(DateLayout, src.Published); err == nil {
				return day
			}
		}
	}
	return e.RecordedAt.UTC().Truncate(24 * time.Hour)
}
