package downstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// observation is one call of Options.Observe.
type observation struct {
	op     string
	status int
	reason string
}

// requestLog records Observe calls; safe for concurrent use.
type requestLog struct {
	mu  sync.Mutex
	got []observation
}

func (o *requestLog) observe(op string, status int, reason string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d < 0 {
		reason = "negative duration"
	}
	o.got = append(o.got, observation{op, status, reason})
}

func (o *requestLog) take() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.got
	o.got = nil
	return out
}

func TestObserveOncePerHTTPRequest(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{RateLimit: 1000})
	var obs requestLog
	c := simClient(t, sim, base, func(o *Options) { o.Observe = obs.observe })

	_, err := c.Account(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Equal(t, []observation{{OpAccount, 200, ""}}, obs.take())

	_, n, err := c.ListStoreUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	got := obs.take()
	require.Len(t, got, n, "one observation per request spent")
	require.Equal(t, OpStoreUsers, got[0].op)

	_, err = c.Apply(t.Context(), PriorityAccountAdd, []Op{{Kind: OpAddToAccount, Email: "observed@example.com"}, {Kind: OpAddToAccount, Email: "not-an-email"}})
	require.NoError(t, err)
	require.Equal(t, []observation{{OpApply, 200, ""}}, obs.take(), "a failed operation inside a 200 is still a successful request")

	sim.FailNext(1, http.StatusServiceUnavailable)
	_, err = c.Account(t.Context(), PriorityRead)
	require.Error(t, err)
	require.Equal(t, []observation{{OpAccount, 503, ReasonHTTP5xx}}, obs.take())

	sim.SetRateLimit(1, time.Hour)
	_, _ = c.Account(t.Context(), PriorityRead)
	_, err = c.Account(t.Context(), PriorityRead)
	require.ErrorIs(t, err, ErrRateLimited)
	got = obs.take()
	require.Equal(t, observation{OpAccount, 429, ReasonRateLimited}, got[len(got)-1])
}

func TestObserveFailedConnectionsAndGateRefusals(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	var obs requestLog
	c, err := New(Options{BaseURL: "http://" + addr, AccountUUID: simulator.DefaultAccountUUID, Token: "t",
		HTTPClient: &http.Client{Timeout: 2 * time.Second}, Observe: obs.observe})
	require.NoError(t, err)
	_, err = c.Account(t.Context(), PriorityRead)
	require.Error(t, err)
	require.Equal(t, []observation{{OpAccount, 0, ReasonConnection}}, obs.take(), "a refused connection is a request without a response")

	c, err = New(Options{BaseURL: "http://" + addr, AccountUUID: simulator.DefaultAccountUUID, Token: "t",
		Gate: refusingGate{}, Observe: obs.observe})
	require.NoError(t, err)
	_, err = c.Account(t.Context(), PriorityRead)
	require.Error(t, err)
	require.Empty(t, obs.take(), "nothing was sent when the gate refused")
}

type refusingGate struct{}

func (refusingGate) Acquire(context.Context, Priority) error { return errors.New("no budget") }
func (refusingGate) Observe(RateInfo)                        {}

// TestOperationsListsEveryOperationName keeps Operations (metric label values)
// in step with the operation names the package sends.
func TestOperationsListsEveryOperationName(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	names := regexp.MustCompile(`"(Bridge[A-Za-z]+)"`)
	seen := 0
	for _, f := range files {
		if filepath.Ext(f) != ".go" || regexp.MustCompile(`_test\.go$`).MatchString(f) {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range names.FindAllStringSubmatch(string(src), -1) {
			seen++
			require.True(t, slices.Contains(Operations(), m[1]), "%s sends operation %q, missing from Operations()", f, m[1])
		}
	}
	require.Greater(t, seen, 5)
}
