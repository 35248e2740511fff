package authorizer

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry of their own, so that several Authorizers (tests) never collide
// and the authorizer exports nothing it did not define.
type metrics struct {
	registry         *prometheus.Registry
	decisions        *prometheus.CounterVec
	byReason         map[Reason]prometheus.Counter
	dependencyErrors *prometheus.CounterVec
	jwksFetches      *prometheus.CounterVec
	jwksSuppressed   prometheus.Counter
	duration         prometheus.Histogram
}

func newMetrics() *metrics {
	r := prometheus.NewRegistry()
	m := &metrics{
		registry: r,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authorizer_decisions_total",
			Help: "Authorization decisions, by decision (allow, deny) and reason (ok, missing_token, token_expired, unknown_user, idp_unavailable, ...).",
		}, []string{"decision", "reason"}),
		dependencyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authorizer_dependency_errors_total",
			Help: "Failures of the authorizer's dependencies, by dependency (idp, role_store); each ended in a deny.",
		}, []string{"dependency"}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authorizer_jwks_fetches_total",
			Help: "JWKS fetches, by result (ok, error).",
		}, []string{"result"}),
		jwksSuppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authorizer_jwks_refetches_suppressed_total",
			Help: "JWKS refetches a token asked for (unknown kid, stale keys) but the rate limit refused.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "authorizer_decision_duration_seconds",
			Help:    "Time to decide, JWKS and role-store calls included.",
			Buckets: prometheus.ExponentialBuckets(0.00002, 3, 12),
		}),
	}
	r.MustRegister(m.decisions, m.dependencyErrors, m.jwksFetches, m.jwksSuppressed, m.duration)
	// Every series exists from the start (at 0), so rate() and alerts see the first deny.
	m.byReason = make(map[Reason]prometheus.Counter, len(Reasons()))
	for _, reason := range Reasons() {
		decision := "deny"
		if reason == ReasonOK {
			decision = "allow"
		}
		m.byReason[reason] = m.decisions.WithLabelValues(decision, string(reason))
	}
	for _, d := range []string{"idp", "role_store"} {
		m.dependencyErrors.WithLabelValues(d)
	}
	for _, res := range []string{"ok", "error"} {
		m.jwksFetches.WithLabelValues(res)
	}
	return m
}

func (m *metrics) decision(r Reason) {
	if c, ok := m.byReason[r]; ok {
		c.Inc()
		return
	}
	m.decisions.WithLabelValues("deny", string(r)).Inc()
}

// MetricsHandler serves the authorizer's Prometheus metrics (for an in-process authorizer; a
// Lambda is not scraped — use the decision log's reason key with CloudWatch metric filters).
func (a *Authorizer) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{})
}

// Gatherer gives the metrics to an existing Prometheus registry or to tests.
func (a *Authorizer) Gatherer() prometheus.Gatherer { return a.metrics.registry }
