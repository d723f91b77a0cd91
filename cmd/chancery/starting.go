package main

import (
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/chancery/chancery/api"
	"github.com/chancery/chancery/internal/problem"
)

// startingHandler answers HTTP from the moment serve listens, before the
// API can: while serve waits for its data directory, for NATS or for
// JetStream, an orchestrator's probes get an answer instead of a refused
// connection. /healthz is 200 (the process is alive), /readyz is 503 saying
// what serve waits for, and every other request is a 503 with Retry-After.
// Once the API is built, it serves everything.
type startingHandler struct {
	phase atomic.Pointer[string]
	api   atomic.Pointer[http.Handler]
}

// waitingFor records what serve waits for, as /readyz shows it.
func (s *startingHandler) waitingFor(what string) { s.phase.Store(&what) }

// serve hands every request to h from now on.
func (s *startingHandler) serve(h http.Handler) { s.api.Store(&h) }

func (s *startingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	phase := "starting"
	if p := s.phase.Load(); p != nil {
		phase = *p
	}
	if r.URL.Path == "/healthz" {
		writeStartingJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	w.Header().Set("Retry-After", api.RetryAfter)
	switch r.URL.Path {
	case "/readyz":
		writeStartingJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "starting": phase})
	default:
		problem.Write(w, http.StatusServiceUnavailable, "the service is starting: "+phase)
	}
}

func writeStartingJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
