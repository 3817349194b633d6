package reconcile

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Run outcomes, the values of the outcome label of reconcile_runs_total.
const (
	// OutcomeSuccess means the read was complete and the plan was applied (or,
	// in a dry run, computed).
	OutcomeSuccess = "success"
	// OutcomeAborted means the plan needed more removals than the cap; nothing
	// was applied.
	OutcomeAborted = "aborted"
	// OutcomeFailed means the read or the store failed; nothing was applied.
	OutcomeFailed = "failed"
)

// Metrics are the reconciler's Prometheus metrics (namespace scim_bridge). All
// labels are bounded: class (the drift classes), outcome, kind (intent kinds).
type Metrics struct {
	drift       *prometheus.GaugeVec
	pending     prometheus.Gauge
	lastSuccess prometheus.Gauge
	duration    prometheus.Histogram
	requests    prometheus.Counter
	estimated   prometheus.Gauge
	runs        *prometheus.CounterVec
	repairs     *prometheus.CounterVec
}

// NewMetrics registers the reconciliation metrics with reg (nil: not
// registered, for tests and one-shot commands that do not expose them).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		drift: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "reconcile_drift",
			Help: "Drift found by the last complete reconciliation run, by class (protected counts protected emails found, not drift)."},
			[]string{"class"}),
		pending: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "reconcile_pending_users",
			Help: "Users the last complete run did not compare because the delivery engine was about to change them."}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "reconcile_last_success_timestamp_seconds",
			Help: "Unix time at which the last successful reconciliation run ended; 0 before the first."}),
		duration: f.NewHistogram(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "reconcile_duration_seconds",
			Help: "Duration of reconciliation runs, waiting for the request budget included.",
			// Runs wait for the budget (70 requests/hour): large accounts take hours.
			Buckets: []float64{1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 28800}}),
		requests: f.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "reconcile_requests_total",
			Help: "Downstream requests spent reading BigCommerce for reconciliation, failed reads included."}),
		estimated: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "reconcile_requests_estimated",
			Help: "Downstream requests the last reconciliation run expected to spend before it started reading."}),
		runs: f.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "reconcile_runs_total",
			Help: "Reconciliation runs by outcome (success, aborted by the removal cap, failed)."}, []string{"outcome"}),
		repairs: f.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "reconcile_repairs_total",
			Help: "Repair intents reconciliation put into the outbox, by kind."}, []string{"kind"}),
	}
	for _, c := range Classes() {
		m.drift.WithLabelValues(string(c))
	}
	for _, o := range []string{OutcomeSuccess, OutcomeAborted, OutcomeFailed} {
		m.runs.WithLabelValues(o)
	}
	for _, k := range []store.IntentKind{store.AccountAdd, store.AccountRemove, store.StoreAdd, store.StoreRemove} {
		m.repairs.WithLabelValues(string(k))
	}
	return m
}
