package events

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. The HTTP layer maps each to one status in one place.
const (
	EINVALID      = "invalid"      // input failed validation
	ENOTFOUND     = "not_found"    // no such aggregate
	ECONFLICT     = "conflict"     // lost an optimistic-concurrency race
	EPRECONDITION = "precondition" // If-Match named a version that is not current
	ETRANSITION   = "transition"   // the command is not allowed in the aggregate's state
	EUNCHANGED    = "unchanged"    // the command would change nothing
	EIDEMPOTENCY  = "idempotency"  // an idempotency key was reused for a different request
	EUNAVAILABLE  = "unavailable"  // a transient condition (no leader, no connection, a full disk): retry shortly
)

// ENOTCAUGHTUP is a read that waited for a stream position (min_position)
// the read model did not reach in time: retry shortly.
const ENOTCAUGHTUP = "not_caught_up"

// FieldError names one invalid input field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is a domain error with a code, a message and, for invalid input, the
// fields at fault.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	cause   error // the error behind an EUNAVAILABLE, for errors.Is
}

// Unwrap returns the error behind e, if any.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or "" when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Fields collects field errors while validating one input.
type Fields []FieldError

// Add records that field is invalid.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Err returns an EINVALID error listing the fields, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "invalid input", Fields: f}
}
