package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const addOne = `mutation { account { addUserToAccount(input: {email: "fault@example.com"}) { __typename } } }`

func TestFailNext(t *testing.T) {
	h := newHarness(t, Options{})
	h.srv.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		r := h.gql(addOne, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		require.JSONEq(t, `{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`, string(r.raw))
		require.NotEmpty(t, r.header.Get("X-Rate-Limit-Requests-Left"), "injected errors carry the rate-limit headers")
	}
	require.Len(t, h.srv.Snapshot().Users, 3, "nothing executed")
	r := h.gql(addOne, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, DefaultRateLimit-3, r.headerInt(t, "X-Rate-Limit-Requests-Left"), "injected 5xx count")
	require.Len(t, h.srv.Snapshot().Users, 4)

	h.srv.FailNext(1, 418)
	require.Equal(t, http.StatusInternalServerError, h.gql(addOne, nil).status, "a status outside 5xx becomes 500")
	h.srv.FailNext(3, 502)
	h.srv.FailNext(0, 502)
	require.Equal(t, http.StatusOK, h.gql(`{ system { time } }`, nil).status, "n = 0 cancels")
	st := h.srv.Stats()
	require.Equal(t, 2, st.ByStatus[http.StatusServiceUnavailable])
	require.Equal(t, 1, st.ByStatus[http.StatusInternalServerError])
}

func TestSetFailRate(t *testing.T) {
	h := newHarness(t, Options{})
	h.srv.SetFailRate(1, http.StatusBadGateway)
	for range 3 {
		require.Equal(t, http.StatusBadGateway, h.gql(addOne, nil).status)
	}
	h.srv.SetFailRate(0.5, http.StatusBadGateway)
	failed := 0
	for range 40 {
		if h.gql(`{ system { time } }`, nil).status == http.StatusBadGateway {
			failed++
		}
	}
	// 40 fair coin flips: all-or-nothing has probability 2^-39.
	require.Greater(t, failed, 0)
	require.Less(t, failed, 40)
	h.srv.SetFailRate(0, http.StatusBadGateway)
	require.Equal(t, http.StatusOK, h.gql(addOne, nil).status)
}

func TestDropNext(t *testing.T) {
	h := newHarness(t, Options{})
	h.srv.DropNext(1)
	b, err := json.Marshal(map[string]any{"query": addOne})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", DefaultToken)
	resp, err := h.ts.Client().Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without a response")
	require.ErrorIs(t, err, io.EOF)

	require.Len(t, h.srv.Snapshot().Users, 3, "nothing executed")
	st := h.srv.Stats()
	require.Equal(t, 1, st.Dropped)
	require.Equal(t, 1, st.Counted)
	require.Empty(t, st.ByStatus)

	r := h.gql(addOne, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, DefaultRateLimit-2, r.headerInt(t, "X-Rate-Limit-Requests-Left"), "the dropped request counted")
}

func TestDropNextWithoutHijacker(t *testing.T) {
	srv, err := New(Options{})
	require.NoError(t, err)
	srv.DropNext(1)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL(""), bytes.NewReader([]byte(`{"query":"{ system { time } }"}`)))
	req.Header.Set("X-Auth-Token", DefaultToken)
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { srv.ServeHTTP(httptest.NewRecorder(), req) })
}

func TestLatency(t *testing.T) {
	h := newHarness(t, Options{})
	h.srv.SetLatency(80 * time.Millisecond)
	start := time.Now()
	r := h.gql(`{ system { time } }`, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	// Latency is applied outside the lock: concurrent requests overlap.
	start = time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url, bytes.NewReader([]byte(`{"query":"{ system { time } }"}`)))
			req.Header.Set("X-Auth-Token", DefaultToken)
			if resp, err := h.ts.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	require.Less(t, time.Since(start), 5*80*time.Millisecond)
	h.srv.SetLatency(0)
}

func TestStatsEndpoint(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(`{ account { id } system { time } }`, nil)
	h.gql(`{ nope }`, nil)
	h.send(http.MethodPost, h.url, "bad", []byte(`{}`))

	r := h.send(http.MethodGet, h.ts.URL+StatsPath, "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"requests":3,"counted":2,"byStatus":{"200":2,"401":1},"operations":{"account":1,"system":1},
	  "rateLimited":0,"fieldErrors":0,"refused":1,"dropped":0,"maxMutationsPerRequest":0,
	  "userAgents":{"simulator-test/1.0":3}}`, string(r.raw))

	var decoded Stats
	require.NoError(t, json.Unmarshal(r.raw, &decoded))
	require.Equal(t, h.srv.Stats(), decoded)

	r = h.send(http.MethodPost, h.ts.URL+StatsPath, "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, 3, h.srv.Stats().Requests, "the stats endpoint is not a GraphQL request")
}

func TestZeroValueServer(t *testing.T) {
	var srv Server
	ts := httptest.NewServer(&srv)
	t.Cleanup(ts.Close)
	require.Equal(t, DefaultAccountUUID, srv.AccountUUID())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL(ts.URL+"/"), bytes.NewReader([]byte(`{"query":"{ account { accountInfo { name } } }"}`)))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", DefaultToken)
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.JSONEq(t, `{"data":{"account":{"accountInfo":{"name":"Simulated Account"}}}}`, string(b))
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 1000})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				email := fmt.Sprintf("c%d-%d@example.com", i, j)
				b, _ := json.Marshal(map[string]any{"query": `mutation($e: String!) {
				  a: account { addUserToAccount(input: {email: $e}) { __typename } }
				  s: user { addUserToStore(input: {user: {email: $e}, storeId: "bc/account/store/abc123"}) { storeId } } }`,
					"variables": map[string]any{"e": email}})
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url, bytes.NewReader(b))
				req.Header.Set("X-Auth-Token", DefaultToken)
				if resp, err := h.ts.Client().Do(req); err == nil {
					resp.Body.Close()
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				_ = h.srv.Snapshot()
				_ = h.srv.Stats()
				_ = h.srv.Log()
				h.srv.SetLatency(0)
				h.srv.SetMaxMutations(0)
			}
		})
	}
	wg.Wait()
	snap := h.srv.Snapshot()
	require.Len(t, snap.Users, 3+40)
	seen := map[string]bool{}
	for _, u := range snap.Users {
		require.False(t, seen[u.ID], "ids are unique")
		seen[u.ID] = true
	}
	require.Equal(t, 40, h.srv.Stats().Counted)
	require.Len(t, h.srv.Log(), 80)
}
