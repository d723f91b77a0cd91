package problem

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/chancery/chancery/events"
)

// Error answers with the problem that err describes. A transient condition
// (no leader, no connection, a full disk, a read nobody answered in time)
// is a 503 with Retry-After and a warning in the log; a domain error is the
// status of its code, naming its fields; an error that is neither is a bug:
// 500, with the cause in the log, where an operator looks for it, and not
// in the answer. Nothing is answered when the client has gone.
//
// what names the request in the log ("request", "feed request"); attrs are
// logged with it.
func Error(w http.ResponseWriter, r *http.Request, logger *slog.Logger, what string, err error, attrs ...any) {
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		return // the client has gone
	}
	attrs = append(attrs, "method", r.Method, "path", r.URL.Path, "err", err)
	if events.Transient(err) {
		logger.Warn(what+" failed on a transient condition", attrs...)
		w.Header().Set("Retry-After", RetryAfter)
		Write(w, http.StatusServiceUnavailable, events.Unavailable(err, "the event store is unavailable").Error())
		return
	}
	var de *events.Error
	if errors.As(err, &de) {
		if status, retryAfter := Status(de.Code); status != http.StatusInternalServerError {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			Write(w, status, de.Message, de.Fields...)
			return
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		Write(w, http.StatusRequestEntityTooLarge, "the request body is larger than 1 MiB")
		return
	}
	logger.Error(what+" failed", attrs...)
	Write(w, http.StatusInternalServerError, "internal error; the server log has the details")
}
