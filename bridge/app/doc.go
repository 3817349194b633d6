// Package app assembles and runs a bridge from a validated configuration:
// the store, the SCIM server, the BigCommerce client and its request budget,
// the delivery engine, scheduled reconciliation, leader election and the
// telemetry endpoints. It is the one package that joins the SCIM layer to
// the domain; commands (cmd/scim-bridge) parse flags, load the
// configuration, call [New] and [App.Run], and print.
//
// [Open] builds only the shared components (store, service, budget, client)
// for one-shot operator commands such as reconcile, report and dead-letters.
// Each component defines its own metrics next to it (scim.NewMetrics,
// downstream.NewMetrics, delivery.NewMetrics, reconcile.NewMetrics); this
// package registers them on one registry and adds the process-wide ones
// (build information, leadership, budget gauges, groups).
package app
