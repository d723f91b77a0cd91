// Package startup brings the service up: its steps in order (and down in
// the reverse order), and the HTTP server that answers while they run,
// before the API can. It depends on nothing of the module but the problem
// format.
package startup

import (
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/chancery/chancery/internal/problem"
)

// Handler answers HTTP from the moment serve listens, before the API can:
// while serve waits for its data directory, for NATS or for JetStream, an
// orchestrator's probes get an answer instead of a refused connection.
// /healthz is 200 (the process is alive), /readyz is 503 saying what serve
// waits for, and every other request is a 503 with Retry-After. Once the
// API is built, it serves everything. The zero Handler is ready to use.
type Handler struct {
	phase atomic.Pointer[string]
	api   atomic.Pointer[http.Handler]
}

// WaitingFor records what serve waits for, as /readyz shows it.
func (s *Handler) WaitingFor(what string) { s.phase.Store(&what) }

// Serve hands every request to h from now on.
func (s *Handler) Serve(h http.Handler) { s.api.Store(&h) }

// Serving returns the handler Serve was given, or nil while starting.
func (s *Handler) Serving() http.Handler {
	if h := s.api.Load(); h != nil {
		return *h
	}
	return nil
}

func (s *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.Serving(); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	phase := "starting"
	if p := s.phase.Load(); p != nil {
		phase = *p
	}
	if r.URL.Path == "/healthz" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	w.Header().Set("Retry-After", problem.RetryAfter)
	switch r.URL.Path {
	case "/readyz":
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "starting": phase})
	default:
		problem.Write(w, http.StatusServiceUnavailable, "the service is starting: "+phase)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone mid-answer is no error of ours
}
