package downstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// Tests of how Apply fails, against the simulator and its fault knobs. The
// answers the simulator never gives (odd bodies, other statuses, a server's
// own codes) are in fakeserver_test.go.

func TestApplySingleRefusedOpFails(t *testing.T) {
	// A single add costs 103 by the simulator's formula: under a limit of 50
	// every document is refused for its complexity, a single one too.
	sim, base := startSimulator(t, simulator.Options{MaxComplexity: 50})
	c := simClient(t, sim, base, nil)
	b, err := c.Apply(t.Context(), PriorityAccountAdd, addOps(2))
	require.NoError(t, err, "a refused single op is a per-op failure, not a request failure")
	require.Equal(t, 3, b.Requests)
	require.Equal(t, []int{2}, b.Refused)
	for _, r := range b.Results {
		require.Equal(t, Failed, r.Outcome)
		require.Equal(t, ReasonRefused, r.Err.Reason)
		require.Equal(t, ClassPermanent, r.Err.Class)
		require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", r.Err.Code)
	}
}

// wholeRequestFailure is how Apply must report a request the server failed as
// a whole.
type wholeRequestFailure struct {
	class  Class
	reason string
	status int
	retry  time.Duration
}

// requireWholeRequestFailure applies three ops through c, whose server fails
// the request, and checks that every op failed with the request's error and
// that the error names neither token nor any email.
func requireWholeRequestFailure(t *testing.T, c *Client, token string, want wholeRequestFailure) {
	t.Helper()
	ops := addOps(3)
	b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.Error(t, err)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, want.class, de.Class)
	require.Equal(t, want.reason, de.Reason)
	require.Equal(t, want.status, de.Status)
	require.Equal(t, want.retry, de.RetryAfter)
	require.Equal(t, 1, b.Requests)
	require.Len(t, b.Results, 3)
	for i, r := range b.Results {
		require.Equal(t, ops[i], r.Op)
		require.Equal(t, Failed, r.Outcome)
		require.Same(t, de, r.Err)
	}
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), "@")
	require.NotContains(t, err.Error(), "bogus")
}

func TestApplyWholeRequestFailures(t *testing.T) {
	const wrongToken = "wrong-" + simToken
	tests := []struct {
		name   string
		inject func(sim *simulator.Server)
		mod    func(*Options)
		token  string // the client's token when mod changes it
		want   wholeRequestFailure
	}{
		{
			name:   "429 without headers waits nothing the server did not say",
			inject: func(sim *simulator.Server) { sim.OverloadNext(1) },
			want:   wholeRequestFailure{class: ClassRateLimited, reason: ReasonRateLimited, status: 429},
		},
		{
			name:   "502",
			inject: func(sim *simulator.Server) { sim.FailNext(1, http.StatusBadGateway) },
			want:   wholeRequestFailure{class: ClassTransient, reason: ReasonHTTP5xx, status: 502},
		},
		{
			name:  "401",
			mod:   func(o *Options) { o.Token = wrongToken },
			token: wrongToken,
			want:  wholeRequestFailure{class: ClassPermanent, reason: ReasonUnauthorized, status: 401},
		},
		{
			name: "404",
			mod:  func(o *Options) { o.AccountUUID = "11111111-2222-4333-8444-555555555555" },
			want: wholeRequestFailure{class: ClassPermanent, reason: ReasonAccountNotFound, status: 404},
		},
		{
			name:   "dropped connection",
			inject: func(sim *simulator.Server) { sim.DropNext(1) },
			want:   wholeRequestFailure{class: ClassTransient, reason: ReasonConnection},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := startSimulator(t, simulator.Options{})
			if tt.inject != nil {
				tt.inject(sim)
			}
			token := simToken
			if tt.token != "" {
				token = tt.token
			}
			requireWholeRequestFailure(t, simClient(t, sim, base, tt.mod), token, tt.want)
			require.Empty(t, sim.Log(), "nothing executed")
		})
	}
}

func TestApplyDoesNotFollowRedirects(t *testing.T) {
	// The redirect points at the simulator itself: a client that followed it
	// would hand its token to wherever the Location says and succeed.
	sim, _ := startSimulator(t, simulator.Options{})
	var redirected atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		if r.Header.Get("X-Auth-Token") != "" {
			redirected.Add(100)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(target.Close)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target.URL+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(front.Close)
	c := simClient(t, sim, front.URL, nil)
	_, err := c.Apply(t.Context(), PriorityAccountAdd, addOps(1))
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonUnexpectedStatus, de.Reason)
	require.Equal(t, ClassPermanent, de.Class)
	require.Equal(t, http.StatusTemporaryRedirect, de.Status)
	require.Zero(t, redirected.Load(), "the token must not follow a redirect")
}

func TestApplyGateRefusalSendsNothing(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{})
	budgetErr := errors.New("budget closed")
	gate := &recordingGate{onAcquire: func(int) error { return budgetErr }}
	c := simClient(t, sim, base, func(o *Options) { o.Gate = gate })
	b, err := c.Apply(t.Context(), PriorityAccountAdd, addOps(2))
	require.ErrorIs(t, err, budgetErr)
	require.ErrorIs(t, err, ErrTransient)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonBudget, de.Reason)
	require.Zero(t, b.Requests)
	require.Zero(t, sim.Stats().Requests)
	require.Equal(t, Failed, b.Results[1].Outcome)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = simClient(t, sim, base, func(o *Options) { o.Gate = &recordingGate{} }).Apply(ctx, PriorityAccountAdd, addOps(1))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonCanceled, de.Reason)
}

func TestApplyEmptyAndInvalidOpsSendNothing(t *testing.T) {
	// A limit of 43: after the one request, X-Rate-Limit-Requests-Left says 42.
	sim, base := startSimulator(t, simulator.Options{RateLimit: 43})
	c := simClient(t, sim, base, nil)
	b, err := c.Apply(t.Context(), PriorityAccountAdd, nil)
	require.NoError(t, err)
	require.Empty(t, b.Results)

	ops := []Op{{Kind: OpAddToAccount}, {Kind: OpRemoveFromStore, StoreHash: "h", Email: "x@example.com"}, {Kind: OpAddToAccount, Email: "ok@example.com"}}
	b, err = c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Requests)
	require.Equal(t, Failed, b.Results[0].Outcome)
	require.Equal(t, ReasonInvalidInput, b.Results[0].Err.Reason)
	require.Equal(t, Failed, b.Results[1].Outcome)
	require.Equal(t, Applied, b.Results[2].Outcome)
	require.EqualValues(t, 1, sim.Stats().Requests)
	require.Equal(t, 42, b.Rate.Left)
	require.True(t, b.Rate.HasHeaders)
}
