package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/chancery/chancery/events"
)

// TestEveryErrorCodeAnswersItsStatus walks every domain error code, and the
// errors that carry none, to the status and Retry-After they answer.
func TestEveryErrorCodeAnswersItsStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{events.EINVALID, (&events.Fields{{Field: "title", Detail: "is required"}}).Err(), 400, ""},
		{events.ENOTFOUND, events.Errorf(events.ENOTFOUND, "meeting x not found"), 404, ""},
		{events.ECONFLICT, events.Errorf(events.ECONFLICT, "lost a race"), 409, "1"},
		{events.EPRECONDITION, events.Errorf(events.EPRECONDITION, "stale"), 412, ""},
		{events.ETRANSITION, events.Errorf(events.ETRANSITION, "cancelled"), 422, ""},
		{events.EUNCHANGED, events.Errorf(events.EUNCHANGED, "same"), 422, ""},
		{events.EIDEMPOTENCY, events.Errorf(events.EIDEMPOTENCY, "reused"), 422, ""},
		{events.EUNAVAILABLE, events.Errorf(events.EUNAVAILABLE, "no leader"), 503, RetryAfter},
		{events.ENOTCAUGHTUP, events.Errorf(events.ENOTCAUGHTUP, "at 3, not 9"), 503, "1"},
		{"a full disk", fmt.Errorf("append: %w", syscall.ENOSPC), 503, RetryAfter},
		{"a body over the limit", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1 << 20}), 413, ""},
		{"an unknown code", events.Errorf("surprise", "what is this"), 500, ""},
		{"a bug", errors.New("nil map"), 500, ""},
	}
	codes := map[string]bool{}
	for _, tt := range tests {
		codes[tt.name] = true
		w := httptest.NewRecorder()
		Error(w, httptest.NewRequest("GET", "/x", nil), slog.New(slog.DiscardHandler), "request", tt.err)
		var body Body
		if err := json.NewDecoder(w.Body).Decode(&body); err != nil {
			t.Fatalf("%s: the answer is not a problem: %v", tt.name, err)
		}
		if w.Code != tt.status || body.Status != tt.status || w.Header().Get("Retry-After") != tt.retryAfter ||
			w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d (body %d), Retry-After %q, %s; want %d, Retry-After %q, a problem",
				tt.name, w.Code, body.Status, w.Header().Get("Retry-After"), w.Header().Get("Content-Type"), tt.status, tt.retryAfter)
		}
		if s, ra := Status(events.ErrorCode(tt.err)); events.ErrorCode(tt.err) != "" && (s != tt.status || ra != tt.retryAfter) {
			t.Errorf("Status(%s) = %d, %q; want %d, %q", events.ErrorCode(tt.err), s, ra, tt.status, tt.retryAfter)
		}
	}
	for code := range answers {
		if !codes[code] {
			t.Errorf("code %s has a status but no case here", code)
		}
	}
}

// TestErrorNamesTheFieldsAndHidesABugsCause: a client learns which field
// to fix, and nothing of a failure it cannot fix.
func TestErrorNamesTheFieldsAndHidesABugsCause(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest("POST", "/x", nil), slog.New(slog.DiscardHandler), "request",
		(&events.Fields{{Field: "participants[1].name", Detail: "is required"}}).Err())
	var body Body
	json.NewDecoder(w.Body).Decode(&body)
	if len(body.Errors) != 1 || body.Errors[0].Field != "participants[1].name" {
		t.Errorf("invalid input: %+v, want the field named", body)
	}

	w = httptest.NewRecorder()
	Error(w, httptest.NewRequest("GET", "/x", nil), slog.New(slog.DiscardHandler), "request", errors.New("database is closed"))
	if b, _ := io.ReadAll(w.Body); w.Code != 500 || strings.Contains(string(b), "closed") {
		t.Errorf("a bug: %d %s, want 500 without its cause", w.Code, b)
	}
}
