package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const holdFor = 300 * time.Millisecond

// holdResult is what a request sent in the background ended with.
type holdResult struct {
	status int
	body   []byte
	err    error
	at     time.Time
}

// sendInBackground posts query with ctx and reports the outcome on the channel.
func sendInBackground(ctx context.Context, t *testing.T, h *harness, query string) <-chan holdResult {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", DefaultToken)
	out := make(chan holdResult, 1)
	go func() {
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			out <- holdResult{err: err, at: time.Now()}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- holdResult{status: resp.StatusCode, body: body, err: err, at: time.Now()}
	}()
	return out
}

// waitForUser polls the state until email is in the account and returns when
// that was first seen.
func waitForUser(t *testing.T, h *harness, email string) time.Time {
	t.Helper()
	var seen time.Time
	require.Eventually(t, func() bool {
		if _, ok := userByEmail(h.srv.Snapshot(), email); ok {
			seen = time.Now()
			return true
		}
		return false
	}, 5*time.Second, 2*time.Millisecond)
	return seen
}

func TestHoldResponse(t *testing.T) {
	for _, profile := range Profiles() {
		t.Run(profile+": the change is applied before the response arrives", func(t *testing.T) {
			h := newHarness(t, Options{Profile: profile})
			h.srv.SetHoldResponse(holdFor)
			start := time.Now()
			done := sendInBackground(t.Context(), t, h, `mutation { account { addUserToAccount(input: {email: "held@example.com"}) { __typename } } }`)

			applied := waitForUser(t, h, "held@example.com")
			select {
			case r := <-done:
				t.Fatalf("the response arrived (%v after the start) before the hold ended", r.at.Sub(start))
			default:
			}
			require.Len(t, h.srv.Log(), 1, "logged before the response")
			require.Equal(t, 1, h.srv.Stats().Counted, "counted before the response")

			r := <-done
			require.NoError(t, r.err)
			require.Equal(t, http.StatusOK, r.status)
			require.JSONEq(t, `{"data":{"account":{"addUserToAccount":{"__typename":"AddUserToAccountResult"}}}}`, string(r.body))
			require.GreaterOrEqual(t, r.at.Sub(start), holdFor)
			require.True(t, r.at.After(applied))
		})
	}

	t.Run("a client that goes away during the hold leaves the change applied", func(t *testing.T) {
		h := newHarness(t, Options{HoldResponse: 10 * time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		done := sendInBackground(ctx, t, h, `mutation { user { addUserToStore(input: {user: {email: "bob@example.com"}, storeId: "bc/account/store/ghi789"}) { storeId } } }`)
		require.Eventually(t, func() bool {
			bob, _ := userByEmail(h.srv.Snapshot(), "bob@example.com")
			_, ok := bob.Stores["ghi789"]
			return ok
		}, 5*time.Second, 2*time.Millisecond)
		cancel()
		r := <-done
		require.ErrorIs(t, r.err, context.Canceled)

		bob, _ := userByEmail(h.srv.Snapshot(), "bob@example.com")
		require.Contains(t, bob.Stores, "ghi789", "the change stays applied")
		require.Len(t, h.srv.Log(), 1)
		require.Empty(t, h.srv.Log()[0].Code)

		// The server goes on; a retry finds the work done.
		h.srv.SetHoldResponse(0)
		again := h.gql(`mutation { user { addUserToStore(input: {user: {email: "bob@example.com"}, storeId: "bc/account/store/ghi789"}) { storeId } } }`, nil)
		require.Equal(t, []string{CodeUserAlreadyInStore}, again.codes())
	})

	t.Run("Options.HoldResponse holds from the start; the stats endpoint is never held", func(t *testing.T) {
		h := newHarness(t, Options{HoldResponse: holdFor})
		start := time.Now()
		stats := h.send(http.MethodGet, h.ts.URL+StatsPath, "", nil)
		require.Equal(t, http.StatusOK, stats.status)
		require.Less(t, time.Since(start), holdFor)

		start = time.Now()
		r := h.gql(`{ system { time } }`, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.GreaterOrEqual(t, time.Since(start), holdFor)

		h.srv.SetHoldResponse(0)
		start = time.Now()
		h.gql(`{ system { time } }`, nil)
		require.Less(t, time.Since(start), holdFor, "0 turns the hold off")
	})
}
