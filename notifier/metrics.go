package notifier

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the notifier's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	queuedTotal    *prometheus.CounterVec
	deliveredTotal *prometheus.CounterVec
	latency        *prometheus.HistogramVec
}

// NewMetrics registers the notifier's metrics with reg. The label "kind"
// is the alert category: the label name is historical (dashboards use it).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		queuedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chancery_alerts_queued_total",
			Help: "Alerts queued for delivery, by kind (reminder, change, digest).",
		}, []string{"kind"}),
		deliveredTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chancery_deliveries_total",
			Help: "Delivery attempts by channel, kind and outcome (sent, retrying, failed, skipped).",
		}, []string{"channel", "kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chancery_alert_latency_seconds",
			Help:    "From the moment an alert fell due to its acceptance by the receiver.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 120, 300, 900, 3600},
		}, []string{"channel", "kind"}),
	}
	reg.MustRegister(m.queuedTotal, m.deliveredTotal, m.latency)
	return m
}

func (m *Metrics) queued(category string) {
	if m != nil {
		m.queuedTotal.WithLabelValues(category).Inc()
	}
}

func (m *Metrics) delivered(channel, category, outcome string, due, now time.Time) {
	if m == nil {
		return
	}
	m.deliveredTotal.WithLabelValues(channel, category, outcome).Inc()
	if outcome == StatusSent && !due.IsZero() {
		m.latency.WithLabelValues(channel, category).Observe(max(now.Sub(due).Seconds(), 0))
	}
}
