// Package telemetry serves the bridge's operator endpoints on their own
// listener: /metrics (Prometheus, on the registry the bridge builds), /healthz
// (the process is alive), /readyz (the store is reachable and writable, and
// BigCommerce is reachable or the bridge says explicitly that it is degraded)
// and /status (JSON: leader, budget, queue, deliveries, reconciliation, version).
package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Options configures the handler.
type Options struct {
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Store is pinged (a write and a delete) by /readyz.
	Store store.Store
	// Downstream reports whether BigCommerce was reachable at the last attempt
	// and, if not, why (a bounded reason). /readyz answers 200 either way but
	// says "degraded": SCIM keeps working from the store while BigCommerce is down.
	Downstream func() (ok bool, reason string)
	// Status returns the /status document.
	Status func(ctx context.Context) any
	// ReadyTimeout bounds the store check of /readyz; DefaultReadyTimeout when 0.
	ReadyTimeout time.Duration
}

// DefaultReadyTimeout bounds the store check of /readyz: a store that has not
// answered a write and a delete by then is as good as unreachable.
const DefaultReadyTimeout = 5 * time.Second

// Handler returns the telemetry HTTP handler.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		timeout := o.ReadyTimeout
		if timeout <= 0 {
			timeout = DefaultReadyTimeout
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		body := map[string]any{"store": "ok"}
		status := http.StatusOK
		if err := o.Store.Ping(ctx); err != nil {
			status = http.StatusServiceUnavailable
			body["store"] = "unavailable"
		}
		if o.Downstream != nil {
			if ok, reason := o.Downstream(); ok {
				body["bigcommerce"] = "ok"
			} else {
				body["bigcommerce"] = "degraded"
				body["bigcommerceReason"] = reason
			}
		}
		body["status"] = map[bool]string{true: "ready", false: "not ready"}[status == http.StatusOK]
		writeJSON(w, status, body)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.Status(r.Context()))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
