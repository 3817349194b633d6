package reconcile

import (
	"context"
	"errors"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/known"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// The listing shapes of package downstream (bridge/downstream/read.go), which
// the estimate mirrors: ListStoreUsers pages stores storeUsersStores at a time
// with storeUsersNested users nested in each, then continues the stores that
// have more users continuationStores at a time, maxContinuationPage users
// each. TestEstimateMatchesTheClient checks the estimate against the requests
// the client really spends, so a change there cannot go unnoticed.
const (
	storeUsersStores    = 20
	storeUsersNested    = 25
	continuationStores  = 6
	maxContinuationPage = downstream.DocumentedPageSize
	// assumedMaxPageSize is the largest page the estimate assumes the server
	// returns: BigCommerce documents pages of at most 50.
	// Assuming the smaller errs on the high side when the real server allows more.
	assumedMaxPageSize = downstream.DocumentedPageSize
)

// Estimate basis values.
const (
	// BasisSnapshot means the estimate was computed from the last complete
	// listing the store keeps (the known state and the store catalog). Users
	// added since make it low, users removed since make it high.
	BasisSnapshot = "snapshot"
	// BasisMinimum means no listing was ever saved, so the size of the account is
	// unknown; the estimate is the least a read can cost (one page of account
	// users and the pages of the stores in the catalog, at least one).
	BasisMinimum = "minimum"
)

// Estimate is the number of downstream requests a complete read of the account
// is expected to spend, and what it is based on.
type Estimate struct {
	// Requests is the total: AccountPages + StorePages + Continuations.
	Requests int `json:"requests"`
	// AccountPages are the pages of the account's users.
	AccountPages int `json:"accountPages"`
	// StorePages are the pages of stores, each with its first users nested.
	StorePages int `json:"storePages"`
	// Continuations are the requests that continue stores with more users.
	Continuations int `json:"continuations"`
	// Users and Stores are the account's size the estimate assumed.
	Users  int `json:"users"`
	Stores int `json:"stores"`
	// PageSize is the page size the estimate assumed.
	PageSize int `json:"pageSize"`
	// Basis is BasisSnapshot or BasisMinimum.
	Basis string `json:"basis"`
}

// EstimateRequests returns the requests the downstream client spends listing an
// account of users users and of stores whose user counts are storeUsers (one
// entry per store, zeros included), with the client's page size pageSize
// (0 means downstream.DefaultPageSize). It simulates the client's paging
// exactly, assuming the server returns full pages of up to 50.
func EstimateRequests(users int, storeUsers []int, pageSize int) Estimate {
	if pageSize <= 0 {
		pageSize = downstream.DefaultPageSize
	}
	page := min(pageSize, assumedMaxPageSize)
	e := Estimate{Users: users, Stores: len(storeUsers), PageSize: pageSize, Basis: BasisSnapshot}
	e.AccountPages = max(1, ceilDiv(users, page))

	perPage := min(pageSize, storeUsersStores, assumedMaxPageSize)
	e.StorePages = max(1, ceilDiv(len(storeUsers), perPage))

	nested := min(pageSize, storeUsersNested, assumedMaxPageSize)
	cont := min(pageSize, maxContinuationPage, assumedMaxPageSize)
	// The client keeps a queue of stores with more users, takes up to
	// continuationStores from its head per request, and puts those that still
	// have more back at the head.
	var queue []int
	for _, n := range storeUsers {
		if n > nested {
			queue = append(queue, ceilDiv(n-nested, cont))
		}
	}
	for len(queue) > 0 {
		group := queue[:min(len(queue), continuationStores)]
		e.Continuations++
		var still []int
		for _, left := range group {
			if left > 1 {
				still = append(still, left-1)
			}
		}
		queue = append(still, queue[len(group):]...)
	}
	e.Requests = e.AccountPages + e.StorePages + e.Continuations
	return e
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// EstimateRead estimates the cost of reading the account from what the store
// remembers of the last complete listing: the known-state records (users and
// the stores each reaches) and the store catalog. It spends no request. Without
// a saved listing the estimate is a lower bound (BasisMinimum). pageSize is the
// downstream client's page size (0 means downstream.DefaultPageSize).
func EstimateRead(ctx context.Context, st store.Store, pageSize int) (Estimate, error) {
	var e Estimate
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		e, err = estimateIn(ctx, tx, pageSize)
		return err
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate read cost: %w", err)
	}
	return e, nil
}

func estimateIn(ctx context.Context, tx store.Tx, pageSize int) (Estimate, error) {
	cat, err := bridge.LoadCatalog(ctx, tx)
	if err != nil {
		return Estimate{}, err
	}
	_, err = tx.GetState(ctx, known.SnapshotKey)
	if errors.Is(err, store.ErrNotFound) {
		e := EstimateRequests(0, make([]int, max(1, len(cat))), pageSize)
		e.Users, e.Stores, e.Basis = 0, len(cat), BasisMinimum
		return e, nil
	}
	if err != nil {
		return Estimate{}, fmt.Errorf("read snapshot: %w", err)
	}
	known, err := tx.ListBCUsers(ctx)
	if err != nil {
		return Estimate{}, fmt.Errorf("read known users: %w", err)
	}
	perStore := map[string]int{}
	order := make([]string, 0, len(cat))
	for _, s := range cat {
		if _, ok := perStore[s.Hash]; !ok {
			perStore[s.Hash] = 0
			order = append(order, s.Hash)
		}
	}
	users := 0
	for _, k := range known {
		if !k.InAccount {
			continue
		}
		users++
		for _, h := range k.Stores {
			if _, ok := perStore[h]; !ok {
				order = append(order, h)
			}
			perStore[h]++
		}
	}
	counts := make([]int, len(order))
	for i, h := range order {
		counts[i] = perStore[h]
	}
	return EstimateRequests(users, counts, pageSize), nil
}
