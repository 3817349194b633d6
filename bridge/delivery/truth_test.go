package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// Tests of the rules that keep delivery truthful: settle only on evidence,
// work on the documented minimum, spend the budget when it is free.

// TestStoreRemovalLooksUpTheID: on the documented API addUserToAccount does
// not return the new user's id, which removeUserFromStore needs. The engine
// lists the store's users to find it, then removes the access; nothing is
// settled without a request.
func TestStoreRemovalLooksUpTheID(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), rigOpts{profile: simulator.ProfileDocumented})
			r.snapshot()
			require.False(t, r.client.Capabilities().AddReturnsUser)
			ann := r.user("ann@example.com", true)
			g := r.group("Plant Market", ann)
			r.drain(time.Hour)
			require.Contains(t, r.bc()["ann@example.com"].Stores, "abc123")

			settledBefore := counterValue(t, r, "settled")
			r.setMembers(g)
			r.drain(time.Hour)
			require.NotContains(t, r.bc()["ann@example.com"].Stores, "abc123", "the user lost the store in BigCommerce")
			require.Contains(t, r.bc(), "ann@example.com", "and kept the account")
			require.Equal(t, settledBefore, counterValue(t, r, "settled"), "no intent was settled without a request")
			require.Equal(t, 1, r.sim.Stats().Operations["removeUserFromStore"])
			require.Equal(t, store.SyncSynced, r.syncState(ann).State)
			require.Equal(t, 1, r.eng.Status().Lookups)
		})
	}
}

// TestLookupAbsenceIsEvidenceOnlyFromACompleteListing: a user that left the
// store behind the bridge's back is found absent from the store's complete
// listing; the removal then settles on that evidence, with no mutation sent.
func TestLookupAbsenceIsEvidenceOnlyFromACompleteListing(t *testing.T) {
	r := sqliteRig(t, rigOpts{profile: simulator.ProfileDocumented})
	r.snapshot()
	ann := r.user("ann@example.com", true)
	g := r.group("Plant Market", ann)
	r.drain(time.Hour)
	// Someone removes the access in the control panel.
	free := freeClient(t, r)
	u := r.bc()["ann@example.com"]
	b, err := free.Apply(t.Context(), downstream.PriorityRead, []downstream.Op{{Kind: downstream.OpRemoveFromStore, StoreHash: "abc123", UserID: u.ID}})
	require.NoError(t, err)
	require.Equal(t, downstream.Applied, b.Results[0].Outcome)

	r.setMembers(g)
	r.drain(time.Hour)
	require.Equal(t, 1, r.sim.Stats().Operations["removeUserFromStore"], "only the control panel's removal")
	require.Equal(t, store.SyncSynced, r.syncState(ann).State)
}

// TestDocumentedProfileDeliversWithoutDeadLetters: the documented API refuses
// documents of several mutations with a message that names no reason; the
// engine splits them, learns to send one mutation per request, and no
// operation is dead-lettered.
func TestDocumentedProfileDeliversWithoutDeadLetters(t *testing.T) {
	r := sqliteRig(t, rigOpts{profile: simulator.ProfileDocumented, rate: 1000, window: time.Hour, maxBatch: 8})
	r.snapshot()
	var ids []string
	for i := range 8 {
		ids = append(ids, r.user(emailN("doc", i), true))
	}
	r.group("Plant Market", ids...)
	r.drain(3 * time.Hour)
	for i := range 8 {
		require.Contains(t, r.bc()[emailN("doc", i)].Stores, "abc123")
	}
	require.Equal(t, "single", r.eng.Status().BatchMode)
	require.Zero(t, deadCount(t, r))
	for _, id := range ids {
		require.Equal(t, store.SyncSynced, r.syncState(id).State)
	}
}

// TestLostResponseLeavesTheTargetInDoubt: BigCommerce applies an addition
// but its answer never arrives (the client times out while the simulator
// holds it). Deactivating the user next must remove it, although the known
// state never recorded the addition.
func TestLostResponseLeavesTheTargetInDoubt(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), rigOpts{timeout: 200 * time.Millisecond})
			r.snapshot()
			r.sim.SetHoldResponse(time.Second)
			id := r.user("lost@example.com", true)
			_, err := r.eng.Step(t.Context()) // catalog
			require.NoError(t, err)
			_, err = r.eng.Step(t.Context()) // the addition: applied, answer lost
			require.NoError(t, err)
			require.Contains(t, r.bc(), "lost@example.com", "BigCommerce applied it")
			require.True(t, r.known("lost@example.com").AccountInDoubt, "the unanswered addition left the account in doubt")
			r.sim.SetHoldResponse(0)

			r.setActive(id, false)
			r.drain(time.Hour)
			require.NotContains(t, r.bc(), "lost@example.com", "the leaver lost access")
			require.Equal(t, store.SyncSynced, r.syncState(id).State)
			require.False(t, r.known("lost@example.com").AccountInDoubt, "BigCommerce's answer settled the doubt")
		})
	}
}

// TestCanceledRequestFinishesWithinTheGrace: a request in flight when the
// engine's context ends is answered and recorded (not abandoned as "not
// sent").
func TestCanceledRequestFinishesWithinTheGrace(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	_, err := r.eng.Step(t.Context()) // catalog
	require.NoError(t, err)
	id := r.user("graceful@example.com", true)
	r.sim.SetHoldResponse(300 * time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = r.eng.Step(ctx)
	require.NoError(t, err)
	require.Zero(t, r.pending(), "the answer arrived after the cancel and was recorded")
	require.Equal(t, store.SyncSynced, r.syncState(id).State)
}

// TestCollapsedDeactivationRemovesStoresNoLongerDesired: deactivated, removed
// from its store group while inactive, reactivated, all before delivery: the
// user must not keep the old store.
func TestCollapsedDeactivationRemovesStoresNoLongerDesired(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), rigOpts{})
			r.snapshot()
			ann := r.user("ann@example.com", true)
			g := r.group("Plant Market", ann)
			r.drain(time.Hour)
			require.Contains(t, r.bc()["ann@example.com"].Stores, "abc123")

			r.setActive(ann, false)
			r.setMembers(g)
			r.setActive(ann, true)
			r.drain(time.Hour)
			require.Contains(t, r.bc(), "ann@example.com", "reactivated: still in the account")
			require.NotContains(t, r.bc()["ann@example.com"].Stores, "abc123", "the old store is gone")
			require.Zero(t, r.sim.Stats().Operations["removeUserFromAccount"], "no needless removal and re-invitation")
			require.Equal(t, store.SyncSynced, r.syncState(ann).State)
		})
	}
}

// TestStaleLeaderCannotRecord: an engine whose lease passed to another
// replica cannot write results any more.
func TestStaleLeaderCannotRecord(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			r := newRig(t, st, rigOpts{})
			r.snapshot()
			_, err := r.eng.Step(t.Context()) // catalog, before any lease
			require.NoError(t, err)
			old, ok, err := st.TryLease(t.Context(), "delivery", "replica-a", time.Hour)
			require.NoError(t, err)
			require.True(t, ok)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			r.eng.lease.Store(&old)
			// Replica b takes the lease over (a's lease expired during a pause).
			require.NoError(t, st.ReleaseLease(t.Context(), "delivery", "replica-a"))
			_, ok, err = st.TryLease(t.Context(), "delivery", "replica-b", time.Hour)
			require.NoError(t, err)
			require.True(t, ok)

			r.user("fenced@example.com", true)
			go func() { _, err := r.eng.Step(ctx); done <- err }()
			err = <-done
			require.ErrorIs(t, err, store.ErrLeaseLost)
			require.Equal(t, 1, r.pending(), "nothing recorded under the lost lease")
		})
	}
}

// TestBudgetFollowsTheServerQuota: configured for 70 per hour against a
// server that gives 5, the reserve is sized from the 5 (joiners are not
// starved) and the difference is logged.
func TestBudgetFollowsTheServerQuota(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	r := sqliteRig(t, rigOpts{rate: 70, window: time.Hour, serverRate: 5, logger: zap.New(core)})
	r.snapshot()
	for i := range 3 {
		r.user(emailN("quota", i), true)
	}
	r.drain(3 * time.Hour)
	for i := range 3 {
		require.Contains(t, r.bc(), emailN("quota", i))
	}
	q := r.budget.Quota()
	require.Equal(t, 5, q.ServerRequests)
	require.True(t, q.Differs)
	require.InDelta(t, 5, q.Effective, 0.01)
	require.InDelta(t, 0.75, r.budget.Reserve(), 0.01, "15% of the server's 5, not of the configured 70")
	require.NotEmpty(t, logs.FilterMessage("BigCommerce states a different request quota than configured").All())
	require.Zero(t, r.sim.Stats().RateLimited)
}

// TestLoneJoinerGoesAtOnce: with the budget idle, an addition does not wait
// for the addition linger; a burst still batches.
func TestLoneJoinerGoesAtOnce(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	_, err := r.eng.Step(t.Context()) // catalog
	require.NoError(t, err)
	start := r.clock.Now()
	ann := r.user("ann@example.com", true)
	r.group("Plant Market", ann)
	r.drain(time.Hour)
	require.Equal(t, start, r.clock.Now(), "no simulated time passed")
	require.Contains(t, r.bc()["ann@example.com"].Stores, "abc123")

	// A burst right after: once two requests went within the linger, the
	// rest wait for a fuller batch.
	before := r.sim.Stats().Counted
	for i := range 20 {
		id := r.user(emailN("burst", i), true)
		_, err := r.eng.Step(t.Context())
		require.NoError(t, err)
		_ = id
	}
	r.drain(time.Hour)
	require.LessOrEqual(t, r.sim.Stats().Counted-before, 2, "twenty joiners in at most two requests")
}

// TestHeaderless429PausesTheBudget: a 429 without rate-limit headers (high
// load) pauses the budget too, with a growing backoff.
func TestHeaderless429PausesTheBudget(t *testing.T) {
	r := sqliteRig(t, rigOpts{})
	r.snapshot()
	_, err := r.eng.Step(t.Context()) // catalog
	require.NoError(t, err)
	r.sim.OverloadNext(1)
	r.user("busy@example.com", true)
	_, err = r.eng.Step(t.Context())
	require.NoError(t, err)
	bk := r.budget.Last()
	require.True(t, bk.PausedUntil.After(r.clock.Now()), "paused")
	require.Equal(t, 1, bk.Throttles)
	r.drain(time.Hour)
	require.Contains(t, r.bc(), "busy@example.com")
	require.Zero(t, r.budget.Last().Throttles, "a normal answer resets the backoff")
}

func (r *rig) known(email string) store.BCUser {
	r.t.Helper()
	var k store.BCUser
	require.NoError(r.t, r.store.View(r.t.Context(), func(tx store.Tx) error {
		m, err := tx.GetBCUsers(r.t.Context(), []string{email})
		k = m[email]
		return err
	}))
	return k
}

func freeClient(t *testing.T, r *rig) *downstream.Client {
	t.Helper()
	c, err := downstream.New(downstream.Options{BaseURL: r.base, AccountUUID: r.sim.AccountUUID(), Token: simulator.DefaultToken})
	require.NoError(t, err)
	return c
}

func deadCount(t *testing.T, r *rig) int {
	t.Helper()
	var n int
	require.NoError(t, r.store.View(t.Context(), func(tx store.Tx) error {
		dead, err := tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentDead}})
		n = len(dead)
		return err
	}))
	return n
}

// counterValue reads one of the engine's counters.
func counterValue(t *testing.T, r *rig, name string) float64 {
	t.Helper()
	switch name {
	case "settled":
		return testutilValue(r.eng.metrics.settled)
	}
	t.Fatalf("unknown counter %s", name)
	return 0
}

func testutilValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
