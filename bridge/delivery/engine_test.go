package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// rig is a delivery engine wired to a simulator, on a real store.
type rig struct {
	t      *testing.T
	clock  *simclock.Clock // shared by the simulator, the budget and the engine
	sim    *simulator.Server
	base   string // the simulator's base URL
	store  store.Store
	svc    *bridge.Service
	client *downstream.Client
	budget *Budget
	eng    *Engine
}

type rigOpts struct {
	undetected   bool          // leave the capabilities to the engine
	timeout      time.Duration // the client's HTTP timeout
	serverRate   int           // the simulator's limit per window when it differs from rate
	logger       *zap.Logger
	profile      string
	rate         int
	window       time.Duration
	maxBatch     int
	maxMutations int
	mapping      bridge.Mapping
}

func newRig(t *testing.T, st store.Store, o rigOpts) *rig {
	t.Helper()
	if o.rate == 0 {
		o.rate, o.window = 70, time.Hour
	}
	if o.maxBatch == 0 {
		o.maxBatch = 50
	}
	if o.mapping.Explicit == nil && !o.mapping.ByName {
		o.mapping.ByName = true
	}
	c := simclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	serverRate := o.rate
	if o.serverRate > 0 {
		serverRate = o.serverRate
	}
	sim, err := simulator.New(simulator.Options{RateLimit: serverRate, RateWindow: o.window, MaxMutations: o.maxMutations, Now: c.Now, Profile: o.profile})
	require.NoError(t, err)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	log := zaptest.NewLogger(t)
	if o.logger != nil {
		log = zap.New(zapcore.NewTee(log.Core(), o.logger.Core()))
	}
	budget := NewBudget(st, o.rate, o.window, 0.15, c.Now, log)
	// The client learns the simulator's capabilities before the budget gates
	// it, so that tests count only the requests of the work they drive.
	gate := &laterGate{}
	var hc *http.Client
	if o.timeout > 0 {
		hc = &http.Client{Timeout: o.timeout}
	}
	client, err := downstream.New(downstream.Options{BaseURL: ts.URL, AccountUUID: sim.AccountUUID(), Token: simulator.DefaultToken, Gate: gate, Logger: log, HTTPClient: hc})
	require.NoError(t, err)
	if !o.undetected {
		require.NoError(t, client.Detect(t.Context(), downstream.PriorityRead))
	}
	gate.set(budget)
	svc, err := bridge.NewService(bridge.Options{Store: st, Now: c.Now, Mapping: o.mapping, Logger: log})
	require.NoError(t, err)
	eng, err := New(Options{Store: st, Client: client, Budget: budget, Service: svc, Logger: log, Now: c.Now,
		MaxBatch: o.maxBatch, RemovalLinger: 5 * time.Second, AdditionLinger: 30 * time.Second, Rand: func() float64 { return 0.5 }})
	require.NoError(t, err)
	return &rig{t: t, clock: c, sim: sim, base: ts.URL, store: st, svc: svc, client: client, budget: budget, eng: eng}
}

// snapshot records the account's current state as the bridge's known state,
// as a reconciliation run would, without spending the engine's budget.
func (r *rig) snapshot() {
	r.t.Helper()
	free, err := downstream.New(downstream.Options{BaseURL: r.base, AccountUUID: r.sim.AccountUUID(), Token: simulator.DefaultToken})
	require.NoError(r.t, err)
	snap, err := known.Read(r.t.Context(), free, downstream.PriorityRead, r.clock.Now)
	require.NoError(r.t, err)
	require.NoError(r.t, r.store.Update(r.t.Context(), func(tx store.Tx) error {
		return known.Save(r.t.Context(), tx, snap, known.Origin{Source: store.SourceOperator})
	}))
	_, err = r.svc.SetCatalog(r.t.Context(), snap.Catalog())
	require.NoError(r.t, err)
}

// drain steps the engine, jumping the clock to each wake-up, until nothing is
// pending or the deadline (simulated) passes. It returns the simulated time spent.
func (r *rig) drain(limit time.Duration) time.Duration {
	r.t.Helper()
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < limit {
		next, err := r.eng.Step(r.t.Context())
		require.NoError(r.t, err)
		if r.pending() == 0 {
			return r.clock.Now().Sub(start)
		}
		if next.After(r.clock.Now()) {
			r.clock.Set(next)
		}
	}
	var left []store.Intent
	_ = r.store.View(r.t.Context(), func(tx store.Tx) error {
		left, _ = tx.ListIntents(r.t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		return nil
	})
	r.t.Fatalf("outbox not drained within %s: %d pending: %+v; engine %+v", limit, r.pending(), left, r.eng.Status())
	return 0
}

func (r *rig) pending() int {
	var n int
	require.NoError(r.t, r.store.View(r.t.Context(), func(tx store.Tx) error {
		in, err := tx.ListIntents(r.t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		n = len(in)
		return err
	}))
	return n
}

// user creates a SCIM user through the Service.
func (r *rig) user(email string, active bool) string {
	r.t.Helper()
	v, err := r.svc.CreateUser(r.t.Context(), map[string]any{"userName": email, "active": active})
	require.NoError(r.t, err)
	return v.ID
}

func (r *rig) setActive(id string, active bool) {
	r.t.Helper()
	_, err := r.svc.UpdateUser(r.t.Context(), id, nil, func(cur bridge.UserView) (map[string]any, error) {
		a := map[string]any{}
		for k, v := range cur.Attributes {
			a[k] = v
		}
		a["active"] = active
		return a, nil
	})
	require.NoError(r.t, err)
}

func (r *rig) group(name string, members ...string) string {
	r.t.Helper()
	v, err := r.svc.CreateGroup(r.t.Context(), map[string]any{"displayName": name}, members)
	require.NoError(r.t, err)
	return v.ID
}

func (r *rig) setMembers(id string, members ...string) {
	r.t.Helper()
	_, err := r.svc.UpdateGroup(r.t.Context(), id, nil, false, func(cur bridge.GroupView) (map[string]any, bridge.MemberChange, error) {
		return cur.Attributes, bridge.MemberChange{Set: true, Members: members}, nil
	})
	require.NoError(r.t, err)
}

// bc returns the simulator's users by lower-cased email.
func (r *rig) bc() map[string]simulator.User {
	out := map[string]simulator.User{}
	for _, u := range r.sim.Snapshot().Users {
		out[u.Email] = u
	}
	return out
}

func (r *rig) syncState(id string) store.SyncState {
	r.t.Helper()
	v, err := r.svc.GetUser(r.t.Context(), id)
	require.NoError(r.t, err)
	return v.Sync
}

func sqliteRig(t *testing.T, o rigOpts) *rig { return newRig(t, storetest.NewSQLite(t), o) }

func TestJoinersAndLeaversReachBigCommerce(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	base := r.sim.Stats().Counted
	ann := r.user("ann@example.com", true)
	bob := r.user("bob@example.com", true)
	r.group("Plant Market", ann, bob)
	r.drain(time.Hour)

	bc := r.bc()
	require.Contains(t, bc["ann@example.com"].Stores, "abc123")
	require.Contains(t, bc["bob@example.com"].Stores, "abc123")
	require.Equal(t, 2, r.sim.Stats().Counted-base, "one mutation request (plus the catalog listing) for four operations")
	require.Equal(t, store.SyncSynced, r.syncState(ann).State)
	require.NotEmpty(t, r.syncState(ann).LastSyncedAt)

	// Leaver: removed from the account, store access with it.
	r.setActive(bob, false)
	r.drain(time.Hour)
	require.NotContains(t, r.bc(), "bob@example.com")
	require.Equal(t, store.SyncSynced, r.syncState(bob).State)

	// Store removal needs the user id: the full simulator returns it with the
	// account addition, so no lookup is needed (see TestStoreRemovalLooksUpTheID
	// for the documented API).
	before := r.sim.Stats().Counted
	g2 := r.group("Garden Tools", ann)
	r.drain(time.Hour)
	require.ElementsMatch(t, []string{"abc123", "def456"}, keys(r.bc()["ann@example.com"].Stores))
	r.setMembers(g2)
	r.drain(time.Hour)
	require.ElementsMatch(t, []string{"abc123"}, keys(r.bc()["ann@example.com"].Stores))
	require.Equal(t, before+2, r.sim.Stats().Counted, "store add, store removal")
	require.Equal(t, "bc/account/user/"+idNumber(r, "ann@example.com"), r.syncState(ann).BigCommerceUserID)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func idNumber(r *rig, email string) string {
	id := r.bc()[email].ID
	return id[len("bc/account/user/"):]
}

func TestNetEffectSendsNothingForCancelledJoiners(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	before := r.sim.Stats().Counted
	id := r.user("brief@example.com", true)
	r.group("Plant Market", id)
	r.setActive(id, false)
	r.drain(time.Hour)
	require.NotContains(t, r.bc(), "brief@example.com")
	require.Equal(t, before+1, r.sim.Stats().Counted, "only the catalog listing: create-then-deactivate sends nothing")
	require.Zero(t, r.sim.Stats().Operations["addUserToAccount"])
	require.Equal(t, store.SyncSynced, r.syncState(id).State)

	// Adoption: a user already in BigCommerce needs no add.
	alice := r.user("alice@example.com", true)
	r.drain(time.Hour)
	require.Zero(t, r.sim.Stats().Operations["addUserToAccount"])
	require.Equal(t, store.SyncSynced, r.syncState(alice).State)
}

func TestLeaverGoesInTheNextRequest(t *testing.T) {
	r := sqliteRig(t, rigOpts{maxBatch: 10})
	r.snapshot()
	var joiners []string
	for i := range 40 {
		joiners = append(joiners, r.user(emailN("joiner", i), true))
	}
	// One request's worth of joiners goes out.
	_, err := r.eng.Step(t.Context()) // catalog
	require.NoError(t, err)
	_, err = r.eng.Step(t.Context())
	require.NoError(t, err)
	require.Equal(t, 10, r.sim.Stats().Operations["addUserToAccount"])
	// A leaver arrives behind the 30 remaining joiners.
	r.setActive(r.user("leaver@example.com", true), false)
	bob := r.bc()["bob@example.com"]
	require.NotEmpty(t, bob.ID)
	r.setActive(r.user("bob@example.com", true), false)
	log := len(r.sim.Log())
	r.clock.Advance(5 * time.Second) // the removal linger
	for range 5 {                    // steps that only settle intents send nothing
		_, err = r.eng.Step(t.Context())
		require.NoError(t, err)
		if len(r.sim.Log()) > log {
			break
		}
	}
	next := r.sim.Log()[log:]
	require.NotEmpty(t, next)
	require.Equal(t, "removeUserFromAccount", next[0].Field, "the leaver is first in the very next request")
	require.Equal(t, "bob@example.com", next[0].Email)
	require.NotContains(t, r.bc(), "bob@example.com")
	r.drain(time.Hour)
	require.Len(t, joiners, 40)
}

func emailN(prefix string, i int) string {
	return prefix + time.Duration(i).String() + "@example.com"
}

func TestTransientFaultsAreRetried(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	r.sim.FailNext(2, 503)
	id := r.user("flaky@example.com", true)
	r.drain(2 * time.Hour)
	require.Contains(t, r.bc(), "flaky@example.com")
	require.Equal(t, store.SyncSynced, r.syncState(id).State)

	r.sim.DropNext(1)
	id2 := r.user("dropped@example.com", true)
	r.drain(2 * time.Hour)
	require.Contains(t, r.bc(), "dropped@example.com")
	require.Equal(t, store.SyncSynced, r.syncState(id2).State)
}

func TestRateLimitStormNeverOverspends(t *testing.T) {
	r := sqliteRig(t, rigOpts{rate: 5, window: time.Minute, maxBatch: 1})
	r.snapshot()
	for i := range 12 {
		r.user(emailN("storm", i), true)
	}
	// Another client spends the server's window behind the bridge's back.
	r.sim.SetRateLimit(5, time.Minute)
	spent := r.drain(time.Hour)
	st := r.sim.Stats()
	require.Equal(t, 12, st.Operations["addUserToAccount"])
	// 12 requests (+1 catalog) at 5/min: at least 2 minutes of windows.
	require.GreaterOrEqual(t, spent, 2*time.Minute)
	require.LessOrEqual(t, st.RateLimited, 1, "the budget keeps the bridge under the server's limit")
}

func TestSingleMutationServers(t *testing.T) {
	r := sqliteRig(t, rigOpts{maxMutations: 1, maxBatch: 8, rate: 1000, window: time.Hour})
	r.snapshot()
	var ids []string
	for i := range 8 {
		ids = append(ids, r.user(emailN("single", i), true))
	}
	r.drain(time.Hour)
	st := r.eng.Status()
	require.Equal(t, "single", st.BatchMode)
	require.Equal(t, 1, st.MaxBatch)
	for i := range 8 {
		require.Contains(t, r.bc(), emailN("single", i))
	}
	// From now on one mutation per request, leavers first.
	for _, id := range ids[:3] {
		r.setActive(id, false)
	}
	r.user("late-joiner@example.com", true)
	log := len(r.sim.Log())
	r.drain(time.Hour)
	events := r.sim.Log()[log:]
	require.Len(t, events, 4)
	for _, ev := range events[:3] {
		require.Equal(t, "removeUserFromAccount", ev.Field)
	}
	require.Equal(t, "addUserToAccount", events[3].Field)
	require.Equal(t, 1, r.sim.Stats().MaxMutationsPerRequest)
	require.InDelta(t, 500, r.budget.Reserve(), 1e-9, "half the budget is kept for removals in single mode")

	// BigCommerce starts batching again: after the probe interval a larger batch
	// is tried, accepted, and the engine returns to batches.
	r.sim.SetMaxMutations(0)
	r.clock.Advance(31 * time.Minute)
	for i := range 6 {
		r.user(emailN("later", i), true)
	}
	r.drain(time.Hour)
	st = r.eng.Status()
	require.Equal(t, "batched", st.BatchMode)
	require.Greater(t, st.MaxBatch, 1)
	require.InDelta(t, 150, r.budget.Reserve(), 1e-9, "the configured reserve again")
	require.Greater(t, r.sim.Stats().MaxMutationsPerRequest, 1)
}

func TestPermanentFailuresAreDeadLettered(t *testing.T) {
	r := sqliteRig(t, rigOpts{mapping: bridge.Mapping{Explicit: map[string]string{"Ghost Store": "nope999"}}})
	r.snapshot()
	id := r.user("ghost@example.com", true)
	r.group("Ghost Store", id)
	r.drain(time.Hour)
	require.Contains(t, r.bc(), "ghost@example.com", "the account add succeeded")
	sync := r.syncState(id)
	require.Equal(t, store.SyncFailed, sync.State)
	require.NotEmpty(t, sync.LastError)
	var dead []store.Intent
	require.NoError(t, r.store.View(t.Context(), func(tx store.Tx) error {
		var err error
		dead, err = tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentDead}})
		return err
	}))
	require.Len(t, dead, 1)
	require.Equal(t, store.StoreAdd, dead[0].Kind)
	require.Equal(t, downstream.ReasonStoreNotFound, dead[0].LastError)
}

func TestBudgetSurvivesRestart(t *testing.T) {
	st := storetest.NewSQLite(t)
	r := newRig(t, st, rigOpts{rate: 10, window: time.Hour, maxBatch: 1})
	for i := range 6 {
		r.user(emailN("first", i), true)
	}
	r.drain(time.Hour)
	left := r.budget.Last().Available(r.clock.Now())
	require.InDelta(t, 10-8, left, 0.5, "the capability query, the catalog and six additions spent eight of ten")
	// A new budget on the same store (a restart, or another replica) does not
	// start from a full bucket.
	again := NewBudget(st, 10, time.Hour, 0.15, r.clock.Now, nil)
	b, err := again.Snapshot(t.Context())
	require.NoError(t, err)
	require.InDelta(t, left, b.Available(r.clock.Now()), 0.01)
	ok, _, err := again.TryTake(t.Context(), downstream.PriorityAccountAdd)
	require.NoError(t, err)
	require.False(t, ok, "the reserve (1.5 of 10) is kept for removals")
	ok, _, err = again.TryTake(t.Context(), downstream.PriorityAccountRemoval)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, slices.Contains([]int{8}, r.sim.Stats().Counted))
}

// laterGate passes every request until set, then is the budget.
type laterGate struct {
	mu sync.Mutex
	b  *Budget
}

func (g *laterGate) set(b *Budget) { g.mu.Lock(); g.b = b; g.mu.Unlock() }

func (g *laterGate) get() *Budget { g.mu.Lock(); defer g.mu.Unlock(); return g.b }

func (g *laterGate) Acquire(ctx context.Context, p downstream.Priority) error {
	if b := g.get(); b != nil {
		return b.Acquire(ctx, p)
	}
	return nil
}

func (g *laterGate) Observe(info downstream.RateInfo) {
	if b := g.get(); b != nil {
		b.Observe(info)
	}
}
