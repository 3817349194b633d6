package delivery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/history"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Metrics are the delivery engine's Prometheus metrics (namespace scim_bridge).
type Metrics struct {
	pending      *prometheus.GaugeVec
	oldestAge    prometheus.Gauge
	requests     *prometheus.CounterVec
	operations   *prometheus.CounterVec
	opsPerReq    prometheus.Histogram
	settled      prometheus.Counter
	deadLettered prometheus.Counter
	budgetWaits  *prometheus.CounterVec
	batchSize    prometheus.Gauge
	singleMode   prometheus.Gauge
	inDoubt      prometheus.Gauge
	capability   *prometheus.GaugeVec
	deprovision  *prometheus.HistogramVec
	sloBreaches  prometheus.Counter
	overdue      prometheus.Gauge
	slo          prometheus.Gauge
}

// deprovisionBuckets spans a removal delivered at once to one that waited a
// day for the request budget.
var deprovisionBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400}

// Capability names of the scim_bridge_downstream_capability metric.
var capabilityNames = []string{"introspection", "multi_mutation", "backward_paging", "node_stores", "add_returns_user", "account_user_fields"}

// NewMetrics registers the delivery metrics with reg (nil: not registered,
// for tests that do not look at them).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		pending: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "outbox_pending_operations",
			Help: "Downstream operations waiting to be sent (after net effect; pending intents beyond the planning window count one each), by priority."}, []string{"priority"}),
		oldestAge: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "outbox_oldest_pending_age_seconds",
			Help: "Age of the oldest pending downstream operation; 0 when none is pending."}),
		requests: f.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "delivery_requests_total",
			Help: "Downstream HTTP requests sent by the delivery engine, by purpose (mutation, discovery, catalog) and outcome."},
			[]string{"purpose"}),
		operations: f.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "downstream_operations_total",
			Help: "Downstream operations by kind and outcome (applied, already, failed, not_sent)."}, []string{"kind", "outcome"}),
		opsPerReq: f.NewHistogram(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "downstream_operations_per_request",
			Help: "Operations packed into one downstream request.", Buckets: []float64{1, 2, 5, 10, 20, 30, 40, 50, 75, 100}}),
		settled: f.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "intents_settled_without_request_total",
			Help: "Intents resolved by net effect or known state without a downstream request."}),
		deadLettered: f.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "intents_dead_lettered_total",
			Help: "Intents moved to the dead letters after a permanent failure or too many attempts."}),
		budgetWaits: f.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "budget_waits_total",
			Help: "Times a due batch waited for the request budget, by priority."}, []string{"priority"}),
		batchSize: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "delivery_max_batch",
			Help: "Operations per request currently allowed (smaller than configured after refusals)."}),
		singleMode: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "delivery_single_mutation_mode",
			Help: "1 when BigCommerce refused multi-mutation documents and the engine sends one mutation per request."}),
		inDoubt: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "outbox_in_doubt_operations",
			Help: "Pending downstream operations whose last request went unanswered (crash, timeout, cancel): BigCommerce may or may not have applied them; they are sent again."}),
		capability: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "downstream_capability",
			Help: "1 when BigCommerce was found to accept an optional shape beyond its documented API (introspection, multi_mutation, backward_paging, node_stores, add_returns_user, account_user_fields), 0 when the bridge uses the documented one."},
			[]string{"capability"}),
		deprovision: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "deprovision_latency_seconds",
			Help:    "Time from the IdP's request that took access away (deactivation, DELETE, group removal) to BigCommerce's confirmation, by target (account, store).",
			Buckets: deprovisionBuckets}, []string{"target"}),
		sloBreaches: f.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "deprovision_slo_breaches_total",
			Help: "Removals BigCommerce confirmed later than the deprovisioning SLO after the IdP asked, or gave up on (dead letters)."}),
		overdue: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "deprovision_overdue_operations",
			Help: "Pending removals the IdP asked for longer ago than the deprovisioning SLO."}),
		slo: f.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "deprovision_slo_seconds",
			Help: "The configured deprovisioning SLO."}),
	}
	m.deprovision.WithLabelValues("account")
	m.deprovision.WithLabelValues("store")
	for p := downstream.PriorityAccountRemoval; p <= downstream.PriorityRepair; p++ {
		m.budgetWaits.WithLabelValues(p.String())
		if p != downstream.PriorityLookup {
			m.pending.WithLabelValues(p.String())
		}
	}
	for _, c := range capabilityNames {
		m.capability.WithLabelValues(c)
	}
	for _, purpose := range []string{"mutation", "lookup", "catalog", "capabilities"} {
		m.requests.WithLabelValues(purpose)
	}
	for _, k := range []downstream.OpKind{downstream.OpAddToAccount, downstream.OpRemoveFromAccount, downstream.OpAddToStore, downstream.OpRemoveFromStore} {
		for _, o := range []string{"applied", "already", "failed", "not_sent"} {
			m.operations.WithLabelValues(k.String(), o)
		}
	}
	return m
}

// SetConfiguredBatch records the configured batch size at start.
func (m *Metrics) SetConfiguredBatch(n int) { m.batchSize.Set(float64(n)) }

func (e *Engine) observeQueue(p Plan, state known.Set, beyond map[store.IntentKind]int, now time.Time) {
	counts := make([]int, downstream.PriorityRead+1)
	for kind, n := range beyond {
		counts[kindPriority[kind]] += n
	}
	var oldestAt time.Time
	doubt := 0
	for _, op := range p.Ops {
		counts[op.Priority]++
		if oldestAt.IsZero() || op.Since.Before(oldestAt) {
			oldestAt = op.Since
		}
		if u, ok := state.Lookup(op.Op.Email); ok && inDoubt(u, op.Op.StoreHash) {
			doubt++
		}
	}
	for pr := downstream.PriorityAccountRemoval; pr <= downstream.PriorityRepair; pr++ {
		if pr != downstream.PriorityLookup {
			e.metrics.pending.WithLabelValues(pr.String()).Set(float64(counts[pr]))
		}
	}
	overdue := 0
	for _, op := range p.Ops {
		if history.IsDeprovision(op.Latest.Source, op.Latest.Kind) && now.Sub(op.Since) > e.o.DeprovisionSLO {
			overdue++
		}
	}
	e.metrics.overdue.Set(float64(overdue))
	age := 0.0
	if !oldestAt.IsZero() {
		age = now.Sub(oldestAt).Seconds()
	}
	e.metrics.oldestAge.Set(age)
	e.metrics.inDoubt.Set(float64(doubt))
	e.mu.Lock()
	e.status.Pending = len(p.Ops)
	for _, n := range beyond {
		e.status.Pending += n
	}
	e.status.PendingByPrio = counts[:downstream.PriorityRead]
	e.status.OldestPending = oldestAt
	e.status.InDoubt = doubt
	e.mu.Unlock()
}

// observeCapabilities copies the client's capabilities to the status and the
// capability metric.
func (e *Engine) observeCapabilities() {
	c := e.o.Client.Capabilities()
	e.mu.Lock()
	e.status.Capabilities = c
	multi := e.status.maxBatch > 1 && e.status.BatchMode == "batched"
	e.mu.Unlock()
	set := func(name string, on bool) { e.metrics.capability.WithLabelValues(name).Set(boolGauge(on)) }
	set("introspection", c.Introspected)
	set("multi_mutation", multi)
	set("backward_paging", c.BackwardPaging)
	set("node_stores", c.NodeStores)
	set("add_returns_user", c.AddReturnsUser)
	set("account_user_fields", len(c.AccountUserFields) > 0)
}

func (e *Engine) observeBatch(b downstream.Batch, ops int) {
	e.metrics.requests.WithLabelValues("mutation").Add(float64(b.Requests))
	if b.Requests > 0 {
		e.metrics.opsPerReq.Observe(float64(ops) / float64(b.Requests))
	}
	for _, r := range b.Results {
		outcome := "failed"
		switch r.Outcome {
		case downstream.Applied:
			outcome = "applied"
		case downstream.AlreadyDone:
			outcome = "already"
		default:
			if r.Err != nil && r.Err.Reason == downstream.ReasonBudget {
				outcome = "not_sent"
			}
		}
		e.metrics.operations.WithLabelValues(r.Op.Kind.String(), outcome).Inc()
	}
}

// observeDeprovision records the latency of the removals a batch settled
// (confirmed, or given up), against the SLO.
func (e *Engine) observeDeprovision(entries []store.AccessChange) {
	for _, r := range history.Removals(entries) {
		if !r.Confirmed {
			e.metrics.sloBreaches.Inc()
			continue
		}
		target := "account"
		if r.Change == store.StoreRemove {
			target = "store"
		}
		e.metrics.deprovision.WithLabelValues(target).Observe(r.Latency.Seconds())
		if r.Latency > e.o.DeprovisionSLO {
			e.metrics.sloBreaches.Inc()
		}
	}
}

// kindPriority is the priority the pending intents beyond the planning
// window are counted at: that of an IdP's intent of their kind (the window
// holds the earliest ones, so any repair among them is counted as the IdP's).
var kindPriority = map[store.IntentKind]downstream.Priority{
	store.AccountRemove: downstream.PriorityAccountRemoval,
	store.StoreRemove:   downstream.PriorityStoreRemoval,
	store.AccountAdd:    downstream.PriorityAccountAdd,
	store.StoreAdd:      downstream.PriorityStoreAdd,
}
