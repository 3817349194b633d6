package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// server starts the telemetry handler on st; bc is what Downstream reports.
func server(t *testing.T, st store.Store, bc *atomic.Value) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "test_events_total", Help: "Events of the test."})
	reg.MustRegister(c)
	c.Add(3)
	h := Handler(Options{
		Gatherer: reg, Store: st, ReadyTimeout: 500 * time.Millisecond,
		Downstream: func() (bool, string) {
			reason, _ := bc.Load().(string)
			return reason == "", reason
		},
		Status: func(context.Context) any {
			return map[string]any{"version": "test", "leader": map[string]bool{"isLeader": true}}
		},
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func fetch(t *testing.T, url string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var body map[string]any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &body))
	}
	return res.StatusCode, string(raw), body
}

func TestEndpoints(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			var bc atomic.Value
			bc.Store("")
			base := server(t, st, &bc)

			status, _, body := fetch(t, base+"/healthz")
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "ok", body["status"])

			status, _, body = fetch(t, base+"/readyz")
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, map[string]any{"status": "ready", "store": "ok", "bigcommerce": "ok"}, body)

			// BigCommerce failing: still ready (SCIM works from the store), but
			// explicitly degraded with a bounded reason.
			bc.Store("http_5xx")
			status, _, body = fetch(t, base+"/readyz")
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "degraded", body["bigcommerce"])
			require.Equal(t, "http_5xx", body["bigcommerceReason"])
			require.Equal(t, "ready", body["status"])

			status, _, body = fetch(t, base+"/status")
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "test", body["version"])

			status, text, _ := fetch(t, base+"/metrics")
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, text, "scim_bridge_test_events_total 3")

			status, _, _ = fetch(t, base+"/scim/v2/Users")
			require.Equal(t, http.StatusNotFound, status, "the telemetry listener serves no SCIM")

			// The store gone: not ready.
			require.NoError(t, st.Close())
			start := time.Now()
			status, _, body = fetch(t, base+"/readyz")
			require.Equal(t, http.StatusServiceUnavailable, status)
			require.Equal(t, "unavailable", body["store"])
			require.Equal(t, "not ready", body["status"])
			require.Less(t, time.Since(start), 5*time.Second, "bounded by ReadyTimeout")
			status, _, _ = fetch(t, base+"/healthz")
			require.Equal(t, http.StatusOK, status, "alive even when not ready")
		})
	}
}

func TestOnlyGET(t *testing.T) {
	var bc atomic.Value
	bc.Store("")
	base := server(t, storetest.NewSQLite(t), &bc)
	for _, path := range []string{"/healthz", "/readyz", "/status", "/metrics"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader("{}"))
		require.NoError(t, err)
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, path)
	}
}
