package api

import (
	"errors"
	"net/http"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/problem"
)

// statusOf maps a domain error code to its HTTP status: the one place where
// that decision is made.
var statusOf = map[string]int{
	events.EINVALID:      http.StatusBadRequest,
	events.ENOTFOUND:     http.StatusNotFound,
	events.ECONFLICT:     http.StatusConflict,
	events.EPRECONDITION: http.StatusPreconditionFailed,
	events.ETRANSITION:   http.StatusUnprocessableEntity,
	events.EUNCHANGED:    http.StatusUnprocessableEntity,
	events.EIDEMPOTENCY:  http.StatusUnprocessableEntity,
	events.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// RetryAfter is the Retry-After, in seconds, of a 503 for a transient
// condition, the same for every endpoint.
const RetryAfter = problem.RetryAfter

func writeProblem(w http.ResponseWriter, status int, detail string, fields ...events.FieldError) {
	problem.Write(w, status, detail, fields...)
}

// writeError answers with the problem that err describes. Errors that are not
// domain errors are logged and answered as 500 without their detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		return // the client has gone
	}
	var unread errBodyUnread
	if errors.As(err, &unread) {
		// A client too slow for the read timeout, or gone: nothing is
		// wrong here, and the answer may not even reach it.
		s.logger.Warn("request body not received", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Connection", "close")
		if unread.timeout() {
			writeProblem(w, http.StatusRequestTimeout, "the request body did not arrive within the server's read timeout")
		} else {
			writeProblem(w, http.StatusBadRequest, "the request body did not arrive whole")
		}
		return
	}
	if events.Transient(err) {
		// No leader, no connection, a full disk, a read nobody answered in
		// time: the client may retry; the operator sees it in the log.
		s.logger.Warn("request failed on a transient condition", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", RetryAfter)
		writeProblem(w, http.StatusServiceUnavailable, events.Unavailable(err, "the event store is unavailable").Error())
		return
	}
	var de *events.Error
	if errors.As(err, &de) {
		if status, ok := statusOf[de.Code]; ok {
			if status == http.StatusConflict {
				// A lost race or a request still in progress: worth a retry.
				w.Header().Set("Retry-After", "1")
			}
			writeProblem(w, status, de.Message, de.Fields...)
			return
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeProblem(w, http.StatusRequestEntityTooLarge, "the request body is larger than 1 MiB")
		return
	}
	s.logger.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	writeProblem(w, http.StatusInternalServerError, "internal error; the server log has the details")
}

func invalid(field, detail string) error {
	return (&events.Fields{{Field: field, Detail: detail}}).Err()
}
