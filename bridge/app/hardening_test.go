package app_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// TestServeHardeningFromConfig checks that scim.allow_cidrs,
// scim.trust_proxy_cidrs, scim.requests_per_second and scim.burst reach the
// SCIM listener of a whole bridge, and that throttling shows in /metrics.
func TestServeHardeningFromConfig(t *testing.T) {
	_, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})
	start := func(t *testing.T, allow, trust []string, rps float64, burst int) (apptest.Client, string) {
		t.Helper()
		cfg := apptest.Config("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
		cfg.SCIM.AllowCIDRs, cfg.SCIM.TrustProxyCIDRs = allow, trust
		cfg.SCIM.RequestsPerSecond, cfg.SCIM.Burst = rps, burst
		return startApp(t, cfg)
	}
	get := func(t *testing.T, c apptest.Client, headers ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.Base+"/Users", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e2eToken)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := c.HTTP.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	t.Run("allow-list", func(t *testing.T) {
		c, _ := start(t, []string{"10.0.0.0/8"}, nil, 0, 0)
		require.Equal(t, http.StatusForbidden, get(t, c).StatusCode, "127.0.0.1 is not in 10.0.0.0/8")
		require.Equal(t, http.StatusForbidden, get(t, c, "X-Forwarded-For", "10.1.2.3").StatusCode, "X-Forwarded-For is ignored by default")
	})
	t.Run("allow-list behind a trusted proxy", func(t *testing.T) {
		c, _ := start(t, []string{"10.0.0.0/8"}, []string{"127.0.0.1"}, 0, 0)
		require.Equal(t, http.StatusOK, get(t, c, "X-Forwarded-For", "10.1.2.3").StatusCode)
		require.Equal(t, http.StatusForbidden, get(t, c, "X-Forwarded-For", "192.0.2.1").StatusCode)
	})
	t.Run("per-token rate limit", func(t *testing.T) {
		c, tel := start(t, nil, nil, 0.2, 3)
		for range 3 {
			require.Equal(t, http.StatusOK, get(t, c).StatusCode)
		}
		res := get(t, c)
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
		secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.Equal(t, 5, secs, "0.2 requests per second: the next in 5 s")
		require.Eventually(t, func() bool {
			res, err := http.Get(tel + "/metrics")
			if err != nil {
				return false
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			return strings.Contains(string(raw), "scim_bridge_scim_throttled_total 1") &&
				strings.Contains(string(raw), `scim_bridge_scim_requests_total{method="GET",resource="User",status="429"} 1`)
		}, 5*time.Second, 20*time.Millisecond)
	})
}
