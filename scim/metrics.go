package scim

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the SCIM server's request metrics. Their labels are bounded
// whatever a client sends: the resource type and method are folded to known
// values before they reach Observe.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled prometheus.Counter
}

// NewMetrics registers the SCIM request metrics on reg. Pass its Observe and
// Throttled methods as [Options.Observe] and [Options.Throttled].
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "scim_requests_total",
			Help: "SCIM requests by resource type, method and status code."}, []string{"resource", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "scim_request_duration_seconds",
			Help: "SCIM request latency by resource type and method.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)},
			[]string{"resource", "method"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "scim_throttled_total",
			Help: "SCIM requests answered 429 by the per-token rate limit (scim.requests_per_second, scim.burst)."}),
	}
	reg.MustRegister(m.requests, m.duration, m.throttled)
	return m
}

// Observe records one answered request.
func (m *Metrics) Observe(resource, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(resource, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(resource, method).Observe(d.Seconds())
}

// Throttled counts one request refused by the per-token rate limit.
func (m *Metrics) Throttled() { m.throttled.Inc() }
