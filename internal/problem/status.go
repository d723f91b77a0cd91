package problem

import (
	"net/http"

	"github.com/chancery/chancery/events"
)

// answer is what one error code answers over HTTP.
type answer struct {
	status int
	// retryAfter is the Retry-After, in seconds, sent with the status;
	// empty when a retry of the same request cannot succeed.
	retryAfter string
}

// answers maps each domain error code to its status.
var answers = map[string]answer{
	events.EINVALID:      {http.StatusBadRequest, ""},
	events.ENOTFOUND:     {http.StatusNotFound, ""},
	events.ECONFLICT:     {http.StatusConflict, "1"}, // a lost race or a request still in progress: worth a retry
	events.EPRECONDITION: {http.StatusPreconditionFailed, ""},
	events.ETRANSITION:   {http.StatusUnprocessableEntity, ""},
	events.EUNCHANGED:    {http.StatusUnprocessableEntity, ""},
	events.EIDEMPOTENCY:  {http.StatusUnprocessableEntity, ""},
	events.EUNAVAILABLE:  {http.StatusServiceUnavailable, RetryAfter},
	// The read model is applying events and was not at the asked position
	// in time: it usually is a moment later.
	events.ENOTCAUGHTUP: {http.StatusServiceUnavailable, "1"},
}

// Status returns the HTTP status of a domain error code and the Retry-After
// due with it ("" for none). A code it does not know is a bug: 500.
func Status(code string) (status int, retryAfter string) {
	a, ok := answers[code]
	if !ok {
		return http.StatusInternalServerError, ""
	}
	return a.status, a.retryAfter
}
