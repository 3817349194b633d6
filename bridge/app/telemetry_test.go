package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// TestTelemetryOfARunningBridge checks the telemetry listener of a whole
// bridge after some traffic: /status has its sections, /readyz is ready, and
// /metrics passes the linter promtool check metrics uses, with zero problems.
func TestTelemetryOfARunningBridge(t *testing.T) {
	sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})
	cfg := apptest.Config("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
	cfg.SCIM.RequestsPerSecond, cfg.SCIM.Burst = 1000, 1000
	c, tel := startApp(t, cfg)

	ann := c.Must(t, http.MethodPost, "/Users", apptest.UserJSON("tel.ann@corp.example", true), 201)["id"].(string)
	c.Must(t, http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market","members":[{"value":%q}]}`, ann), 201)
	c.Must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Not A Store"}`, 201)
	c.Must(t, http.MethodGet, "/Users?filter="+urlQuery(`userName eq "tel.ann@corp.example"`), "", 200)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.Base+"/Users", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
	res, err := c.HTTP.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Eventually(t, func() bool { return apptest.SameSet(apptest.BCState(sim)["tel.ann@corp.example"], []string{"abc123"}) },
		30*time.Second, 50*time.Millisecond, "delivered")

	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(tel + path)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(raw)
	}

	status, body := get("/healthz")
	require.Equal(t, http.StatusOK, status, body)
	status, body = get("/readyz")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"store": "ok"`)

	// The engine counts a delivery right after recording its results, a moment
	// after the simulator applied it: wait for the count.
	var doc map[string]any
	require.Eventually(t, func() bool {
		status, body = get("/status")
		doc = nil
		if status != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil {
			return false
		}
		d, _ := doc["delivery"].(map[string]any)
		n, _ := d["requests"].(float64)
		return n > 0
	}, 10*time.Second, 20*time.Millisecond, "/status counts the delivery")
	for _, section := range []string{"version", "startedAt", "leader", "budget", "delivery", "deadLetters", "reconcile", "bigcommerce"} {
		require.Contains(t, doc, section, "/status has %s", section)
	}
	require.Equal(t, version, doc["version"])
	require.Equal(t, true, doc["leader"].(map[string]any)["isLeader"])
	budget := doc["budget"].(map[string]any)
	require.Equal(t, "1000/1m", budget["rateLimit"])
	require.Contains(t, budget, "available")
	delivery := doc["delivery"].(map[string]any)
	require.Positive(t, delivery["requests"], "the delivery is counted")
	require.Contains(t, delivery, "pending")
	require.Equal(t, float64(0), doc["deadLetters"])

	// Readable for people: no zero times, priorities by name, short numbers.
	require.NotContains(t, body, "0001-01-01", "unknown times are null, never the zero time")
	byPrio, ok := delivery["pendingByPriority"].(map[string]any)
	require.True(t, ok, "pendingByPriority is keyed by priority name: %v", delivery["pendingByPriority"])
	for _, name := range []string{"account_removal", "store_removal", "account_add", "store_add", "repair"} {
		require.Contains(t, byPrio, name)
	}
	require.Nil(t, budget["pausedUntil"], "no 429 pause: null")
	require.Regexp(t, `"available": -?\d+(\.\d{1,2})?,`, body, "budget figures have at most two decimals")
	require.Contains(t, doc["bigcommerce"].(map[string]any)["endpoint"], "/accounts/"+simulator.DefaultAccountUUID+"/graphql")

	status, metrics := get("/metrics")
	require.Equal(t, http.StatusOK, status)
	problems, err := promlint.New(strings.NewReader(metrics)).Lint()
	require.NoError(t, err)
	require.Empty(t, problems, "promlint (promtool check metrics) problems")
	for _, want := range []string{
		`scim_bridge_scim_requests_total{method="POST",resource="User",status="201"} 1`,
		`scim_bridge_scim_requests_total{method="GET",resource="User",status="401"} 1`,
		`scim_bridge_scim_throttled_total 0`,
		`scim_bridge_groups{mapped="true"} 1`,
		`scim_bridge_groups{mapped="false"} 1`,
		`scim_bridge_downstream_requests_total{operation="BridgeApply",outcome="ok"}`,
		`scim_bridge_downstream_requests_total{operation="BridgeAccount",outcome="ok"} 1`,
		`scim_bridge_downstream_requests_total{operation="BridgeApply",outcome="rate_limited"} 0`,
		`scim_bridge_downstream_request_duration_seconds_bucket{operation="BridgeApply",le=`,
		`scim_bridge_build_info{version=`,
		`scim_bridge_leader 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		require.Contains(t, metrics, want)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "@", "%40").Replace(s)
}
