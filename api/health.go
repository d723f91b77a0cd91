package api

import (
	"net/http"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports ready when NATS is reachable and the read model has applied
// every event the stream holds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	ready := true
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			ready = false
			body["nats"] = err.Error()
		} else {
			body["nats"] = "connected"
		}
	}
	pos, last, err := s.projector.Lag(r.Context())
	body["position"] = pos
	if err != nil {
		ready = false
		body["stream"] = err.Error()
	} else {
		body["stream_last_seq"] = last
		if pos < last {
			ready = false
		}
	}
	if err := s.projector.Err(); err != nil {
		ready = false
		body["projector"] = err.Error()
	}
	// A rebuild after a projection upgrade does not make the service
	// unready: the old read model answers until the new one is swapped in.
	if rb := s.projector.RebuildStatus(); rb != nil && (rb.Running || rb.Error != "") {
		body["rebuild"] = rb
	}
	status := http.StatusOK
	body["status"] = "ready"
	if !ready {
		status = http.StatusServiceUnavailable
		body["status"] = "not ready"
	}
	writeJSON(w, status, body)
}
