package known

import (
	"slices"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Origin says who observed a change of access that the access history
// records: the reconciliation run or the delivery request whose answer or
// listing showed it.
type Origin struct {
	Source, RequestID, Cause string
}

// Changes returns the changes of access that take a person from before to
// after, as access-history entries of outcome observed at the given time, in
// replay order: an account removal alone (it takes every store with it), or
// an account addition followed by store additions, or store removals and
// additions. The in-doubt markers do not matter: InAccount and Stores say
// what a listing or an answer showed.
func Changes(before, after store.BCUser, at time.Time, o Origin) []store.AccessChange {
	entry := func(kind store.IntentKind, hash string) store.AccessChange {
		return store.AccessChange{At: at, Email: after.Email, StoreHash: hash, Change: kind, Outcome: store.HistoryObserved,
			Source: o.Source, RequestID: o.RequestID, Cause: o.Cause}
	}
	if after.Email == "" {
		after.Email = before.Email
	}
	var out []store.AccessChange
	switch {
	case before.InAccount && !after.InAccount:
		return []store.AccessChange{entry(store.AccountRemove, "")}
	case !before.InAccount && after.InAccount:
		out = append(out, entry(store.AccountAdd, ""))
		before.Stores = nil
	case !after.InAccount:
		return nil
	}
	for _, h := range sortedStores(before.Stores) {
		if !slices.Contains(after.Stores, h) {
			out = append(out, entry(store.StoreRemove, h))
		}
	}
	for _, h := range sortedStores(after.Stores) {
		if !slices.Contains(before.Stores, h) {
			out = append(out, entry(store.StoreAdd, h))
		}
	}
	return out
}

func sortedStores(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}
