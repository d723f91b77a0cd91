package api

import (
	"net/http"
	"time"
)

// healthz makes the handler of GET /healthz: the process is up.
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// DefaultReadyMaxLag is how long the read model may leave a known event
// unapplied and still be ready.
const DefaultReadyMaxLag = 5 * time.Second

// readyz makes the handler of GET /readyz. It reports ready when NATS is connected and the read model lags the
// stream by less than the configured bound. It answers from what the
// service already knows (the connection's state, the projector's last probe
// of the stream), never by asking NATS, so it answers at once even during
// an election. A client that must read its own writes passes min_position.
func (s *Server) readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		h := s.projector.Health(s.now())
		body["position"] = h.Position
		body["stream_last_seq"] = h.StreamSeq
		body["lag_seconds"] = h.Lag.Seconds()
		body["max_lag_seconds"] = s.maxLag.Seconds()
		if h.Lag >= s.maxLag {
			ready = false
			body["read_model"] = "behind the stream for " + h.Lag.Round(time.Millisecond).String()
		}
		if h.ProbeErr != nil {
			// Reads are served while the stream cannot be asked for a moment
			// (an election takes 5 to 8 s), without turning every replica
			// unready at once. Silent for longer, the node this replica is
			// connected to is likely cut off from the rest: its read model
			// is frozen, and a load balancer should send readers elsewhere.
			body["stream"] = h.ProbeErr.Error()
			silent := s.now().Sub(h.ProbedAt)
			body["stream_silent_seconds"] = silent.Round(time.Millisecond).Seconds()
			if !h.ProbedAt.IsZero() && silent > 2*s.maxLag {
				ready = false
			}
		}
		if err := s.projector.Err(); err != nil {
			ready = false
			body["projector"] = err.Error()
		}
		if s.leaders != nil {
			// Which stream or bucket has no leader (an election, a partition):
			// writes that need it answer 503 meanwhile.
			body["leaders"] = s.leaders()
		}
		if err := s.writable(); err != nil {
			ready = false
			body["store"] = err.Error()
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
			w.Header().Set("Retry-After", RetryAfter)
		}
		writeJSON(w, status, body)
	})
}
