package reconcile

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

func TestEstimateRequests(t *testing.T) {
	tests := []struct {
		name       string
		users      int
		storeUsers []int
		pageSize   int
		want       Estimate
	}{
		{name: "empty account", users: 0, storeUsers: nil,
			want: Estimate{Requests: 2, AccountPages: 1, StorePages: 1}},
		{name: "small account", users: 3, storeUsers: []int{3, 2, 1},
			want: Estimate{Requests: 2, AccountPages: 1, StorePages: 1}},
		{name: "exactly one page", users: 50, storeUsers: []int{25},
			want: Estimate{Requests: 2, AccountPages: 1, StorePages: 1}},
		{name: "one continuation", users: 51, storeUsers: []int{26},
			want: Estimate{Requests: 4, AccountPages: 2, StorePages: 1, Continuations: 1}},
		{name: "21 stores need two store pages", users: 10, storeUsers: make([]int, 21),
			want: Estimate{Requests: 3, AccountPages: 1, StorePages: 2}},
		{name: "six stores continue together", users: 300, storeUsers: []int{75, 75, 75, 75, 75, 75},
			want: Estimate{Requests: 8, AccountPages: 6, StorePages: 1, Continuations: 1}},
		{name: "the seventh store waits for the next request", users: 350, storeUsers: []int{75, 75, 75, 75, 75, 75, 75},
			want: Estimate{Requests: 10, AccountPages: 7, StorePages: 1, Continuations: 2}},
		{name: "stores still continuing stay at the head", users: 50, storeUsers: []int{175, 26, 26, 26, 26, 26, 26},
			// Round 1: the first six (the big one needs 3); round 2: the big one and
			// the seventh; round 3: the big one.
			want: Estimate{Requests: 5, AccountPages: 1, StorePages: 1, Continuations: 3}},
		{name: "10,000 users in 5 stores", users: 10000, storeUsers: []int{2400, 2400, 2400, 2400, 2400},
			want: Estimate{Requests: 249, AccountPages: 200, StorePages: 1, Continuations: 48}},
		{name: "small page size", users: 7, storeUsers: []int{6, 2, 4}, pageSize: 2,
			// 4 account pages, 2 store pages of 2 stores with 2 users each, then
			// continuations of 2: store 1 needs 2, store 3 needs 1.
			want: Estimate{Requests: 8, AccountPages: 4, StorePages: 2, Continuations: 2}},
		{name: "pages larger than the server's are assumed clamped", users: 250, storeUsers: []int{1}, pageSize: 500,
			want: Estimate{Requests: 6, AccountPages: 5, StorePages: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EstimateRequests(tc.users, tc.storeUsers, tc.pageSize)
			want := tc.want
			want.Users, want.Stores, want.Basis = tc.users, len(tc.storeUsers), BasisSnapshot
			want.PageSize = tc.pageSize
			if want.PageSize == 0 {
				want.PageSize = 50
			}
			require.Equal(t, want, got)
		})
	}
}

// TestEstimateMatchesTheClient checks the estimate against the requests the
// real client spends on the simulator: the second run's estimate, made from
// the first run's listing, must equal what the read really costs.
func TestEstimateMatchesTheClient(t *testing.T) {
	tests := []struct {
		name     string
		users    int
		stores   int
		pageSize int
	}{
		{"default seed", 0, 0, 0},
		{"300 users in 8 stores", 300, 8, 0},
		{"120 users in 23 stores, pages of 7", 120, 23, 7},
		{"60 users in 3 stores, pages of 2", 60, 3, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed := simulator.DefaultSeed()
			if tc.users > 0 {
				seed = bigSeed(tc.users, tc.stores)
			}
			r := newRig(t, newSQLite(t), rigOpts{seed: seed, rate: 100000, pageSize: tc.pageSize})
			run, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Now: r.clock.Now, PageSize: tc.pageSize,
				Policy: Policy{MaxRemovals: 0}})
			require.NoError(t, err)
			first, err := run.RunOnce(t.Context(), false)
			require.NoError(t, err)
			require.Equal(t, BasisMinimum, first.Estimate.Basis)
			require.LessOrEqual(t, first.Estimate.Requests, first.RequestsSpent, "without a listing the estimate is a lower bound")

			counted := r.sim.Stats().Counted
			second, err := run.RunOnce(t.Context(), true)
			require.NoError(t, err)
			require.Equal(t, BasisSnapshot, second.Estimate.Basis)
			require.Equal(t, second.RequestsSpent, r.sim.Stats().Counted-counted)
			require.Equal(t, second.RequestsSpent, second.Estimate.Requests, "estimate %+v", second.Estimate)
			require.Equal(t, first.RequestsSpent, second.RequestsSpent)

			est, err := EstimateRead(t.Context(), r.store, tc.pageSize)
			require.NoError(t, err)
			require.Equal(t, second.Estimate, est)
		})
	}
}

// bigSeed returns an account of n users across stores stores (hashes in
// sorted order, as the catalog keeps them): user i reaches store i mod stores,
// and one user in five of each store also the next store (alsoNext).
func bigSeed(n, stores int) *simulator.Seed {
	seed := &simulator.Seed{Account: simulator.SeedAccount{Name: "Big Account"}}
	for s := range stores {
		seed.Stores = append(seed.Stores, simulator.SeedStore{Hash: fmt.Sprintf("store%03d", s), Name: fmt.Sprintf("Store %d", s)})
	}
	for i := range n {
		u := simulator.SeedUser{Email: fmt.Sprintf("user%05d@example.com", i), FirstName: "User", LastName: fmt.Sprint(i)}
		u.Stores = []string{seed.Stores[i%stores].Hash}
		if alsoNext(i, stores) {
			u.Stores = append(u.Stores, seed.Stores[(i+1)%stores].Hash)
		}
		seed.Users = append(seed.Users, u)
	}
	return seed
}

// alsoNext reports whether user i of bigSeed also reaches the next store: one
// in five of the users of each store, so every store has the same number.
func alsoNext(i, stores int) bool { return stores > 1 && (i/stores)%5 == 0 }
