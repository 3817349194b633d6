package downstream

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one downstream HTTP request (the outcome label of
// scim_bridge_downstream_requests_total).
const (
	outcomeOK          = "ok"
	outcomeRateLimited = "rate_limited"
	outcomeServerError = "server_error"
	outcomeClientError = "client_error"
	outcomeNoResponse  = "no_response"
)

// requestOutcomes lists every outcome label value.
var requestOutcomes = []string{outcomeOK, outcomeRateLimited, outcomeServerError, outcomeClientError, outcomeNoResponse}

// Metrics count BigCommerce HTTP requests by operation and outcome.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the downstream request metrics on reg and
// pre-creates every series (operation × outcome), so dashboards and rate()
// see zeros rather than gaps.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "downstream_requests_total",
			Help: "BigCommerce HTTP requests by GraphQL operation and outcome (ok, rate_limited = 429, server_error = 5xx, client_error = other refusals, no_response = connection failed or timed out)."},
			[]string{"operation", "outcome"}),
		// 5 ms .. about 48 s: the client's timeout is 30 s by default.
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "downstream_request_duration_seconds",
			Help: "Duration of BigCommerce HTTP requests by GraphQL operation, failed ones included.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 11)},
			[]string{"operation"}),
	}
	reg.MustRegister(m.requests, m.duration)
	for _, op := range Operations() {
		for _, oc := range requestOutcomes {
			m.requests.WithLabelValues(op, oc)
		}
		m.duration.WithLabelValues(op)
	}
	return m
}

// Observe records one HTTP request; it is the client's Options.Observe.
func (m *Metrics) Observe(operation string, status int, reason string, d time.Duration) {
	m.requests.WithLabelValues(operation, requestOutcome(status, reason)).Inc()
	m.duration.WithLabelValues(operation).Observe(d.Seconds())
}

// downstreamOutcome classifies one HTTP request by its status and the
// client's failure reason ("" when the request succeeded).
func requestOutcome(status int, reason string) string {
	switch {
	case status == http.StatusTooManyRequests || reason == ReasonRateLimited:
		return outcomeRateLimited
	case status == 0, reason == ReasonTimeout, reason == ReasonConnection,
		reason == ReasonCanceled, reason == ReasonUnreadable:
		return outcomeNoResponse
	case status >= 500 || reason == ReasonServerError || reason == ReasonHTTP5xx:
		return outcomeServerError
	case status >= 400 || reason != "":
		return outcomeClientError
	default:
		return outcomeOK
	}
}
