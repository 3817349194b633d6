package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/bridge"
)

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
