package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/chancery/chancery/notifier"
)

// deliveryView is a delivery record as the API shows it: the alert's
// rendered bodies are left out of lists.
type deliveryView struct {
	ID          string `json:"id"`
	Category    string `json:"kind"` // the alert's category; "kind" is its historical wire name
	Rule        string `json:"rule"`
	Subscriber  string `json:"subscriber"`
	AggregateID string `json:"aggregate_id,omitempty"`
	Subject     string `json:"subject"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	DueAt       string `json:"due_at"`
	QueuedAt    string `json:"queued_at"`
	UpdatedAt   string `json:"updated_at"`
	SentAt      string `json:"sent_at,omitempty"`
}

func viewDelivery(d notifier.Delivery) deliveryView {
	v := deliveryView{
		ID: d.ID, Category: d.Category, Rule: d.Rule, Subscriber: d.Subscriber, AggregateID: d.AggregateID,
		Subject: d.Message.Subject, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError,
		DueAt: rfc3339(d.DueAt), QueuedAt: rfc3339(d.QueuedAt), UpdatedAt: rfc3339(d.UpdatedAt),
	}
	if !d.SentAt.IsZero() {
		v.SentAt = rfc3339(d.SentAt)
	}
	return v
}

// listDeliveries makes the handler of GET /api/v1/deliveries?status=failed.
func (s *Server) listDeliveries() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r, "status", "min_position"); err != nil {
			s.writeError(w, r, err)
			return
		}
		status := r.URL.Query().Get("status")
		if status != "" && !notifier.ValidStatus(status) {
			s.writeError(w, r, invalid("status", "must be one of queued, sending, retrying, sent, failed, skipped"))
			return
		}
		list, err := s.deliveries.List(r.Context(), status)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]deliveryView, len(list))
		for i, d := range list {
			out[i] = viewDelivery(d)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	})
}

// getDelivery makes the handler of GET /api/v1/deliveries/{id}.
func (s *Server) getDelivery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r, "min_position"); err != nil {
			s.writeError(w, r, err)
			return
		}
		d, err := s.deliveries.Get(r.Context(), r.PathValue("id"))
		if errors.Is(err, notifier.ErrNoDelivery) {
			err = notFoundf("no delivery %s", r.PathValue("id"))
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"delivery": viewDelivery(d), "message": d.Message})
	})
}

// retryDelivery makes the handler of POST /api/v1/deliveries/{id}/retry: a
// dead letter queued again.
func (s *Server) retryDelivery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.deliveries.Retry(r.Context(), r.PathValue("id"))
		switch {
		case errors.Is(err, notifier.ErrNoDelivery):
			s.writeError(w, r, notFoundf("no delivery %s", r.PathValue("id")))
			return
		case errors.Is(err, notifier.ErrNotRetryable):
			writeProblem(w, http.StatusConflict, err.Error())
			return
		case err != nil:
			s.writeError(w, r, err)
			return
		}
		s.logger.Info("dead letter queued again", "alert", d.ID, "by", s.callerOf(r).token.Name)
		writeJSON(w, http.StatusAccepted, map[string]any{"delivery": viewDelivery(d)})
	})
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
