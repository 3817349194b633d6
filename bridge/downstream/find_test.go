package downstream

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

func TestFindAccountUsersPagesBackwardAndStops(t *testing.T) {
	sim, url := startSimulator(t, simulator.Options{Seed: bigSeed(t, 250, nil, []string{"only"})})
	c := simClient(t, sim, url, func(o *Options) { o.PageSize = 100 })

	// The newest users are on the last page: one request.
	found, n, err := c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"U249@example.com", "u200@example.com"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, found, 2)
	require.Equal(t, "bc/account/user/250", found["u249@example.com"].ID)

	// The oldest user needs every page; an unknown email is simply not found.
	found, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u000@example.com", "nobody@example.com"})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Len(t, found, 1)
	require.Equal(t, "bc/account/user/1", found["u000@example.com"].ID)

	found, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, nil)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, found)
}

func TestFindAccountUsersFallsBackWhenBackwardPagingIsRefused(t *testing.T) {
	sim, err := simulator.New(simulator.Options{Token: simToken, RateLimit: testRateLimit, Seed: bigSeed(t, 120, nil, []string{"only"})})
	require.NoError(t, err)
	// A server without last/before: refuse documents that use them, as a
	// GraphQL server whose schema lacks the arguments would.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		{
			if strings.Contains(string(body), "last:") {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"errors":[{"message":"Unknown argument \"last\" on field \"Account.users\".","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c := simClient(t, sim, ts.URL, func(o *Options) { o.PageSize = 50 })
	found, n, err := c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u119@example.com"})
	require.NoError(t, err)
	require.Equal(t, 1+3, n, "one refused backward page, then three forward pages")
	require.Equal(t, "bc/account/user/120", found["u119@example.com"].ID)
}
