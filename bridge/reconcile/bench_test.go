package reconcile

import (
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Benchmark account: 10,000 BigCommerce users across 5 stores (bigSeed). User i
// reaches store i mod 5 and one in five of each store's users also the next
// store, so each store has 2,400 users (12,000 store memberships). The IdP manages the first 9,900
// users, with one group per store; 50 of them are deactivated (drift:
// deactivated_present) and 100 are unknown to it (drift: unmanaged).
const (
	benchUsers    = 10_000
	benchStores   = 5
	benchManaged  = 9_900
	benchInactive = 50
)

// fillSCIM stores the IdP's side of the benchmark account directly (one
// transaction, no intents): the store catalog, the managed users and one group
// per store.
func fillSCIM(tb testing.TB, st store.Store) {
	tb.Helper()
	ctx := tb.Context()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(tb, st.Update(ctx, func(tx store.Tx) error {
		cat := make([]bridge.CatalogStore, benchStores)
		for s := range cat {
			cat[s] = bridge.CatalogStore{Hash: fmt.Sprintf("store%03d", s), Name: fmt.Sprintf("Store %d", s)}
		}
		if err := bridge.SaveCatalog(ctx, tx, cat); err != nil {
			return err
		}
		members := make([][]string, benchStores)
		for i := range benchManaged {
			email := fmt.Sprintf("user%05d@example.com", i)
			u := store.User{
				ID: fmt.Sprintf("scim-%05d", i), UserName: email, ExternalID: fmt.Sprintf("00u%05d", i),
				Active: i >= benchInactive, BCEmail: email, Emails: []store.Email{{Value: email, Type: "work", Primary: true}},
				Attributes: map[string]any{"userName": email}, Version: 1, Created: t0, Modified: t0,
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			members[i%benchStores] = append(members[i%benchStores], u.ID)
			if alsoNext(i, benchStores) {
				members[(i+1)%benchStores] = append(members[(i+1)%benchStores], u.ID)
			}
		}
		for s := range benchStores {
			g := store.Group{ID: fmt.Sprintf("group-%d", s), DisplayName: fmt.Sprintf("Store %d", s), Version: 1, Created: t0, Modified: t0}
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
			if err := tx.AddMembers(ctx, g.ID, members[s]); err != nil {
				return err
			}
		}
		return nil
	}))
}

// BenchmarkFullRun measures a complete reconciliation run of the benchmark
// account against the simulator: the downstream requests it spends (reported
// as requests/run, with the estimate made beforehand as estimate/run) and its
// wall time, which includes the in-process simulator answering every page.
func BenchmarkFullRun(b *testing.B) {
	r := newRig(b, newSQLite(b), rigOpts{seed: bigSeed(benchUsers, benchStores), rate: 1_000_000})
	fillSCIM(b, r.store)
	run, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Now: r.clock.Now,
		Policy: Policy{Unmanaged: UnmanagedReport, MaxRemovals: benchUsers}})
	require.NoError(b, err)
	// A first run saves the listing (so later runs estimate from it) and queues
	// the repairs; their emails are pending in the runs measured.
	first, err := run.RunOnce(b.Context(), false)
	require.NoError(b, err)
	require.Equal(b, benchInactive, first.Plan.Counts[ClassDeactivatedPresent])
	require.Equal(b, benchUsers-benchManaged, first.Plan.Counts[ClassUnmanaged])
	require.Equal(b, benchInactive, first.Queued, "the IdP's side matches BigCommerce but for the drift")

	var res Result
	for b.Loop() {
		counted := r.sim.Stats().Counted
		res, err = run.RunOnce(b.Context(), false)
		if err != nil {
			b.Fatal(err)
		}
		if got := r.sim.Stats().Counted - counted; got != res.RequestsSpent {
			b.Fatalf("simulator counted %d requests, run reported %d", got, res.RequestsSpent)
		}
	}
	b.ReportMetric(float64(res.RequestsSpent), "requests/run")
	b.ReportMetric(float64(res.Estimate.Requests), "estimate/run")
	b.Logf("page size %d; estimate %+v; spent %d; drift %v; pending %d",
		res.Estimate.PageSize, res.Estimate, res.RequestsSpent, res.Plan.Counts, len(res.Plan.Pending))
}

// BenchmarkPlan measures the CPU time of planning the benchmark account (pure:
// no store, no network), with the drift described above plus 100 managed users
// missing a store.
func BenchmarkPlan(b *testing.B) {
	desired := make([]bridge.Desired, 0, benchManaged)
	for i := range benchManaged {
		d := bridge.Desired{UserID: fmt.Sprintf("scim-%05d", i), Email: fmt.Sprintf("user%05d@example.com", i), Present: i >= benchInactive}
		d.Stores = []string{fmt.Sprintf("store%03d", i%benchStores)}
		if alsoNext(i, benchStores) {
			d.Stores = append(d.Stores, fmt.Sprintf("store%03d", (i+1)%benchStores))
		}
		if i%99 == 1 {
			d.Stores = append(d.Stores, fmt.Sprintf("store%03d", (i+2)%benchStores)) // missing_from_store
		}
		desired = append(desired, d)
	}
	snap := known.Snapshot{At: time.Now()}
	stores := make([]downstream.StoreUsers, benchStores)
	for s := range stores {
		h := fmt.Sprintf("store%03d", s)
		stores[s].Store = downstream.Store{ID: "bc/account/store/" + h, Hash: h, Name: fmt.Sprintf("Store %d", s)}
	}
	for i := range benchUsers {
		u := downstream.User{ID: fmt.Sprintf("bc/account/user/%d", i+1), Email: fmt.Sprintf("user%05d@example.com", i), Status: "ACTIVE"}
		snap.Users = append(snap.Users, u)
		stores[i%benchStores].Users = append(stores[i%benchStores].Users, u)
		if alsoNext(i, benchStores) {
			stores[(i+1)%benchStores].Users = append(stores[(i+1)%benchStores].Users, u)
		}
	}
	snap.StoreUsers = stores
	policy := Policy{Unmanaged: UnmanagedReport, Protected: []string{"user09999@example.com"}, MaxRemovals: benchUsers}

	var p PlanResult
	for b.Loop() {
		p = Plan(desired, Outbox{}, snap, policy)
	}
	b.ReportMetric(float64(len(p.Items)), "items")
	if p.Counts[ClassDeactivatedPresent] != benchInactive || p.Counts[ClassUnmanaged] != benchUsers-benchManaged-1 {
		b.Fatalf("unexpected plan counts %v", p.Counts)
	}
}
