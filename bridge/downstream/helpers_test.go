package downstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
)

// simToken is the simulator token the tests use; distinctive so that a leak
// into an error or a log line is easy to grep for.
const simToken = "sim-SECRET-token-7f3a9c"

// testRateLimit lifts the simulator's 70/hour default for tests that are not
// about the rate limit.
const testRateLimit = 1_000_000

// startSimulator starts the simulator behind an httptest server.
func startSimulator(t testing.TB, opts simulator.Options) (*simulator.Server, string) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = simToken
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = testRateLimit
	}
	sim, err := simulator.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

// simClient returns a client for the simulator; mod may adjust the options.
func simClient(t testing.TB, sim *simulator.Server, baseURL string, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{
		BaseURL:     baseURL,
		AccountUUID: sim.AccountUUID(),
		Token:       simToken,
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c
}

// seedJSON builds a seed in the simulator's seed format and loads it strictly.
func seedJSON(t testing.TB, seed map[string]any) *simulator.Seed {
	t.Helper()
	raw, err := json.Marshal(seed)
	require.NoError(t, err)
	s, err := simulator.LoadSeed(bytes.NewReader(raw))
	require.NoError(t, err)
	return s
}

// bigSeed returns a seed with users u000@example.com ... (ids 1..users) and
// the given stores, each store listing the users at the given indexes.
func bigSeed(t testing.TB, users int, stores map[string][]int, storeOrder []string) *simulator.Seed {
	t.Helper()
	storeList := make([]any, 0, len(storeOrder))
	for _, h := range storeOrder {
		storeList = append(storeList, map[string]any{"hash": h, "name": "Store " + h})
	}
	access := make([][]string, users)
	for _, h := range storeOrder {
		for _, i := range stores[h] {
			access[i] = append(access[i], h)
		}
	}
	userList := make([]any, users)
	for i := range users {
		u := map[string]any{"email": fmt.Sprintf("u%03d@example.com", i), "firstName": "First" + strconv.Itoa(i), "lastName": "Last"}
		if len(access[i]) > 0 {
			u["stores"] = access[i]
		}
		if i == 0 {
			u["owner"] = true
		}
		userList[i] = u
	}
	return seedJSON(t, map[string]any{
		"account": map[string]any{"name": "Big Account"},
		"stores":  storeList,
		"users":   userList,
	})
}

// newClock returns a simulated clock for the simulator's Options.Now.
func newClock() *simclock.Clock {
	return simclock.New(time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC))
}

// headerRecorder is an http.RoundTripper that keeps a response header of
// every response, for observing what the client itself does not expose.
type headerRecorder struct {
	name   string
	mu     sync.Mutex
	values []string
	next   http.RoundTripper
}

func (h *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err == nil {
		h.mu.Lock()
		h.values = append(h.values, resp.Header.Get(h.name))
		h.mu.Unlock()
	}
	return resp, err
}

func (h *headerRecorder) ints(t testing.TB) []int {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]int, 0, len(h.values))
	for _, v := range h.values {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "header %s = %q", h.name, v)
		out = append(out, n)
	}
	return out
}

// nopLogger is a logger for benchmarks.
func nopLogger() *zap.Logger { return zap.NewNop() }

// recordingGate counts Acquire calls and keeps every observed RateInfo.
type recordingGate struct {
	mu        sync.Mutex
	acquired  []Priority
	observed  []RateInfo
	onAcquire func(n int) error // optional; n counts from 1
}

func (g *recordingGate) Acquire(ctx context.Context, p Priority) error {
	g.mu.Lock()
	g.acquired = append(g.acquired, p)
	n := len(g.acquired)
	hook := g.onAcquire
	g.mu.Unlock()
	if hook != nil {
		return hook(n)
	}
	return ctx.Err()
}

func (g *recordingGate) Observe(info RateInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.observed = append(g.observed, info)
}

func (g *recordingGate) counts() (acquired, observed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.acquired), len(g.observed)
}

func addOps(n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Kind: OpAddToAccount, Email: fmt.Sprintf("person%02d@example.com", i)}
	}
	return ops
}

// requireNoSecretsInLogs fails if any log entry mentions the token or an
// email of ops, in its message or any field.
func requireNoSecretsInLogs(t *testing.T, logs *observer.ObservedLogs, ops []Op, token string) {
	t.Helper()
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		require.NotContains(t, line, token)
		require.NotContains(t, line, "@", "log line %q", line)
		for _, op := range ops {
			if op.Email != "" {
				require.NotContains(t, strings.ToLower(line), strings.ToLower(op.Email))
			}
		}
	}
}
