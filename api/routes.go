package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// route is one endpoint: its method and path, the scope a token needs to
// call it (public for none), and the handler that answers it.
type route struct {
	method, path string
	scope        string
	handler      http.Handler
}

// public is the scope of what anyone may call, with or without a token.
const public = ""

// routes lists the whole API surface in one place.
func (s *Server) routes() []route {
	rs := []route{
		{"POST", "/api/v1/meetings", ScopeWrite, s.create(meetings)},
		{"GET", "/api/v1/meetings", public, s.listEngagements(meetings)},
		{"GET", "/api/v1/meetings/{id}", public, s.getEngagement(meetings)},
		{"GET", "/api/v1/meetings/{id}/history", public, s.history(meetings)},
	}
	rs = append(rs, s.commandRoutes(meetings)...) // POST /api/v1/meetings/{id}/reschedule, ...
	rs = append(rs, []route{
		{"POST", "/api/v1/visits", ScopeWrite, s.create(visits)},
		{"GET", "/api/v1/visits", public, s.listEngagements(visits)},
		{"GET", "/api/v1/visits/{id}", public, s.getEngagement(visits)},
		{"GET", "/api/v1/visits/{id}/history", public, s.history(visits)},
	}...)
	rs = append(rs, s.commandRoutes(visits)...)
	rs = append(rs, []route{
		{"GET", "/api/v1/events", public, s.listEvents()},
		{"GET", "/api/v1/openapi.json", public, openAPI()},
		{"GET", "/healthz", public, healthz()},
		{"GET", "/readyz", public, s.readyz()},
	}...)
	if s.calendar != nil {
		rs = append(rs, []route{
			{"GET", "/calendar.ics", public, s.afterPosition(http.HandlerFunc(s.calendar.ServeAll))},
			{"GET", "/feeds/{file}", public, s.afterPosition(http.HandlerFunc(s.calendar.ServeNamed))},
		}...)
	}
	if s.deliveries != nil {
		rs = append(rs, []route{
			{"GET", "/api/v1/deliveries", ScopeAdmin, s.listDeliveries()},
			{"GET", "/api/v1/deliveries/{id}", ScopeAdmin, s.getDelivery()},
			{"POST", "/api/v1/deliveries/{id}/retry", ScopeAdmin, s.retryDelivery()},
		}...)
	}
	if s.metrics != nil {
		rs = append(rs, route{"GET", "/metrics", public, s.metrics})
	}
	return rs
}

// commandRoutes are the routes of et's commands, one each, in name order.
func (s *Server) commandRoutes(et *engagementType) []route {
	var rs []route
	for _, name := range slices.Sorted(maps.Keys(et.commands)) {
		rs = append(rs, route{"POST", "/api/v1/" + et.plural + "/{id}/" + name, ScopeWrite, s.command(et, name)})
	}
	return rs
}

// handle registers every route on the mux, behind its scope, and answers
// what none matches.
func (s *Server) handle(rs []route) {
	for _, rt := range rs {
		h := rt.handler
		if rt.scope != public {
			h = s.require(rt.scope, h)
		}
		s.mux.Handle(rt.method+" "+rt.path, h)
	}
	s.mux.Handle("/", s.notFound())
}

// afterPosition makes a handler honour ?min_position= like every read.
func (s *Server) afterPosition(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.awaitPosition(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// notFound makes the handler of what no route matched: 405 with Allow when
// the path exists for other methods, else 404.
func (s *Server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	})
}
