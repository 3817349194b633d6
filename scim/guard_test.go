package scim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// guarded starts a SCIM server with opts (Service, Tokens and Logger filled in)
// on SQLite and returns its base URL and its logs.
func guarded(t *testing.T, opts Options) (string, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	svc, err := bridge.NewService(bridge.Options{Store: storetest.NewSQLite(t)})
	require.NoError(t, err)
	tok, err := ParseToken(testToken)
	require.NoError(t, err)
	other, err := ParseToken(testToken + "-other")
	require.NoError(t, err)
	opts.Service, opts.Tokens, opts.Logger = svc, []TokenHash{tok, other}, zap.New(core)
	h, err := NewHandler(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL + Prefix, logs
}

// get sends GET base+path with token and the given headers (name, value, ...).
func get(t *testing.T, base, path, token string, headers ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "every answer is a SCIM JSON body: %s", raw)
	return res, body
}

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestAllowCIDRs(t *testing.T) {
	// The test client connects from 127.0.0.1; 203.0.113.0/24 and
	// 198.51.100.0/24 are documentation networks standing for an IdP and an
	// attacker behind a load balancer.
	cases := []struct {
		name    string
		allow   []string
		trust   []string
		xff     []string
		allowed bool
	}{
		{name: "peer in the list", allow: []string{"127.0.0.0/8"}, allowed: true},
		{name: "peer outside the list", allow: []string{"10.0.0.0/8"}},
		{name: "X-Forwarded-For is ignored without trusted proxies", allow: []string{"203.0.113.0/24"}, xff: []string{"203.0.113.5"}},
		{name: "peer allowed whatever X-Forwarded-For claims", allow: []string{"127.0.0.0/8"}, xff: []string{"198.51.100.7"}, allowed: true},
		{name: "client behind a trusted proxy allowed", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.1/32"}, xff: []string{"203.0.113.5"}, allowed: true},
		{name: "client behind a trusted proxy refused", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.1/32"}, xff: []string{"198.51.100.7"}},
		{name: "a forged leftmost hop does not help", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.1/32"}, xff: []string{"203.0.113.5, 198.51.100.7"}},
		{name: "the hop the proxy appended counts", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.1/32"}, xff: []string{"198.51.100.7, 203.0.113.5"}, allowed: true},
		{name: "chained trusted proxies are skipped", allow: []string{"203.0.113.0/24"}, trust: []string{"127.0.0.1/32", "10.0.0.0/8"}, xff: []string{"203.0.113.5", "10.1.2.3"}, allowed: true},
		{name: "a hop that is not an address is refused", allow: []string{"127.0.0.0/8", "203.0.113.0/24"}, trust: []string{"127.0.0.1/32"}, xff: []string{"203.0.113.5, unknown"}},
		{name: "no header behind a trusted proxy: the proxy's address", allow: []string{"127.0.0.0/8"}, trust: []string{"127.0.0.1/32"}, allowed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, logs := guarded(t, Options{AllowCIDRs: prefixes(t, tc.allow...), TrustProxyCIDRs: prefixes(t, tc.trust...)})
			var headers []string
			for _, v := range tc.xff {
				headers = append(headers, "X-Forwarded-For", v)
			}
			res, body := get(t, base, "/Users", testToken, headers...)
			if tc.allowed {
				require.Equal(t, http.StatusOK, res.StatusCode, "%v", body)
				return
			}
			require.Equal(t, http.StatusForbidden, res.StatusCode)
			require.Equal(t, "403", body["status"])
			require.Equal(t, []any{errorSchema}, body["schemas"])
			require.Contains(t, body["detail"], "scim.allow_cidrs")
			require.Equal(t, 1, logs.FilterMessageSnippet("outside scim.allow_cidrs").Len(), "logged before the answer")
		})
	}

	t.Run("refused before authentication", func(t *testing.T) {
		base, _ := guarded(t, Options{AllowCIDRs: prefixes(t, "10.0.0.0/8")})
		res, _ := get(t, base, "/Users", "not-a-token")
		require.Equal(t, http.StatusForbidden, res.StatusCode, "an outsider learns nothing about tokens")
		res, _ = get(t, base[:len(base)-len(Prefix)], "/elsewhere", testToken)
		require.Equal(t, http.StatusForbidden, res.StatusCode, "every path of the SCIM listener is covered")
	})
}

func TestPerTokenRateLimit(t *testing.T) {
	var throttled atomic.Int32
	var (
		mu       sync.Mutex
		statuses []int
	)
	base, logs := guarded(t, Options{
		RequestsPerSecond: 0.5, Burst: 2, Throttled: func() { throttled.Add(1) },
		Observe: func(_, _ string, status int, _ time.Duration) {
			mu.Lock()
			statuses = append(statuses, status)
			mu.Unlock()
		},
	})
	for range 2 {
		res, _ := get(t, base, "/Users", testToken)
		require.Equal(t, http.StatusOK, res.StatusCode, "the burst is allowed")
	}
	res, body := get(t, base, "/Users", testToken)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Equal(t, "429", body["status"])
	require.Equal(t, []any{errorSchema}, body["schemas"])
	retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is an integer of seconds (Okta reads it so)")
	require.Equal(t, 2, retry, "one request per 2 s: the next one is about 2 s away")
	require.Equal(t, int32(1), throttled.Load())
	// The access log and Observe run after the answer is written.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal([]int{200, 200, 429}, statuses)
	}, 5*time.Second, 5*time.Millisecond, "the 429 is counted like any request")
	require.Eventually(t, func() bool { return logs.FilterField(zap.Int("status", http.StatusTooManyRequests)).Len() == 1 },
		5*time.Second, 5*time.Millisecond)

	// Buckets are per token: the other token is unaffected.
	res, _ = get(t, base, "/Users", testToken+"-other")
	require.Equal(t, http.StatusOK, res.StatusCode)
	// Unauthenticated requests are refused by authentication, not counted
	// against anyone's bucket.
	res, _ = get(t, base, "/Users", "wrong-token-0123456789")
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Equal(t, int32(1), throttled.Load())
}

func TestLimiterRefills(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(2, 3, func() time.Time { return now })
	var k TokenHash
	for range 3 {
		ok, _ := l.take(k)
		require.True(t, ok)
	}
	ok, wait := l.take(k)
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)
	require.Equal(t, 1, retryAfterSeconds(wait))
	now = now.Add(500 * time.Millisecond)
	ok, _ = l.take(k)
	require.True(t, ok, "half a second refills one request at 2/s")
	now = now.Add(time.Hour)
	for range 3 {
		ok, _ = l.take(k)
		require.True(t, ok)
	}
	ok, _ = l.take(k)
	require.False(t, ok, "the bucket never holds more than the burst")
}

func TestNewHandlerRejectsBadLimits(t *testing.T) {
	svc, err := bridge.NewService(bridge.Options{Store: storetest.NewSQLite(t)})
	require.NoError(t, err)
	tok, err := ParseToken(testToken)
	require.NoError(t, err)
	for _, o := range []Options{{RequestsPerSecond: -1}, {Burst: -1}} {
		o.Service, o.Tokens = svc, []TokenHash{tok}
		_, err := NewHandler(o)
		require.Error(t, err)
	}
}
