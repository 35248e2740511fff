package mcpserver

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values, fixed so that dashboards and alerts can rely on them.
const (
	resultOK           = "ok"            // the call succeeded
	resultAccessDenied = "access_denied" // AWS denied it (an alarm-worthy spike: misconfiguration or abuse)
	resultError        = "error"         // anything else: bad input, missing object, STS or S3 down, timeout
)

// awsActions are the IAM actions the server's calls need.
var awsActions = []string{"sts:AssumeRole", "sts:GetCallerIdentity", "s3:ListBucket", "s3:GetObject", "s3:PutObject"}

// metrics live in a registry of their own, so that several Handlers (tests) never collide and
// the server exports nothing it did not define.
type metrics struct {
	registry      *prometheus.Registry
	assumeRole    *prometheus.CounterVec
	assumeSeconds prometheus.Histogram
	toolCalls     *prometheus.CounterVec
	toolSeconds   *prometheus.HistogramVec
	accessDenied  *prometheus.CounterVec
	refused       *prometheus.CounterVec
	cacheLookups  *prometheus.CounterVec
	// taskRoleRenewals counts STS refusals of the task role's own credentials that made the
	// server fetch fresh ones (an AWS restart, revoked credentials).
	taskRoleRenewals prometheus.Counter
	handler          http.Handler
}

func newMetrics() *metrics {
	r := prometheus.NewRegistry()
	m := &metrics{
		registry: r,
		assumeRole: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sts_assume_role_total",
			Help: "STS AssumeRole calls made for users, by result (ok, access_denied, error).",
		}, []string{"result"}),
		assumeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sts_assume_role_duration_seconds",
			Help:    "Latency of STS AssumeRole calls made for users.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tool_calls_total",
			Help: "MCP tool calls, by tool and result (ok, access_denied, error).",
		}, []string{"tool", "result"}),
		toolSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tool_call_duration_seconds",
			Help:    "Latency of MCP tool calls, AssumeRole included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"tool"}),
		accessDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "access_denied_total",
			Help: "AccessDenied answers from AWS, by the IAM action denied (sts:AssumeRole, s3:GetObject, ...).",
		}, []string{"action"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_refused_total",
			Help: "Requests refused before any tool ran, by reason (missing_context_proof, invalid_context_proof, stale_context_proof, replayed_context_proof, missing_header, malformed_header, origin_not_allowed, host_not_allowed, rate_limited, session_not_yours, invalid_jsonrpc_request, body_too_large, ...).",
		}, []string{"reason"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "session_cache_lookups_total",
			Help: "Session cache lookups, by result (hit, miss); only with the session cache on.",
		}, []string{"result"}),
		taskRoleRenewals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "task_role_credential_renewals_total",
			Help: "Times STS refused the task role's own credentials (InvalidClientTokenId, ExpiredToken) and the server fetched fresh ones and retried once.",
		}),
	}
	r.MustRegister(m.assumeRole, m.assumeSeconds, m.toolCalls, m.toolSeconds, m.accessDenied, m.refused, m.cacheLookups, m.taskRoleRenewals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Export the known series at zero, so that rate() and alerts work from the first scrape.
	for _, action := range awsActions {
		m.accessDenied.WithLabelValues(action)
	}
	for _, res := range []string{resultOK, resultAccessDenied, resultError} {
		m.assumeRole.WithLabelValues(res)
		for _, tool := range toolNames {
			m.toolCalls.WithLabelValues(tool, res)
		}
	}
	m.handler = promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r})
	return m
}
