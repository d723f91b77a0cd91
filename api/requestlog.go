package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// caller is what the request log and the rate limits know of a request:
// its id and the token it carries, resolved once.
type caller struct {
	id    string
	token Token
	authd bool
}

type callerKey struct{}

// callerOf returns what ServeHTTP learnt of r; a request that did not come
// through it (none does in production) is resolved here.
func (s *Server) callerOf(r *http.Request) caller {
	if c, ok := r.Context().Value(callerKey{}).(caller); ok {
		return c
	}
	t, ok := s.authenticate(r)
	return caller{id: requestID(r), token: t, authd: ok}
}

// withCaller resolves r's token and request id and records them in its
// context, so that handlers, the rate limits and the request log agree.
func (s *Server) withCaller(r *http.Request) (*http.Request, caller) {
	t, ok := s.authenticate(r)
	c := caller{id: requestID(r), token: t, authd: ok}
	if c.id == "" {
		c.id = newRequestID()
	}
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, c)), c
}

// requestID returns the caller's X-Request-Id if it is a sane token, else
// the one minted for the request, else "".
func requestID(r *http.Request) string {
	if c, ok := r.Context().Value(callerKey{}).(caller); ok {
		return c.id
	}
	v := r.Header.Get("X-Request-Id")
	if len(v) > 128 || strings.IndexFunc(v, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) >= 0 {
		return ""
	}
	return v
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRequestID mints an id for a request that brought none: 80 random
// bits, enough that two never meet in a log.
func newRequestID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// statusWriter remembers the status and size of an answer for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and the deadlines of the
// connection (the NDJSON event stream flushes as it goes).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequest writes the one line every request leaves. The path is logged
// without its query: a private feed's ?token= is a secret. The token is
// named, never shown.
func (s *Server) logRequest(r *http.Request, c caller, w *statusWriter, began time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.logger.LogAttrs(r.Context(), level, "request",
		slog.String("request_id", c.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.String("token", c.token.Name),
		slog.String("client", r.RemoteAddr),
		slog.Int64("bytes", w.bytes),
		slog.Duration("duration", time.Since(began)),
	)
}
