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
	c := simClient(t, sim, url, func(o *Options) { o.PageSize = 50 })
	require.NoError(t, c.Detect(t.Context(), PriorityRead))
	require.True(t, c.Capabilities().BackwardPaging, "the full simulator offers last/before")

	// The newest users are on the last page: one request.
	found, n, err := c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"U249@example.com", "u230@example.com"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, found, 2)
	require.Equal(t, "bc/account/user/250", found["u249@example.com"].ID)

	// The search looks at the newest pages only and reports what it found; an
	// older user is not found there (and that is no evidence of absence).
	found, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u000@example.com", "u240@example.com"})
	require.NoError(t, err)
	require.Equal(t, maxBackwardPages, n)
	require.Len(t, found, 1)
	require.Contains(t, found, "u240@example.com")

	found, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, nil)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, found)
}

func TestFindAccountUsersNeedsBackwardPaging(t *testing.T) {
	sim, err := simulator.New(simulator.Options{Token: simToken, RateLimit: testRateLimit, Seed: bigSeed(t, 120, nil, []string{"only"})})
	require.NoError(t, err)
	// A server without last/before: refuse documents that use them, as a
	// GraphQL server whose schema lacks the arguments would.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "last:") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"errors":[{"message":"Unknown argument \"last\" on field \"Account.users\"."}]}`))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c := simClient(t, sim, ts.URL, nil)

	// Not detected: nothing is sent, nothing found.
	found, n, err := c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u119@example.com"})
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, found)

	// Detected, but the server refuses it: one request, the capability is
	// dropped, nothing found; the next search sends nothing.
	c.withCaps(func(cp *Capabilities) { cp.BackwardPaging = true })
	found, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u119@example.com"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, found)
	require.False(t, c.Capabilities().BackwardPaging)
	_, n, err = c.FindAccountUsers(t.Context(), PriorityStoreRemoval, []string{"u119@example.com"})
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestFindStoreUsersListsOneStoreCompletely(t *testing.T) {
	order := []string{"a1", "b2", "c3"}
	access := map[string][]int{"a1": seq(0, 10), "b2": seq(0, 120), "c3": seq(100, 110)}
	for _, byNode := range []bool{true, false} {
		name := map[bool]string{true: "by node", false: "by stores cursor"}[byNode]
		t.Run(name, func(t *testing.T) {
			sim, url := startSimulator(t, simulator.Options{Seed: bigSeed(t, 150, access, order)})
			c := simClient(t, sim, url, nil)
			c.withCaps(func(cp *Capabilities) { cp.NodeStores = byNode })
			su, n, err := c.FindStoreUsers(t.Context(), PriorityStoreRemoval, "b2")
			require.NoError(t, err)
			require.Equal(t, "b2", su.Store.Hash)
			require.Len(t, su.Users, 120)
			seen := map[string]bool{}
			for _, u := range su.Users {
				require.NotEmpty(t, u.ID)
				require.False(t, seen[u.Email], "no user twice")
				seen[u.Email] = true
			}
			want := 3 // 120 users in pages of 50
			if !byNode {
				want++ // the page of stores that finds the store's cursor
			}
			require.Equal(t, want, n)

			_, _, err = c.FindStoreUsers(t.Context(), PriorityStoreRemoval, "zz9")
			if !byNode {
				var de *Error
				require.ErrorAs(t, err, &de)
				require.Equal(t, ReasonStoreNotFound, de.Reason)
			}
		})
	}
}
