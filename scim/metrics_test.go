package scim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// TestMetricLabelsAreBounded: requests with made-up methods and paths, with
// and without a token, on every refusal path, produce a small fixed set of
// label values for the request metrics.
func TestMetricLabelsAreBounded(t *testing.T) {
	var (
		mu                          sync.Mutex
		resources, methods, statuss = map[string]bool{}, map[string]bool{}, map[int]bool{}
	)
	e := newEnvWith(t, storetest.NewSQLite(t), func(o *Options) {
		o.RequestsPerSecond, o.Burst = 0.001, 40
		o.Observe = func(res, method string, status int, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			resources[res], methods[method], statuss[status] = true, true, true
		}
	})
	send := func(method, path string, token bool, body string) {
		req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(e.url, Prefix)+path, strings.NewReader(body))
		require.NoError(t, err)
		if token {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
	}
	for i := range 60 {
		m := fmt.Sprintf("M%06dXXXX", i)
		send(m, Prefix+"/Users", false, "")
		send(m, Prefix+"/Users", true, "")
		send(strings.ToLower(http.MethodGet)+fmt.Sprint(i), Prefix+fmt.Sprintf("/Thing%d/x", i), true, "")
		send(http.MethodGet, fmt.Sprintf("/nowhere/%d", i), false, "")
		send(http.MethodGet, Prefix+fmt.Sprintf("/Users/%d", i), true, "")
		send(http.MethodDelete, Prefix+"/Users", true, "")
		send(http.MethodPost, Prefix+"/Users", true, strings.Repeat("x", 70<<10))
		send("PROPFIND", Prefix+fmt.Sprintf("/Widgets%d", i), i%2 == 0, "")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, statuss, http.StatusTooManyRequests, "the limiter was exercised")
	for r := range resources {
		require.Contains(t, []string{"User", "Group", "Schema", "ResourceType", "ServiceProviderConfig", "Search", "other"}, r)
	}
	for m := range methods {
		require.Contains(t, []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"}, m)
	}
	require.LessOrEqual(t, len(statuss), 8, "statuses: %v", statuss)
}

func TestStatusLabel(t *testing.T) {
	for in, want := range map[int]int{200: 200, 201: 201, 204: 204, 404: 404, 429: 429, 418: 400, 299: 200, 302: 300, 599: 500, 0: 500, 999: 500, 42: 500} {
		require.Equal(t, want, statusLabel(in), "%d", in)
	}
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "other", "M000123XXXX": "other", "PROPFIND": "other", "": "other"} {
		require.Equal(t, want, methodLabel(in), in)
	}
}
