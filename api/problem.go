package api

import (
	"errors"
	"net/http"

	"github.com/chancery/chancery/events"
	"github.com/chancery/chancery/internal/problem"
)

// RetryAfter is the Retry-After, in seconds, of a 503 for a transient
// condition, the same for every endpoint.
const RetryAfter = problem.RetryAfter

func writeProblem(w http.ResponseWriter, status int, detail string, fields ...events.FieldError) {
	problem.Write(w, status, detail, fields...)
}

// writeError answers with the problem that err describes (problem.Error
// maps it). Errors that are not domain errors are logged and answered as
// 500 without their detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
	problem.Error(w, r, s.logger, "request", err, "request_id", requestID(r))
}

func invalid(field, detail string) error {
	return (&events.Fields{{Field: field, Detail: detail}}).Err()
}

// notFoundf is the error of an id that names nothing.
func notFoundf(format string, args ...any) error {
	return events.Errorf(events.ENOTFOUND, format, args...)
}
