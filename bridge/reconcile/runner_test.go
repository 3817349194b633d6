package reconcile

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// driftScenario builds a managed account in the simulator through the bridge,
// then changes BigCommerce by hand so that every drift class appears. The
// default seed has owner@example.com (all stores), alice@example.com (abc123)
// and bob@example.com (abc123, def456); abc123 is "Plant Market", def456
// "Garden Tools", ghi789 "Seed Library".
type driftScenario struct {
	ann, cid, alice, dave string // SCIM ids
}

func setUpDrift(t *testing.T, r *rig) driftScenario {
	t.Helper()
	var s driftScenario
	s.ann = r.user("ann@example.com", true)
	s.cid = r.user("cid@example.com", true)
	s.alice = r.user("alice@example.com", true) // adopted: already in BigCommerce
	s.dave = r.user("dave@example.com", true)
	erin := r.user("erin@example.com", true)
	r.group("Plant Market", s.ann, s.cid, s.alice)
	r.group("Garden Tools", s.ann)
	r.drain()
	// The IdP deactivates dave and deletes erin; delivery removes both.
	r.setActive(s.dave, false)
	require.NoError(t, r.svc.DeleteUser(t.Context(), erin, nil))
	r.drain()
	require.NotContains(t, r.bc(), "dave@example.com")
	require.NotContains(t, r.bc(), "erin@example.com")
	require.ElementsMatch(t, []string{"abc123", "def456"}, r.bc()["ann@example.com"])

	// Drift, by hand in the control panel.
	r.byHand(
		downstream.Op{Kind: downstream.OpAddToAccount, Email: "mallory@example.com"},                              // unmanaged
		downstream.Op{Kind: downstream.OpAddToStore, Email: "mallory@example.com", StoreHash: "ghi789"},           // unmanaged
		downstream.Op{Kind: downstream.OpRemoveFromStore, UserID: r.bcID("ann@example.com"), StoreHash: "def456"}, // missing_from_store
		downstream.Op{Kind: downstream.OpAddToStore, Email: "cid@example.com", StoreHash: "ghi789"},               // excess_store_access
		downstream.Op{Kind: downstream.OpRemoveFromAccount, Email: "alice@example.com"},                           // missing_from_account
		downstream.Op{Kind: downstream.OpAddToAccount, Email: "dave@example.com"},                                 // deactivated_present
		downstream.Op{Kind: downstream.OpAddToAccount, Email: "erin@example.com"},                                 // deleted_present
	)
	r.clock.Advance(time.Hour)
	return s
}

var wantDrift = []string{
	"deactivated_present dave@example.com -> account.remove",
	"deleted_present erin@example.com -> account.remove",
	"excess_store_access cid@example.com ghi789 -> store.remove",
	"missing_from_account alice@example.com -> account.add",
	"missing_from_store alice@example.com abc123 -> store.add",
	"missing_from_store ann@example.com def456 -> store.add",
	"protected owner@example.com -> none",
	"unmanaged bob@example.com -> none",
	"unmanaged mallory@example.com -> none",
}

func items(p PlanResult) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, item(it))
	}
	sort.Strings(out)
	return out
}

func TestRunnerFindsAndRepairsDrift(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := newRig(t, st, rigOpts{})
		s := setUpDrift(t, r)
		policy := Policy{Unmanaged: UnmanagedReport, Protected: []string{"Owner@Example.com"}, MaxRemovals: 10}
		run := r.runner(policy)

		// Dry run: every class detected, nothing written anywhere.
		beforeStore, beforeSim, beforeLog := r.storeState(), r.sim.Snapshot(), len(r.sim.Log())
		counted := r.sim.Stats().Counted
		res, err := run.RunOnce(t.Context(), true)
		require.NoError(t, err)
		require.Equal(t, OutcomeSuccess, res.Outcome)
		require.True(t, res.DryRun)
		require.Equal(t, wantDrift, items(res.Plan))
		for _, c := range Classes() {
			require.Positive(t, res.Plan.Counts[c], "class %s detected", c)
		}
		require.Equal(t, 3, res.Plan.Removals)
		require.Len(t, res.Plan.Intents, 6)
		require.Zero(t, res.Queued)
		require.Equal(t, 2, res.RequestsSpent, "one page of account users, one page of stores with their users")
		require.Equal(t, res.RequestsSpent, r.sim.Stats().Counted-counted)
		require.Equal(t, beforeStore, r.storeState(), "a dry run writes nothing to the store")
		require.Equal(t, beforeSim, r.sim.Snapshot(), "a dry run changes nothing in BigCommerce")
		require.Len(t, r.sim.Log(), beforeLog, "a dry run sends no mutation")
		for _, it := range res.Plan.Items {
			switch it.Email {
			case "ann@example.com":
				require.Equal(t, s.ann, it.UserID)
			case "alice@example.com":
				require.Equal(t, s.alice, it.UserID)
			case "dave@example.com":
				require.Equal(t, s.dave, it.UserID)
			case "erin@example.com", "mallory@example.com", "bob@example.com":
				require.Empty(t, it.UserID)
			}
		}

		// Apply: repairs go into the outbox with the run's id, at repair priority.
		res, err = run.RunOnce(t.Context(), false)
		require.NoError(t, err)
		require.Equal(t, OutcomeSuccess, res.Outcome)
		require.Equal(t, wantDrift, items(res.Plan))
		require.Equal(t, 6, res.Queued)
		pending := r.intents(store.IntentPending)
		require.Len(t, pending, 6)
		for _, in := range pending {
			require.Equal(t, store.SourceReconcile, in.Source)
			require.Equal(t, res.RunID, in.RequestID)
			require.Equal(t, r.clock.Now(), in.CreatedAt)
		}
		plan := delivery.MakePlan(pending, knownOf(t, r), nil)
		for _, op := range plan.Ops {
			require.Equal(t, downstream.PriorityRepair, op.Priority, "repairs never jump ahead of the IdP's changes")
		}
		saved := r.storeState()
		require.NotEmpty(t, saved.Snap, "the listing is saved as the known state")
		require.Contains(t, emailsOf(saved.Known), "mallory@example.com")
		require.Equal(t, "reconcile.apply", saved.Audit[0].Action)
		require.Equal(t, res.RunID, saved.Audit[0].RequestID)
		require.NotContains(t, saved.Audit[0].Detail, "@")
		require.Len(t, saved.Catalog, 3)

		// Delivery repairs BigCommerce.
		r.drain()
		bc := r.bc()
		require.Equal(t, []string{"abc123"}, bc["alice@example.com"])
		require.Equal(t, []string{"abc123", "def456"}, bc["ann@example.com"])
		require.Equal(t, []string{"abc123"}, bc["cid@example.com"])
		require.NotContains(t, bc, "dave@example.com")
		require.NotContains(t, bc, "erin@example.com")
		require.Contains(t, bc, "mallory@example.com", "unmanaged users stay under the report policy")
		require.Contains(t, bc, "owner@example.com")

		// The next run finds only what the policy leaves in place.
		r.clock.Advance(time.Hour)
		res, err = run.RunOnce(t.Context(), true)
		require.NoError(t, err)
		require.Equal(t, []string{
			"protected owner@example.com -> none",
			"unmanaged bob@example.com -> none",
			"unmanaged mallory@example.com -> none",
		}, items(res.Plan))
		require.Equal(t, 2, res.Plan.Unrepaired())

		// Metrics and status describe the last run by counts.
		require.Equal(t, 2.0, r.metric("scim_bridge_reconcile_drift", "class", "unmanaged"))
		require.Equal(t, 0.0, r.metric("scim_bridge_reconcile_drift", "class", "missing_from_store"))
		require.Equal(t, 1.0, r.metric("scim_bridge_reconcile_drift", "class", "protected"))
		require.Equal(t, 3.0, r.metric("scim_bridge_reconcile_runs_total", "outcome", "success"))
		require.Equal(t, 6.0, r.metric("scim_bridge_reconcile_requests_total"))
		require.Equal(t, 2.0, r.metric("scim_bridge_reconcile_requests_estimated"))
		require.Equal(t, 1.0, r.metric("scim_bridge_reconcile_repairs_total", "kind", "account.add"))
		require.Equal(t, 2.0, r.metric("scim_bridge_reconcile_repairs_total", "kind", "account.remove"))
		require.Equal(t, float64(r.clock.Now().Unix()), r.metric("scim_bridge_reconcile_last_success_timestamp_seconds"))
		require.Equal(t, 3.0, r.metric("scim_bridge_reconcile_duration_seconds"))
		status := run.Status()
		require.Equal(t, 3, status.Runs)
		require.Equal(t, OutcomeSuccess, status.LastOutcome)
		require.Equal(t, r.clock.Now(), status.LastSuccessAt)
		require.Equal(t, 2, status.Drift["unmanaged"])
		require.Equal(t, 2, status.RequestsSpent)
		require.Equal(t, 2, status.RequestsEstimated)
		require.Empty(t, status.LastError)

		r.requireNoPersonalData()
	})
}

func knownOf(t *testing.T, r *rig) delivery.Known {
	t.Helper()
	users := map[string]store.BCUser{}
	for _, u := range r.storeState().Known {
		users[u.Email] = u
	}
	return knownMap(users)
}

type knownMap map[string]store.BCUser

func (k knownMap) Lookup(email string) (store.BCUser, bool) {
	u, ok := k[email]
	if !ok {
		return store.BCUser{Email: email}, true
	}
	return u, true
}

func emailsOf(users []store.BCUser) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Email)
	}
	return out
}

func TestRunnerRemovesUnmanagedUnderRemovePolicy(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{})
	r.byHand(downstream.Op{Kind: downstream.OpAddToAccount, Email: "mallory@example.com"})
	run := r.runner(Policy{Unmanaged: UnmanagedRemove, Protected: []string{"owner@example.com"}, MaxRemovals: 5})
	res, err := run.RunOnce(t.Context(), false)
	require.NoError(t, err)
	require.Equal(t, []string{
		"protected owner@example.com -> none",
		"unmanaged alice@example.com -> account.remove",
		"unmanaged bob@example.com -> account.remove",
		"unmanaged mallory@example.com -> account.remove",
	}, items(res.Plan))
	r.drain()
	require.Equal(t, []string{"owner@example.com"}, sortedKeys(r.bc()), "only the protected owner is left")
}

func TestRunnerCapStopsMassRemoval(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		r := newRig(t, st, rigOpts{})
		var ops []downstream.Op
		for _, e := range []string{"m1@example.com", "m2@example.com", "m3@example.com", "m4@example.com"} {
			ops = append(ops, downstream.Op{Kind: downstream.OpAddToAccount, Email: e})
		}
		r.byHand(ops...)
		r.user("joiner@example.com", true)
		r.drain()
		r.clock.Advance(time.Hour)
		run := r.runner(Policy{Unmanaged: UnmanagedRemove, Protected: []string{"owner@example.com"}, MaxRemovals: 3})

		before, sim := r.storeState(), r.sim.Snapshot()
		res, err := run.RunOnce(t.Context(), false)
		require.NoError(t, err, "an aborted run is not an error")
		require.Equal(t, OutcomeAborted, res.Outcome)
		require.True(t, res.Plan.Aborted)
		require.Equal(t, 6, res.Plan.Removals, "alice, bob and four hand-added users")
		require.Contains(t, res.Plan.Reason, "more than the cap of 3")
		require.Empty(t, res.Plan.Intents)
		require.Zero(t, res.Queued)
		require.Equal(t, 6, res.Plan.Unrepaired())

		after := r.storeState()
		require.Equal(t, before.Intents, after.Intents, "nothing queued")
		require.Equal(t, before.Known, after.Known, "known state untouched")
		require.Equal(t, before.Snap, after.Snap)
		require.Equal(t, "reconcile.aborted", after.Audit[0].Action, "the abort is on the audit trail")
		require.Len(t, after.Audit, len(before.Audit)+1)
		r.drain()
		require.Equal(t, sim, r.sim.Snapshot(), "BigCommerce unchanged")

		require.Equal(t, 1.0, r.metric("scim_bridge_reconcile_runs_total", "outcome", "aborted"))
		require.Equal(t, 0.0, r.metric("scim_bridge_reconcile_last_success_timestamp_seconds"))
		require.Equal(t, 6.0, r.metric("scim_bridge_reconcile_drift", "class", "unmanaged"))
		status := run.Status()
		require.Equal(t, OutcomeAborted, status.LastOutcome)
		require.Contains(t, status.AbortReason, "cap")
		require.True(t, status.LastSuccessAt.IsZero())
		r.requireNoPersonalData()
	})
}

func TestRunnerFailedReadChangesNothing(t *testing.T) {
	// Six users in three stores, listed two at a time: three pages of account
	// users, two pages of stores, continuation requests for the stores with
	// more than two users.
	seed := simulator.DefaultSeed()
	for _, e := range []string{"u1@example.com", "u2@example.com", "u3@example.com"} {
		seed.Users = append(seed.Users, simulator.SeedUser{Email: e, Stores: []string{"abc123", "ghi789"}})
	}
	tests := []struct {
		name  string
		at    int // the request that fails
		fault func(*simulator.Server)
	}{
		{"server error in the middle of the account users", 2, func(s *simulator.Server) { s.FailNext(1, 503) }},
		{"dropped connection on the last account users page", 3, func(s *simulator.Server) { s.DropNext(1) }},
		{"server error on the second page of stores", 6, func(s *simulator.Server) { s.FailNext(1, 502) }},
		{"dropped connection while continuing a store's users", 7, func(s *simulator.Server) { s.DropNext(1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, newSQLite(t), rigOpts{seed: seed, pageSize: 2})
			r.user("ann@example.com", true)
			r.drain()
			// A complete run first, so a known state exists to be kept.
			ok, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Now: r.clock.Now, PageSize: 2,
				Policy: Policy{Unmanaged: UnmanagedReport, MaxRemovals: 100}})
			require.NoError(t, err)
			res, err := ok.RunOnce(t.Context(), false)
			require.NoError(t, err)
			require.Greater(t, res.RequestsSpent, tc.at, "the fault falls inside the listing")
			r.drain()
			r.byHand(downstream.Op{Kind: downstream.OpAddToAccount, Email: "late@example.com"})
			r.clock.Advance(time.Hour)

			gate := &gateFunc{inner: r.budget, at: tc.at, hook: func() { tc.fault(r.sim) }}
			client, err := downstream.New(downstream.Options{BaseURL: r.base, AccountUUID: r.sim.AccountUUID(),
				Token: simulator.DefaultToken, Gate: gate, Logger: r.log, PageSize: 2})
			require.NoError(t, err)
			run, err := New(Options{Store: r.store, Service: r.svc, Client: client, Logger: r.log, Metrics: NewMetrics(r.reg),
				Now: r.clock.Now, PageSize: 2, Policy: Policy{Unmanaged: UnmanagedRemove, MaxRemovals: 100}})
			require.NoError(t, err)

			before, sim := r.storeState(), r.sim.Snapshot()
			res, err = run.RunOnce(t.Context(), false)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "@")
			require.Equal(t, OutcomeFailed, res.Outcome)
			require.Equal(t, tc.at, res.RequestsSpent, "requests spent are counted also when the read fails")
			require.Empty(t, res.Plan.Items)
			require.Equal(t, before, r.storeState(), "a failed read changes nothing in the store")
			require.Equal(t, sim, r.sim.Snapshot(), "nor in BigCommerce")
			require.Zero(t, r.pendingIntents())
			require.Equal(t, 1.0, r.metric("scim_bridge_reconcile_runs_total", "outcome", "failed"))
			status := run.Status()
			require.Equal(t, OutcomeFailed, status.LastOutcome)
			require.NotEmpty(t, status.LastError)
			r.requireNoPersonalData()
		})
	}
}

func TestRunnerSkipsUsersWithPendingIntents(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{})
	ann := r.user("ann@example.com", true)
	r.group("Plant Market", ann)
	r.drain()
	r.clock.Advance(time.Hour)
	// The IdP deactivates ann; before delivery sends the removal, a run looks.
	r.setActive(ann, false)
	// And bob's store access is changed by hand, so there is drift to report.
	r.byHand(downstream.Op{Kind: downstream.OpRemoveFromStore, UserID: r.bcID("bob@example.com"), StoreHash: "def456"})
	run := r.runner(Policy{Protected: []string{"owner@example.com", "alice@example.com", "bob@example.com"}, MaxRemovals: 10})
	res, err := run.RunOnce(t.Context(), false)
	require.NoError(t, err)
	require.Equal(t, []string{"ann@example.com"}, res.Plan.Pending)
	require.Zero(t, res.Plan.Drift(), "ann is not drift: the delivery engine is removing her")
	require.Zero(t, res.Queued)
	require.Len(t, r.intents(store.IntentPending), 1, "only the IdP's own removal is queued")
	r.drain()
	require.NotContains(t, r.bc(), "ann@example.com")
}

// TestRunnerRaces checks the races between a run and the rest of the bridge:
// an intent delivered while the account is being read, and a SCIM change
// committed between planning and applying.
func TestRunnerRaces(t *testing.T) {
	protect := []string{"owner@example.com", "alice@example.com", "bob@example.com"}

	t.Run("delivered during the read", func(t *testing.T) {
		r := newRig(t, newSQLite(t), rigOpts{})
		ann := r.user("ann@example.com", true)
		r.drain()
		r.clock.Advance(time.Hour)
		r.setActive(ann, false) // pending removal when the run starts
		// The engine delivers the removal between the run's two requests: the
		// account listing still shows ann, the stores listing does not.
		gate := &gateFunc{inner: r.budget, at: 2, hook: r.drain}
		client, err := downstream.New(downstream.Options{BaseURL: r.base, AccountUUID: r.sim.AccountUUID(),
			Token: simulator.DefaultToken, Gate: gate, Logger: r.log})
		require.NoError(t, err)
		run, err := New(Options{Store: r.store, Service: r.svc, Client: client, Logger: r.log, Now: r.clock.Now,
			Policy: Policy{Unmanaged: UnmanagedRemove, Protected: protect, MaxRemovals: 10}})
		require.NoError(t, err)
		res, err := run.RunOnce(t.Context(), false)
		require.NoError(t, err)
		require.NotContains(t, r.bc(), "ann@example.com")
		require.Equal(t, []string{"ann@example.com"}, res.Plan.Pending, "changed during the read: not compared")
		require.Zero(t, res.Queued)
		known := map[string]store.BCUser{}
		for _, u := range r.storeState().Known {
			known[u.Email] = u
		}
		require.Contains(t, known, "ann@example.com")
		require.False(t, known["ann@example.com"].InAccount, "the engine's newer knowledge is kept over the listing")
		require.True(t, known["bob@example.com"].InAccount)
	})

	t.Run("SCIM change between planning and applying", func(t *testing.T) {
		r := newRig(t, newSQLite(t), rigOpts{})
		ann := r.user("ann@example.com", true)
		g := r.group("Plant Market", ann)
		r.drain()
		r.clock.Advance(time.Hour)
		// Drift: ann lost abc123 by hand. A run would add it back, but right
		// after the run read the desired state the IdP takes ann out of the
		// group: the IdP's change must win.
		r.byHand(downstream.Op{Kind: downstream.OpRemoveFromStore, UserID: r.bcID("ann@example.com"), StoreHash: "abc123"})
		svc := &racingService{Service: r.svc, after: func() {
			_, err := r.svc.UpdateGroup(t.Context(), g, nil, false, func(cur bridge.GroupView) (map[string]any, bridge.MemberChange, error) {
				return cur.Attributes, bridge.MemberChange{Set: true}, nil
			})
			require.NoError(t, err)
		}}
		run, err := New(Options{Store: r.store, Service: svc, Client: r.client, Logger: r.log, Now: r.clock.Now,
			Policy: Policy{Protected: protect, MaxRemovals: 10}})
		require.NoError(t, err)
		res, err := run.RunOnce(t.Context(), false)
		require.NoError(t, err)
		require.Equal(t, []string{"ann@example.com"}, res.Plan.Pending)
		require.Zero(t, res.Queued, "no store.add queued behind the IdP's removal")
		r.drain()
		require.Empty(t, r.bc()["ann@example.com"], "ann keeps no store access")
	})
}

// racingService commits a SCIM change right after the desired state was read.
type racingService struct {
	Service
	after func()
}

func (s *racingService) Desired(ctx context.Context) ([]bridge.Desired, error) {
	d, err := s.Service.Desired(ctx)
	s.after()
	return d, err
}

// waitingOn returns an Options.After on clk that also sends each wait Run
// starts to waits, so a test knows when Run is waiting and for how long.
func waitingOn(clk *simclock.Clock, waits chan<- time.Duration) func(time.Duration) <-chan time.Time {
	return func(d time.Duration) <-chan time.Time {
		ch := clk.After(d)
		waits <- d
		return ch
	}
}

// nextWait returns the next wait Run starts.
func nextWait(t *testing.T, waits <-chan time.Duration) time.Duration {
	t.Helper()
	select {
	case d := <-waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not start waiting")
		return 0
	}
}

func TestRunRunsEveryInterval(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{rate: 1000})
	waits := make(chan time.Duration, 8)
	run, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Logger: r.log,
		Now: r.clock.Now, After: waitingOn(r.clock, waits), Interval: time.Hour, Policy: Policy{MaxRemovals: 10}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx) }()
	// The first run is due at once (no listing yet); each later one an
	// Interval of simulated time after the previous one.
	for range 2 {
		r.clock.Advance(nextWait(t, waits))
	}
	require.Eventually(t, func() bool { return run.Status().Runs >= 3 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	require.Equal(t, OutcomeSuccess, run.Status().LastOutcome)
}

func TestRunWaitsForTheIntervalAfterTheLastListing(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{})
	first, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Now: r.clock.Now, Policy: Policy{MaxRemovals: 10}})
	require.NoError(t, err)
	_, err = first.RunOnce(t.Context(), false)
	require.NoError(t, err)
	counted := r.sim.Stats().Counted

	// A restart (or a new leader) does not read the account again early.
	waits := make(chan time.Duration, 8)
	run, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Now: r.clock.Now, After: waitingOn(r.clock, waits),
		Interval: time.Hour, Policy: Policy{MaxRemovals: 10}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx) }()
	require.Eventually(t, func() bool { return !run.Status().NextRunAt.IsZero() }, 5*time.Second, time.Millisecond)
	// Run has started its wait: had it run early, the run would be counted.
	require.InDelta(t, time.Hour, nextWait(t, waits), float64(time.Minute))
	cancel()
	require.NoError(t, <-done)
	status := run.Status()
	require.Zero(t, status.Runs)
	require.Equal(t, counted, r.sim.Stats().Counted)
	require.WithinDuration(t, r.clock.Now().Add(time.Hour), status.NextRunAt, time.Minute)
	require.False(t, status.LastSuccessAt.IsZero(), "the last listing counts as the last success")

	disabled, err := New(Options{Store: r.store, Service: r.svc, Client: r.client})
	require.NoError(t, err)
	require.NoError(t, disabled.Run(t.Context()), "Interval 0 disables scheduled runs")
}

func TestNewRejectsBadOptions(t *testing.T) {
	r := newRig(t, newSQLite(t), rigOpts{})
	tests := []struct {
		name string
		o    Options
	}{
		{"no store", Options{Service: r.svc, Client: r.client}},
		{"no service", Options{Store: r.store, Client: r.client}},
		{"no client", Options{Store: r.store, Service: r.svc}},
		{"unknown policy", Options{Store: r.store, Service: r.svc, Client: r.client, Policy: Policy{Unmanaged: "delete"}}},
		{"negative cap", Options{Store: r.store, Service: r.svc, Client: r.client, Policy: Policy{MaxRemovals: -1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			require.Error(t, err)
		})
	}
}
