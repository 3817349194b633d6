package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
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

// downstreamOutcomes lists every outcome label value.
var downstreamOutcomes = []string{outcomeOK, outcomeRateLimited, outcomeServerError, outcomeClientError, outcomeNoResponse}

// downstreamMetrics count BigCommerce HTTP requests by operation and outcome.
type downstreamMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newDownstreamMetrics registers the downstream request metrics on reg and
// pre-creates every series (operation × outcome), so dashboards and rate()
// see zeros rather than gaps.
func newDownstreamMetrics(reg prometheus.Registerer) *downstreamMetrics {
	m := &downstreamMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "downstream_requests_total",
			Help: "BigCommerce HTTP requests by GraphQL operation and outcome (ok, rate_limited = 429, server_error = 5xx, client_error = other refusals, no_response = connection failed or timed out)."},
			[]string{"operation", "outcome"}),
		// 5 ms .. about 48 s: the client's timeout is 30 s by default.
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "scim_bridge", Name: "downstream_request_duration_seconds",
			Help: "Duration of BigCommerce HTTP requests by GraphQL operation, failed ones included.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 11)},
			[]string{"operation"}),
	}
	reg.MustRegister(m.requests, m.duration)
	for _, op := range downstream.Operations() {
		for _, oc := range downstreamOutcomes {
			m.requests.WithLabelValues(op, oc)
		}
		m.duration.WithLabelValues(op)
	}
	return m
}

// observe is the downstream client's Options.Observe.
func (m *downstreamMetrics) observe(operation string, status int, reason string, d time.Duration) {
	m.requests.WithLabelValues(operation, downstreamOutcome(status, reason)).Inc()
	m.duration.WithLabelValues(operation).Observe(d.Seconds())
}

// downstreamOutcome classifies one HTTP request by its status and the
// client's failure reason ("" when the request succeeded).
func downstreamOutcome(status int, reason string) string {
	switch {
	case status == http.StatusTooManyRequests || reason == downstream.ReasonRateLimited:
		return outcomeRateLimited
	case status == 0, reason == downstream.ReasonTimeout, reason == downstream.ReasonConnection,
		reason == downstream.ReasonCanceled, reason == downstream.ReasonUnreadable:
		return outcomeNoResponse
	case status >= 500 || reason == downstream.ReasonServerError || reason == downstream.ReasonHTTP5xx:
		return outcomeServerError
	case status >= 400 || reason != "":
		return outcomeClientError
	default:
		return outcomeOK
	}
}

// groupsCollector exposes scim_bridge_groups{mapped}: one snapshot read per
// scrape gives both series, so they always add up to the number of groups.
type groupsCollector struct {
	svc  *bridge.Service
	desc *prometheus.Desc
}

func newGroupsCollector(svc *bridge.Service) *groupsCollector {
	return &groupsCollector{svc: svc, desc: prometheus.NewDesc("scim_bridge_groups",
		"SCIM groups by whether they grant a BigCommerce store (mapped=\"false\": an ordinary group with no downstream effect).",
		[]string{"mapped"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *groupsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. When the store cannot be read the
// series are left out of this scrape (an error would fail the whole scrape,
// hiding every other metric during a store outage; /readyz reports the store).
func (c *groupsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mapped, unmapped, err := c.svc.GroupStats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(mapped), "true")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(unmapped), "false")
}
