package downstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// Tests in this file need the simulator's knobs and observations (stats, the
// mutation log, fault injection, a simulated clock), so they run only against it.

func TestApply50OpsIsOneRequest(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{})
	c := simClient(t, sim, base, nil)
	ops := make([]Op, 0, 50)
	for i := range 25 {
		email := fmt.Sprintf("joiner%02d@example.com", i)
		ops = append(ops,
			Op{Kind: OpAddToAccount, Email: email},
			Op{Kind: OpAddToStore, Email: email, StoreHash: "def456"})
	}

	b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Requests)
	require.Zero(t, b.Splits)
	require.Len(t, b.Results, 50)
	for i, r := range b.Results {
		require.Equal(t, ops[i], r.Op)
		require.Equal(t, Applied, r.Outcome, "op %d", i)
	}
	stats := sim.Stats()
	require.Equal(t, 1, stats.Requests)
	require.Equal(t, 50, stats.MaxMutationsPerRequest)
	require.Equal(t, 25, stats.Operations["addUserToAccount"])
	require.Equal(t, 25, stats.Operations["addUserToStore"])

	// Mutations ran in document order: each store add right after its account add.
	events := sim.Log()
	require.Len(t, events, 50)
	for i, e := range events {
		require.Equal(t, ops[i].Kind.String(), e.Field)
		require.Equal(t, ops[i].Email, e.Email)
		require.Empty(t, e.Code)
	}
}

func TestApplyMixedOutcomes(t *testing.T) {
	// Default seed: owner@example.com (user 1, all stores), alice@example.com
	// (user 2, abc123), bob@example.com (user 3, abc123 and def456).
	sim, base := startSimulator(t, simulator.Options{})
	c := simClient(t, sim, base, nil)
	tests := []struct {
		op      Op
		outcome Outcome
		reason  string
		userID  string
	}{
		{op: Op{Kind: OpAddToAccount, Email: "new.hire@example.com"}, outcome: Applied},
		{op: Op{Kind: OpAddToAccount, Email: "alice@example.com"}, outcome: AlreadyDone},
		{op: Op{Kind: OpAddToAccount, Email: "ALICE@example.COM"}, outcome: AlreadyDone},
		{op: Op{Kind: OpAddToAccount, Email: "not-an-email"}, outcome: Failed, reason: ReasonInvalidInput},
		{op: Op{Kind: OpAddToStore, Email: "new.hire@example.com", StoreHash: "abc123"}, outcome: Applied},
		{op: Op{Kind: OpAddToStore, Email: "alice@example.com", StoreHash: "ghi789"}, outcome: Applied},
		{op: Op{Kind: OpAddToStore, Email: "bob@example.com", StoreHash: "abc123"}, outcome: AlreadyDone},
		{op: Op{Kind: OpAddToStore, UserID: "bc/account/user/999", StoreHash: "abc123"}, outcome: Failed, reason: ReasonNotInAccount},
		// By email, BigCommerce does not require account membership first.
		{op: Op{Kind: OpAddToStore, Email: "stranger@example.com", StoreHash: "abc123"}, outcome: Applied},
		{op: Op{Kind: OpAddToStore, Email: "alice@example.com", StoreHash: "zzz999"}, outcome: Failed, reason: ReasonStoreNotFound},
		{op: Op{Kind: OpAddToStore, UserID: "bc/account/user/2", StoreHash: "def456"}, outcome: Applied},
		{op: Op{Kind: OpRemoveFromStore, UserID: "bc/account/user/3", StoreHash: "def456"}, outcome: Applied, userID: "bc/account/user/3"},
		{op: Op{Kind: OpRemoveFromStore, UserID: "bc/account/user/3", StoreHash: "ghi789"}, outcome: AlreadyDone},
		{op: Op{Kind: OpRemoveFromStore, UserID: "bc/account/user/999", StoreHash: "abc123"}, outcome: AlreadyDone},
		{op: Op{Kind: OpRemoveFromStore, UserID: "bc/account/user/1", StoreHash: "abc123"}, outcome: Failed, reason: ReasonCannotRemoveOwner},
		{op: Op{Kind: OpRemoveFromAccount, Email: "ghost@example.com"}, outcome: AlreadyDone},
		{op: Op{Kind: OpRemoveFromAccount, Email: "owner@example.com"}, outcome: Failed, reason: ReasonCannotRemoveOwner},
		{op: Op{Kind: OpRemoveFromAccount, UserID: "bc/account/user/3"}, outcome: Applied, userID: "bc/account/user/3"},
		{op: Op{Kind: OpRemoveFromAccount, Email: "bob@example.com"}, outcome: AlreadyDone},
		{op: Op{Kind: OpAddToAccount}, outcome: Failed, reason: ReasonInvalidInput}, // never sent
	}
	ops := make([]Op, len(tests))
	for i, tt := range tests {
		ops[i] = tt.op
	}
	b, err := c.Apply(t.Context(), PriorityRepair, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Requests)
	require.Equal(t, 1, sim.Stats().Requests)
	for i, tt := range tests {
		r := b.Results[i]
		require.Equal(t, tt.outcome, r.Outcome, "op %d %+v", i, tt.op.Kind)
		require.Equal(t, tt.userID, r.UserID, "op %d", i)
		if tt.outcome != Failed {
			require.Nil(t, r.Err)
			continue
		}
		require.Equal(t, tt.reason, r.Err.Reason, "op %d", i)
		require.Equal(t, ClassPermanent, r.Err.Class)
		require.NotContains(t, r.Err.Error(), "@")
	}
	require.Len(t, sim.Log(), len(tests)-1, "the invalid op was not sent")

	state := sim.Snapshot()
	var hire *simulator.User
	for i := range state.Users {
		if state.Users[i].Email == "new.hire@example.com" {
			hire = &state.Users[i]
		}
		require.NotEqual(t, "bob@example.com", state.Users[i].Email, "bob was removed")
	}
	require.NotNil(t, hire)
	require.Contains(t, hire.Stores, "abc123")
}

func TestApplyMissingScopeIsForbidden(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{Tokens: map[string][]string{
		"read-only-token": {"store_v2_account_read", "account_stores_read", "account_apps_read", "account_users_read"},
	}})
	c := simClient(t, sim, base, func(o *Options) { o.Token = "read-only-token" })
	b, err := c.Apply(t.Context(), PriorityAccountAdd, []Op{
		{Kind: OpAddToAccount, Email: "a@example.com"},
		{Kind: OpRemoveFromAccount, Email: "alice@example.com"},
	})
	require.NoError(t, err)
	for _, r := range b.Results {
		require.Equal(t, Failed, r.Outcome)
		require.Equal(t, ReasonForbidden, r.Err.Reason)
		require.Equal(t, "FORBIDDEN", r.Err.Code)
	}
	users, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Len(t, users, 3)
}

func TestReadWithoutScopeIsForbidden(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{Tokens: map[string][]string{
		"stores-only": {"store_v2_account_read", "account_stores_read"},
	}})
	c := simClient(t, sim, base, func(o *Options) { o.Token = "stores-only" })
	stores, _, err := c.ListStores(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Len(t, stores, 3)
	users, requests, err := c.ListAccountUsers(t.Context(), PriorityRead)
	require.ErrorIs(t, err, ErrPermanent)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonForbidden, de.Reason)
	require.Nil(t, users)
	require.Equal(t, 1, requests)
}

func TestGateSeesEveryRequest(t *testing.T) {
	const limit = 500
	sim, base := startSimulator(t, simulator.Options{RateLimit: limit, RateWindow: time.Hour})
	gate := &recordingGate{}
	c := simClient(t, sim, base, func(o *Options) { o.Gate = gate; o.PageSize = 2 })

	_, err := c.Account(t.Context(), PriorityRead)
	require.NoError(t, err)
	users, requests, err := c.ListAccountUsers(t.Context(), PriorityRepair)
	require.NoError(t, err)
	require.Len(t, users, 3)
	require.Equal(t, 2, requests)
	_, err = c.Apply(t.Context(), PriorityAccountRemoval, []Op{{Kind: OpRemoveFromAccount, Email: "bob@example.com"}})
	require.NoError(t, err)

	gate.mu.Lock()
	defer gate.mu.Unlock()
	require.Equal(t, []Priority{PriorityRead, PriorityRepair, PriorityRepair, PriorityAccountRemoval}, gate.acquired)
	require.Equal(t, sim.Stats().Requests, len(gate.acquired))
	require.Len(t, gate.observed, 4)
	for i, info := range gate.observed {
		require.True(t, info.HasHeaders)
		require.Equal(t, http.StatusOK, info.Status)
		require.Equal(t, limit, info.Quota)
		require.Equal(t, limit-1-i, info.Left, "every request counts once")
		require.Equal(t, time.Hour, info.Window)
		require.Positive(t, info.Reset)
		require.LessOrEqual(t, info.Reset, time.Hour)
		require.False(t, info.At.IsZero())
	}
}

func TestApplySplitsUnderMaxMutations(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{})
	sim.SetMaxMutations(1)
	core, logs := observer.New(zap.InfoLevel)
	gate := &recordingGate{}
	c := simClient(t, sim, base, func(o *Options) { o.Gate = gate; o.Logger = zap.New(core) })
	ops := addOps(8)

	b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Splits, "the server states its limit (1): one refusal, then documents of that size")
	require.Equal(t, []int{8}, b.Refused)
	require.Equal(t, 9, b.Requests, "1 refused document + 8 singles")
	require.Equal(t, 9, sim.Stats().Requests)
	acquired, _ := gate.counts()
	require.Equal(t, 9, acquired)
	for i, r := range b.Results {
		require.Equal(t, Applied, r.Outcome, "op %d", i)
	}
	events := sim.Log()
	require.Len(t, events, 8)
	for i, e := range events {
		require.Equal(t, ops[i].Email, e.Email, "order preserved")
	}
	splits := logs.FilterMessage("downstream refused batch, splitting").All()
	require.Len(t, splits, 1)
	require.Equal(t, "TOO_MANY_MUTATIONS", splits[0].ContextMap()["code"])
	requireNoSecretsInLogs(t, logs, ops, simToken)
}

func TestApplySplitsOnComplexity(t *testing.T) {
	// Each add costs 103 by the simulator's formula: 8 ops (824) are refused
	// under a limit of 500, 4 ops (412) pass.
	sim, base := startSimulator(t, simulator.Options{MaxComplexity: 500})
	c := simClient(t, sim, base, nil)
	ops := addOps(8)
	b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Splits)
	require.Equal(t, []int{8}, b.Refused)
	require.Equal(t, 3, b.Requests)
	for i, r := range b.Results {
		require.Equal(t, Applied, r.Outcome, "op %d", i)
	}
	require.Len(t, sim.Log(), 8)
}

func TestRateLimited(t *testing.T) {
	clock := newClock()
	sim, base := startSimulator(t, simulator.Options{RateLimit: 2, RateWindow: time.Minute, Now: clock.Now})
	gate := &recordingGate{}
	c := simClient(t, sim, base, func(o *Options) { o.Gate = gate })

	for range 2 {
		_, err := c.Account(t.Context(), PriorityRead)
		require.NoError(t, err)
	}
	clock.Advance(10*time.Second + 500*time.Millisecond)

	// 49.5 s remain in the window: X-Rate-Limit-Time-Reset-Ms says 49500,
	// X-Retry-After rounds up to 50 s, and the longer one wins.
	b, err := c.Apply(t.Context(), PriorityAccountRemoval, []Op{{Kind: OpRemoveFromAccount, Email: "bob@example.com"}})
	require.ErrorIs(t, err, ErrRateLimited)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ClassRateLimited, de.Class)
	require.Equal(t, ReasonRateLimited, de.Reason)
	require.Equal(t, http.StatusTooManyRequests, de.Status)
	require.Equal(t, 50*time.Second, de.RetryAfter)
	require.Equal(t, 1, b.Requests)
	require.Equal(t, Failed, b.Results[0].Outcome)
	require.Same(t, de, b.Results[0].Err)
	require.Equal(t, http.StatusTooManyRequests, b.Rate.Status)
	require.Equal(t, 49500*time.Millisecond, b.Rate.Reset)
	require.Equal(t, 50*time.Second, b.Rate.RetryAfter)
	require.Equal(t, 0, b.Rate.Left)
	require.Equal(t, 2, b.Rate.Quota)
	require.Equal(t, 50*time.Second, b.Rate.Wait())

	gate.mu.Lock()
	last := gate.observed[len(gate.observed)-1]
	gate.mu.Unlock()
	require.Equal(t, b.Rate, last, "the 429's headers reach the gate")

	// Reads are classified the same way.
	_, _, err = c.ListStores(t.Context(), PriorityRead)
	require.ErrorIs(t, err, ErrRateLimited)

	// After the wait, the next window opens.
	clock.Advance(de.RetryAfter)
	_, err = c.Account(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Empty(t, sim.Log(), "nothing ran while rate limited")
}

func TestTransientFailures(t *testing.T) {
	tests := []struct {
		name   string
		inject func(sim *simulator.Server)
		reason string
		status int
	}{
		{name: "503", inject: func(sim *simulator.Server) { sim.FailNext(1, http.StatusServiceUnavailable) }, reason: ReasonHTTP5xx, status: 503},
		{name: "500", inject: func(sim *simulator.Server) { sim.FailNext(1, http.StatusInternalServerError) }, reason: ReasonHTTP5xx, status: 500},
		{name: "dropped connection", inject: func(sim *simulator.Server) { sim.DropNext(1) }, reason: ReasonConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := startSimulator(t, simulator.Options{})
			c := simClient(t, sim, base, nil)
			tt.inject(sim)
			ops := []Op{{Kind: OpAddToAccount, Email: "x@example.com"}, {Kind: OpAddToStore, Email: "x@example.com", StoreHash: "abc123"}}
			b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
			require.ErrorIs(t, err, ErrTransient)
			var de *Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.reason, de.Reason)
			require.Equal(t, tt.status, de.Status)
			require.Equal(t, 1, b.Requests)
			for _, r := range b.Results {
				require.Equal(t, Failed, r.Outcome)
				require.Equal(t, tt.reason, r.Err.Reason)
			}
			require.Empty(t, sim.Log(), "nothing executed")

			// The fault was one request; a retry applies everything.
			b, err = c.Apply(t.Context(), PriorityAccountAdd, ops)
			require.NoError(t, err)
			require.Equal(t, Applied, b.Results[0].Outcome)
			require.Equal(t, Applied, b.Results[1].Outcome)
		})
	}
}

func TestTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a client timeout")
	}
	sim, base := startSimulator(t, simulator.Options{})
	sim.SetLatency(time.Second)
	t.Cleanup(func() { sim.SetLatency(0) })
	c := simClient(t, sim, base, func(o *Options) { o.HTTPClient = &http.Client{Timeout: 150 * time.Millisecond} })

	b, err := c.Apply(t.Context(), PriorityAccountAdd, addOps(2))
	require.ErrorIs(t, err, ErrTransient)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonTimeout, de.Reason)
	require.Equal(t, 1, b.Requests)

	_, err = c.Account(t.Context(), PriorityRead)
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonTimeout, de.Reason)

	// The caller's deadline is a timeout too.
	slow := simClient(t, sim, base, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, err = slow.ListStores(ctx, PriorityRead)
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonTimeout, de.Reason)
}

func TestAuthFailures(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{})
	tests := []struct {
		name   string
		mod    func(*Options)
		reason string
		status int
	}{
		{name: "wrong token", mod: func(o *Options) { o.Token = "wrong-SECRET-token" }, reason: ReasonUnauthorized, status: 401},
		{name: "unknown account", mod: func(o *Options) { o.AccountUUID = "11111111-2222-4333-8444-555555555555" }, reason: ReasonAccountNotFound, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := simClient(t, sim, base, tt.mod)
			calls := map[string]func() error{
				"account": func() error { _, err := c.Account(t.Context(), PriorityRead); return err },
				"users":   func() error { _, _, err := c.ListAccountUsers(t.Context(), PriorityRead); return err },
				"apply": func() error {
					_, err := c.Apply(t.Context(), PriorityAccountAdd, addOps(1))
					return err
				},
			}
			for name, call := range calls {
				err := call()
				require.ErrorIs(t, err, ErrPermanent, name)
				var de *Error
				require.ErrorAs(t, err, &de)
				require.Equal(t, tt.reason, de.Reason, name)
				require.Equal(t, tt.status, de.Status, name)
				require.NotContains(t, err.Error(), "SECRET")
			}
		})
	}
	require.Empty(t, sim.Log())
}

func TestListAccountUsersFollowsCursors(t *testing.T) {
	sim, base := startSimulator(t, simulator.Options{Seed: bigSeed(t, 250, nil, []string{"only"})})
	c := simClient(t, sim, base, func(o *Options) { o.PageSize = 100 })
	users, requests, err := c.ListAccountUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Equal(t, 3, requests)
	require.Equal(t, 3, sim.Stats().Requests)
	require.Len(t, users, 250)
	for i, u := range users {
		require.Equal(t, fmt.Sprintf("bc/account/user/%d", i+1), u.ID, "ascending ids, no gaps or repeats")
		require.Equal(t, fmt.Sprintf("u%03d@example.com", i), u.Email)
		require.Equal(t, "Last", u.LastName)
	}
}

func TestListStoreUsersContinuesLargeStores(t *testing.T) {
	// 23 stores (two store pages of 20), three of them with more users than
	// the 25 nested in the first page.
	order := make([]string, 23)
	for i := range order {
		order[i] = fmt.Sprintf("s%02d", i)
	}
	access := map[string][]int{
		"s00": seq(0, 60),   // 25 nested + 35 continued
		"s01": seq(10, 140), // 25 nested + 50 + 50 + 5
		"s05": seq(3, 29),   // 25 nested + 1
		"s19": seq(0, 25),   // exactly the nested page
		"s22": seq(100, 103),
	}
	seed := bigSeed(t, 150, access, order)
	sim, base := startSimulator(t, simulator.Options{Seed: seed})
	complexity := &headerRecorder{name: "X-Bc-Graphql-Complexity", next: &http.Transport{}}
	c := simClient(t, sim, base, func(o *Options) {
		o.PageSize = 50
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: complexity}
	})

	got, requests, err := c.ListStoreUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	// 2 store pages; continuation rounds: {s00, s01, s05}, {s01}, {s01}.
	require.Equal(t, 5, requests)
	require.Equal(t, 5, sim.Stats().Requests)

	want := map[string][]string{}
	for _, u := range sim.Snapshot().Users {
		for hash := range u.Stores {
			want[hash] = append(want[hash], u.ID)
		}
	}
	require.Len(t, got, 23)
	for i, su := range got {
		require.Equal(t, order[i], su.Store.Hash)
		ids := userIDs(su.Users)
		require.Len(t, ids, len(access[su.Store.Hash]), "store %s", su.Store.Hash)
		require.ElementsMatch(t, want[su.Store.Hash], ids, "store %s", su.Store.Hash)
		require.Equal(t, len(ids), su.Total)
		require.True(t, slices.IsSortedFunc(su.Users, func(a, b User) int { return userNum(a.ID) - userNum(b.ID) }))
	}
	for _, v := range complexity.ints(t) {
		require.Less(t, v, 10000)
	}
}

func TestListingDocumentsStayUnderComplexityLimit(t *testing.T) {
	access := map[string][]int{}
	order := make([]string, 45)
	for i := range order {
		order[i] = fmt.Sprintf("st%02d", i)
		access[order[i]] = seq(0, 130)
	}
	sim, base := startSimulator(t, simulator.Options{Seed: bigSeed(t, 130, access, order)})
	complexity := &headerRecorder{name: "X-Bc-Graphql-Complexity", next: &http.Transport{}}
	c := simClient(t, sim, base, func(o *Options) {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: complexity}
	})
	_, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	_, _, err = c.ListStores(t.Context(), PriorityRead)
	require.NoError(t, err)
	got, _, err := c.ListStoreUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Len(t, got, 45)
	for _, su := range got {
		require.Len(t, su.Users, 130)
	}
	_, err = c.Apply(t.Context(), PriorityRepair, removeStoreOps(order[:24], 2))
	require.NoError(t, err)
	values := complexity.ints(t)
	t.Logf("complexity per request (default page size): %v", values)
	require.Less(t, slices.Max(values), 10000)
}

func TestListingFailureMidwayReturnsNoData(t *testing.T) {
	access := map[string][]int{"a": seq(0, 80), "b": seq(0, 3)}
	seed := bigSeed(t, 250, access, []string{"a", "b"})
	tests := []struct {
		name   string
		failAt int
		list   func(c *Client) (any, int, error)
		reason string
	}{
		{
			name: "account users, second page 503", failAt: 2, reason: ReasonHTTP5xx,
			list: func(c *Client) (any, int, error) { return nilSlice(c.ListAccountUsers(t.Context(), PriorityRead)) },
		},
		{
			name: "account users, third page dropped", failAt: 3, reason: ReasonConnection,
			list: func(c *Client) (any, int, error) { return nilSlice(c.ListAccountUsers(t.Context(), PriorityRead)) },
		},
		{
			name: "store users, continuation 503", failAt: 2, reason: ReasonHTTP5xx,
			list: func(c *Client) (any, int, error) { return nilSlice(c.ListStoreUsers(t.Context(), PriorityRead)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := startSimulator(t, simulator.Options{Seed: seed})
			gate := &recordingGate{onAcquire: func(n int) error {
				if n == tt.failAt {
					if tt.reason == ReasonConnection {
						sim.DropNext(1)
					} else {
						sim.FailNext(1, http.StatusServiceUnavailable)
					}
				}
				return nil
			}}
			c := simClient(t, sim, base, func(o *Options) { o.Gate = gate; o.PageSize = 100 })
			data, requests, err := tt.list(c)
			require.ErrorIs(t, err, ErrTransient)
			var de *Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.reason, de.Reason)
			require.Nil(t, data, "no partial data")
			require.Equal(t, tt.failAt, requests)
		})
	}
}

// nilSlice turns a typed slice result into (any, ...), keeping nil as nil.
func nilSlice[T any](v []T, n int, err error) (any, int, error) {
	if v == nil {
		return nil, n, err
	}
	return v, n, err
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	clock := newClock()
	sim, base := startSimulator(t, simulator.Options{Now: clock.Now, RateLimit: 1000})
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	c := simClient(t, sim, base, func(o *Options) { o.Logger = logger })
	wrongToken := simClient(t, sim, base, func(o *Options) { o.Logger = logger; o.Token = "wrong-" + simToken })

	ops := []Op{
		{Kind: OpAddToAccount, Email: "secret.person@example.com"},
		{Kind: OpAddToAccount, Email: "alice@example.com"},
		{Kind: OpAddToAccount, Email: "bad-address"},
		{Kind: OpAddToStore, UserID: "bc/account/user/999", StoreHash: "abc123"},
		{Kind: OpAddToStore, Email: "alice@example.com", StoreHash: "nope"},
		{Kind: OpRemoveFromAccount, Email: "owner@example.com"},
		{Kind: OpRemoveFromAccount, Email: "ghost.user@example.com"},
	}
	var errs []error
	collect := func(b Batch, err error) {
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range b.Results {
			if r.Err != nil {
				errs = append(errs, r.Err)
			}
		}
	}
	collect(c.Apply(t.Context(), PriorityRepair, ops))
	sim.SetMaxMutations(2)
	collect(c.Apply(t.Context(), PriorityRepair, ops))
	sim.SetMaxMutations(0)
	sim.FailNext(1, http.StatusBadGateway)
	collect(c.Apply(t.Context(), PriorityRepair, ops))
	sim.DropNext(1)
	collect(c.Apply(t.Context(), PriorityRepair, ops))
	collect(wrongToken.Apply(t.Context(), PriorityRepair, ops))
	_, _, err := wrongToken.ListAccountUsers(t.Context(), PriorityRead)
	errs = append(errs, err)
	sim.SetRateLimit(1, time.Minute)
	clock.Advance(2 * time.Hour)
	collect(c.Apply(t.Context(), PriorityRepair, ops[:1]))
	collect(c.Apply(t.Context(), PriorityRepair, ops))

	require.NotEmpty(t, errs)
	reasons := map[string]bool{}
	for _, err := range errs {
		require.Error(t, err)
		s := err.Error()
		require.NotContains(t, s, simToken)
		require.NotContains(t, s, "@", "error %q", s)
		for _, op := range ops {
			if op.Email != "" {
				require.NotContains(t, s, op.Email)
			}
		}
		var de *Error
		require.True(t, errors.As(err, &de))
		reasons[de.Reason] = true
	}
	for _, r := range []string{ReasonInvalidInput, ReasonNotInAccount, ReasonStoreNotFound, ReasonCannotRemoveOwner,
		ReasonHTTP5xx, ReasonConnection, ReasonUnauthorized, ReasonRateLimited} {
		require.True(t, reasons[r], "scenario for %s did not run", r)
	}
	require.NotEmpty(t, logs.All())
	requireNoSecretsInLogs(t, logs, ops, simToken)
}

func seq(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func userNum(id string) int {
	var n int
	_, _ = fmt.Sscanf(strings.TrimPrefix(id, userIDPrefix), "%d", &n)
	return n
}

// removeStoreOps returns store removals for users 2..perStore+1 in each store.
func removeStoreOps(stores []string, perStore int) []Op {
	var ops []Op
	for _, h := range stores {
		for u := 2; u < 2+perStore; u++ {
			ops = append(ops, Op{Kind: OpRemoveFromStore, StoreHash: h, UserID: fmt.Sprintf("bc/account/user/%d", u)})
		}
	}
	return ops
}

func TestListingsShrinkWhenRefused(t *testing.T) {
	order := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	access := map[string][]int{}
	for i, h := range order {
		access[h] = seq(i, 60+i) // 60 users each: 25 nested + 35 continued
	}
	seed := bigSeed(t, 250, access, order)
	tests := []struct {
		name          string
		maxComplexity int
		list          func(t *testing.T, c *Client) int
	}{
		{
			// A page of 50 users with the documented fields (256) is refused
			// under 200; 25 (131) passes.
			name: "account users", maxComplexity: 200,
			list: func(t *testing.T, c *Client) int {
				users, requests, err := c.ListAccountUsers(t.Context(), PriorityRead)
				require.NoError(t, err)
				require.Len(t, users, 250)
				require.Equal(t, 1+10, requests, "one refused page of 50, then ten of 25")
				return requests
			},
		},
		{
			// Stores pages shrink 20 -> 10 -> 5 stores; continuation documents
			// shrink from 6 stores to 3 to 1.
			name: "store users", maxComplexity: 1500,
			list: func(t *testing.T, c *Client) int {
				got, requests, err := c.ListStoreUsers(t.Context(), PriorityRead)
				require.NoError(t, err)
				require.Len(t, got, len(order))
				for i, su := range got {
					require.Equal(t, order[i], su.Store.Hash)
					require.Len(t, su.Users, 60)
					require.Equal(t, 60, su.Total)
				}
				return requests
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := startSimulator(t, simulator.Options{Seed: seed, MaxComplexity: tt.maxComplexity})
			core, logs := observer.New(zap.WarnLevel)
			c := simClient(t, sim, base, func(o *Options) { o.Logger = zap.New(core) })
			requests := tt.list(t, c)
			stats := sim.Stats()
			require.Equal(t, stats.Requests, requests, "refused pages are counted")
			require.Positive(t, stats.Refused)
			require.Len(t, logs.FilterMessage("downstream refused listing page, shrinking").All(), stats.Refused)
		})
	}

	// A server that refuses even one item fails the listing, with no data.
	sim, base := startSimulator(t, simulator.Options{Seed: seed, MaxComplexity: 5})
	users, requests, err := simClient(t, sim, base, nil).ListAccountUsers(t.Context(), PriorityRead)
	require.ErrorIs(t, err, ErrPermanent)
	var de *Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, ReasonRefused, de.Reason)
	require.Nil(t, users)
	require.Equal(t, 6, requests, "pages of 50, 25, 12, 6, 3 and 1 refused, then it gives up")
}

func TestApplyComplexityPerOperation(t *testing.T) {
	// The numbers the package doc states, as the simulator scores them.
	tests := []struct {
		op   Op
		cost int
	}{
		{op: Op{Kind: OpAddToAccount, Email: "x@example.com"}, cost: 103},
		{op: Op{Kind: OpRemoveFromAccount, Email: "alice@example.com"}, cost: 102},
		{op: Op{Kind: OpAddToStore, Email: "bob@example.com", StoreHash: "ghi789"}, cost: 102},
		{op: Op{Kind: OpRemoveFromStore, UserID: "bc/account/user/3", StoreHash: "abc123"}, cost: 104},
	}
	for _, tt := range tests {
		t.Run(tt.op.Kind.String(), func(t *testing.T) {
			sim, base := startSimulator(t, simulator.Options{})
			complexity := &headerRecorder{name: "X-Bc-Graphql-Complexity", next: &http.Transport{}}
			c := simClient(t, sim, base, func(o *Options) { o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: complexity} })
			ops := []Op{tt.op, tt.op, tt.op}
			_, err := c.Apply(t.Context(), PriorityRepair, ops)
			require.NoError(t, err)
			require.Equal(t, []int{3 * tt.cost}, complexity.ints(t))
		})
	}
}
