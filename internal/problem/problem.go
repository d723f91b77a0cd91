// Package problem writes RFC 9457 problem details, the one error format of
// every Chancery HTTP endpoint, and maps errors to HTTP statuses: the one
// place where that decision is made, for the API and the feeds alike.
package problem

import (
	"encoding/json"
	"net/http"

	"github.com/chancery/chancery/events"
)

// Body is an RFC 9457 problem details document.
type Body struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []events.FieldError `json:"errors,omitempty"`
}

// RetryAfter is the Retry-After, in seconds, of a 503 for a transient
// condition: about the time a NATS cluster takes to elect a stream leader.
const RetryAfter = "2"

// Write answers with a problem of the given status.
func Write(w http.ResponseWriter, status int, detail string, fields ...events.FieldError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Problems are read by people; JSON needs no HTML escaping, and
	// "\u003ctoken\u003e" is noise where "<token>" was meant.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(Body{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields,
	})
}
