package bridge

import (
	"sort"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Access is what a SCIM user should have in BigCommerce.
type Access struct {
	// Present is true when the user should be in the account: it is active and
	// has a BigCommerce email.
	Present bool
	// Email is the BigCommerce identity ("" when none).
	Email string
	// Stores are the hashes of the stores its groups grant.
	Stores map[string]bool
}

// Diff returns the intents that take BigCommerce from before to after for one
// SCIM user, in the order they must be applied: account removals, then store
// removals, then account additions, then store additions. Store changes of a user
// who is not present are not sent: leaving the account takes store access with
// it, and joining it later adds the stores then.
func Diff(userID string, before, after Access) []store.Intent {
	var out []store.Intent
	add := func(kind store.IntentKind, email, hash string) {
		out = append(out, store.Intent{Kind: kind, Email: email, StoreHash: hash, UserID: userID})
	}
	switch {
	case !before.Present && !after.Present:
	case before.Present && !after.Present:
		add(store.AccountRemove, before.Email, "")
	case !before.Present && after.Present, before.Email != after.Email:
		if before.Present {
			add(store.AccountRemove, before.Email, "")
		}
		add(store.AccountAdd, after.Email, "")
		for _, h := range sortedKeys(after.Stores) {
			add(store.StoreAdd, after.Email, h)
		}
	default:
		for _, h := range sortedKeys(before.Stores) {
			if !after.Stores[h] {
				add(store.StoreRemove, after.Email, h)
			}
		}
		for _, h := range sortedKeys(after.Stores) {
			if !before.Stores[h] {
				add(store.StoreAdd, after.Email, h)
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// stamp fills the bookkeeping fields of freshly computed intents.
func stamp(intents []store.Intent, source, requestID string, now time.Time) {
	for i := range intents {
		intents[i].Source = source
		intents[i].RequestID = requestID
		intents[i].CreatedAt = now
		intents[i].State = store.IntentPending
	}
}
