package api

import (
	"net/http"
	"strings"
)

// routes lists the whole API surface in one place.
func (s *Server) routes() {
	m := s.mux

	m.HandleFunc("POST /api/v1/meetings", s.require(ScopeWrite, s.createMeeting))
	m.HandleFunc("GET /api/v1/meetings", s.listEngagements(meetings))
	m.HandleFunc("GET /api/v1/meetings/{id}", s.getEngagement(meetings))
	m.HandleFunc("GET /api/v1/meetings/{id}/history", s.history(meetings))
	m.HandleFunc("POST /api/v1/meetings/{id}/{command}", s.require(ScopeWrite, s.meetingCommand))
	m.HandleFunc("POST /api/v1/meetings/{id}/history", readOnly) // not a command

	m.HandleFunc("POST /api/v1/visits", s.require(ScopeWrite, s.createVisit))
	m.HandleFunc("GET /api/v1/visits", s.listEngagements(visits))
	m.HandleFunc("GET /api/v1/visits/{id}", s.getEngagement(visits))
	m.HandleFunc("GET /api/v1/visits/{id}/history", s.history(visits))
	m.HandleFunc("POST /api/v1/visits/{id}/{command}", s.require(ScopeWrite, s.visitCommand))
	m.HandleFunc("POST /api/v1/visits/{id}/history", readOnly)

	m.HandleFunc("GET /api/v1/events", s.listEvents)

	if s.calendar != nil {
		m.HandleFunc("GET /calendar.ics", s.afterPosition(s.calendar.ServeAll))
		m.HandleFunc("GET /feeds/{file}", s.afterPosition(s.calendar.ServeNamed))
	}

	if s.deliveries != nil {
		m.HandleFunc("GET /api/v1/deliveries", s.require(ScopeAdmin, s.listDeliveries))
		m.HandleFunc("GET /api/v1/deliveries/{id}", s.require(ScopeAdmin, s.getDelivery))
		m.HandleFunc("POST /api/v1/deliveries/{id}/retry", s.require(ScopeAdmin, s.retryDelivery))
	}
	if s.metrics != nil {
		m.Handle("GET /metrics", s.metrics)
	}

	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)

	m.HandleFunc("/", s.notFound)
}

// afterPosition makes a handler honour ?min_position= like every read.
func (s *Server) afterPosition(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.awaitPosition(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}

// readOnly answers a write to a path that is only read: 405, as for any
// path that exists for other methods.
func readOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
}

// notFound answers what no route matched: 405 with Allow when the path
// exists for other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	writeProblem(w, http.StatusNotFound, "no such resource: "+r.URL.Path)
}
