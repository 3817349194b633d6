package reconcile

import (
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// account builds a snapshot: stores maps a store hash to the emails that can
// reach it; extra are account users without store access.
func account(stores map[string][]string, extra ...string) known.Snapshot {
	snap := known.Snapshot{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	seen := map[string]bool{}
	id := 0
	user := func(e string) downstream.User {
		id++
		return downstream.User{ID: "bc/account/user/" + strconv.Itoa(id), Email: e}
	}
	for _, h := range sortedKeys(stores) {
		su := downstream.StoreUsers{Store: downstream.Store{ID: "bc/account/store/" + h, Hash: h, Name: "Store " + h}}
		for _, e := range stores[h] {
			su.Users = append(su.Users, user(e))
			if !seen[e] {
				seen[e] = true
				snap.Users = append(snap.Users, user(e))
			}
		}
		snap.StoreUsers = append(snap.StoreUsers, su)
	}
	for _, e := range extra {
		if !seen[e] {
			seen[e] = true
			snap.Users = append(snap.Users, user(e))
		}
	}
	return snap
}

func present(id, email string, stores ...string) bridge.Desired {
	return bridge.Desired{UserID: id, ExternalID: "ext-" + id, Email: email, Present: true, Stores: stores}
}

func inactive(id, email string, stores ...string) bridge.Desired {
	return bridge.Desired{UserID: id, Email: email, Stores: stores}
}

// op renders an intent compactly: "kind email [store] [user]".
func op(in store.Intent) string {
	s := string(in.Kind) + " " + in.Email
	if in.StoreHash != "" {
		s += " " + in.StoreHash
	}
	if in.UserID != "" {
		s += " " + in.UserID
	}
	return s
}

func item(it Item) string {
	s := string(it.Class) + " " + it.Email
	if it.Store != "" {
		s += " " + it.Store
	}
	return s + " -> " + it.Action
}

func TestPlan(t *testing.T) {
	report := Policy{Unmanaged: UnmanagedReport, MaxRemovals: 10}
	remove := Policy{Unmanaged: UnmanagedRemove, MaxRemovals: 10}
	tests := []struct {
		name     string
		desired  []bridge.Desired
		outbox   Outbox
		actual   known.Snapshot
		policy   Policy
		items    []string
		ops      []string
		removals int
		pending  []string
		aborted  bool
	}{
		{
			name:    "in sync",
			desired: []bridge.Desired{present("u1", "ann@example.com", "s1"), present("u2", "bob@example.com")},
			actual:  account(map[string][]string{"s1": {"ann@example.com"}, "s2": nil}, "bob@example.com"),
			policy:  report,
		},
		{
			name:    "missing from the account, with its stores",
			desired: []bridge.Desired{present("u1", "ann@example.com", "s1", "s2")},
			actual:  account(map[string][]string{"s1": nil, "s2": nil}),
			policy:  report,
			items: []string{
				"missing_from_account ann@example.com -> account.add",
				"missing_from_store ann@example.com s1 -> store.add",
				"missing_from_store ann@example.com s2 -> store.add",
			},
			ops: []string{"account.add ann@example.com u1", "store.add ann@example.com s1 u1", "store.add ann@example.com s2 u1"},
		},
		{
			name:    "missing from a store",
			desired: []bridge.Desired{present("u1", "ann@example.com", "s1", "s2")},
			actual:  account(map[string][]string{"s1": {"ann@example.com"}, "s2": nil}),
			policy:  report,
			items:   []string{"missing_from_store ann@example.com s2 -> store.add"},
			ops:     []string{"store.add ann@example.com s2 u1"},
		},
		{
			name:     "excess store access",
			desired:  []bridge.Desired{present("u1", "ann@example.com", "s1")},
			actual:   account(map[string][]string{"s1": {"ann@example.com"}, "s2": {"ann@example.com"}}),
			policy:   report,
			items:    []string{"excess_store_access ann@example.com s2 -> store.remove"},
			ops:      []string{"store.remove ann@example.com s2 u1"},
			removals: 1,
		},
		{
			name:    "a store the snapshot does not list is not compared",
			desired: []bridge.Desired{present("u1", "ann@example.com", "gone", "s1")},
			actual:  account(map[string][]string{"s1": {"ann@example.com"}}),
			policy:  report,
		},
		{
			name:     "deactivated but present",
			desired:  []bridge.Desired{inactive("u1", "ann@example.com", "s1")},
			actual:   account(map[string][]string{"s1": {"ann@example.com"}}),
			policy:   report,
			items:    []string{"deactivated_present ann@example.com -> account.remove"},
			ops:      []string{"account.remove ann@example.com u1"},
			removals: 1,
		},
		{
			name:    "deactivated and absent is in sync",
			desired: []bridge.Desired{inactive("u1", "ann@example.com", "s1")},
			actual:  account(map[string][]string{"s1": nil}),
			policy:  report,
		},
		{
			name: "a present user wins over a deactivated one with the same email",
			desired: []bridge.Desired{
				inactive("u0", "ann@example.com"), present("u1", "ann@example.com", "s1"),
			},
			actual: account(map[string][]string{"s1": {"ann@example.com"}}),
			policy: report,
		},
		{
			name:     "deleted but present",
			outbox:   Outbox{Deleted: []string{"Gone@Example.com"}},
			actual:   account(nil, "gone@example.com"),
			policy:   report,
			items:    []string{"deleted_present gone@example.com -> account.remove"},
			ops:      []string{"account.remove gone@example.com"},
			removals: 1,
		},
		{
			name:    "deleted and re-created is managed again",
			desired: []bridge.Desired{present("u9", "gone@example.com")},
			outbox:  Outbox{Deleted: []string{"gone@example.com"}},
			actual:  account(nil, "gone@example.com"),
			policy:  report,
		},
		{
			name:   "unmanaged is reported under report",
			actual: account(map[string][]string{"s1": {"stranger@example.com"}}),
			policy: report,
			items:  []string{"unmanaged stranger@example.com -> none"},
		},
		{
			name:     "unmanaged is removed under remove",
			actual:   account(map[string][]string{"s1": {"stranger@example.com"}}),
			policy:   remove,
			items:    []string{"unmanaged stranger@example.com -> account.remove"},
			ops:      []string{"account.remove stranger@example.com"},
			removals: 1,
		},
		{
			name: "protected emails are reported and never touched",
			desired: []bridge.Desired{
				inactive("u1", "owner@example.com"), present("u2", "admin@example.com", "s1"),
			},
			outbox: Outbox{Deleted: []string{"breakglass@example.com"}},
			actual: account(map[string][]string{"s1": {"owner@example.com", "breakglass@example.com"}, "s2": {"admin@example.com"}},
				"root@example.com"),
			policy: Policy{
				Unmanaged: UnmanagedRemove, MaxRemovals: 10,
				Protected: []string{" Owner@Example.com", "BREAKGLASS@example.com", "admin@example.com", "root@example.com"},
			},
			items: []string{
				"protected admin@example.com -> none",
				"protected breakglass@example.com -> none",
				"protected owner@example.com -> none",
				"protected root@example.com -> none",
			},
		},
		{
			name: "emails with pending intents are skipped, not drift",
			desired: []bridge.Desired{
				present("u1", "ann@example.com", "s1"), inactive("u2", "bob@example.com"),
				present("u3", "cid@example.com", "s1"),
			},
			outbox: Outbox{Pending: []string{"ann@example.com", "bob@example.com", "ghost@example.com", "STRANGER@example.com"}},
			actual: account(map[string][]string{"s1": {"bob@example.com", "stranger@example.com"}}),
			policy: remove,
			items: []string{
				"missing_from_account cid@example.com -> account.add",
				"missing_from_store cid@example.com s1 -> store.add",
			},
			ops:     []string{"account.add cid@example.com u3", "store.add cid@example.com s1 u3"},
			pending: []string{"ann@example.com", "bob@example.com", "stranger@example.com"},
		},
		{
			name: "removals within the cap are applied",
			desired: []bridge.Desired{
				inactive("u1", "a@example.com"), inactive("u2", "b@example.com"),
			},
			actual:   account(nil, "a@example.com", "b@example.com"),
			policy:   Policy{MaxRemovals: 2},
			items:    []string{"deactivated_present a@example.com -> account.remove", "deactivated_present b@example.com -> account.remove"},
			ops:      []string{"account.remove a@example.com u1", "account.remove b@example.com u2"},
			removals: 2,
		},
		{
			name: "the cap aborts the whole plan, additions included",
			desired: []bridge.Desired{
				inactive("u1", "a@example.com"), inactive("u2", "b@example.com"), present("u3", "c@example.com", "s1"),
				present("u4", "d@example.com"),
			},
			actual: account(map[string][]string{"s1": {"d@example.com"}}, "a@example.com", "b@example.com"),
			policy: Policy{MaxRemovals: 2},
			items: []string{
				"deactivated_present a@example.com -> account.remove",
				"deactivated_present b@example.com -> account.remove",
				"missing_from_account c@example.com -> account.add",
				"missing_from_store c@example.com s1 -> store.add",
				"excess_store_access d@example.com s1 -> store.remove",
			},
			removals: 3,
			aborted:  true,
		},
		{
			name:     "a cap of zero allows no removal",
			actual:   account(nil, "stranger@example.com"),
			policy:   Policy{Unmanaged: UnmanagedRemove},
			items:    []string{"unmanaged stranger@example.com -> account.remove"},
			removals: 1,
			aborted:  true,
		},
		{
			name:    "users without an email are not compared",
			desired: []bridge.Desired{{UserID: "u1", Present: false}, {UserID: "u2"}},
			actual:  account(nil),
			policy:  report,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan(tc.desired, tc.outbox, tc.actual, tc.policy)
			var items, ops []string
			for _, it := range p.Items {
				items = append(items, item(it))
			}
			for _, in := range p.Intents {
				ops = append(ops, op(in))
				require.Equal(t, store.SourceReconcile, in.Source)
				require.Equal(t, store.IntentPending, in.State)
			}
			require.Equal(t, tc.items, items)
			require.Equal(t, tc.ops, ops)
			require.Equal(t, tc.removals, p.Removals)
			require.Equal(t, tc.pending, p.Pending)
			require.Equal(t, tc.aborted, p.Aborted)
			if tc.aborted {
				require.Empty(t, p.Intents, "an aborted plan applies nothing")
				require.Contains(t, p.Reason, "cap")
				require.NotContains(t, p.Reason, "@", "the reason carries no email")
			} else {
				require.Empty(t, p.Reason)
			}
			// Counts agree with the items and cover every class.
			require.Len(t, p.Counts, len(Classes()))
			total := 0
			for _, c := range Classes() {
				n := 0
				for _, it := range p.Items {
					if it.Class == c {
						n++
					}
				}
				require.Equal(t, n, p.Counts[c], "count of %s", c)
				total += n
			}
			require.Equal(t, len(p.Items), total)
		})
	}
}

func TestPlanUserIDsOfManagedItems(t *testing.T) {
	p := Plan([]bridge.Desired{present("u1", "ann@example.com", "s1"), inactive("u2", "bob@example.com")}, Outbox{},
		account(map[string][]string{"s1": nil, "s2": {"ann@example.com", "bob@example.com"}}, "stranger@example.com"),
		Policy{MaxRemovals: 10})
	byEmail := map[string][]string{}
	for _, it := range p.Items {
		byEmail[it.Email] = append(byEmail[it.Email], it.UserID)
	}
	require.Equal(t, []string{"u1", "u1"}, byEmail["ann@example.com"])
	require.Equal(t, []string{"u2"}, byEmail["bob@example.com"])
	require.Equal(t, []string{""}, byEmail["stranger@example.com"], "unmanaged users have no SCIM id")
}

func TestPlanDriftAndUnrepaired(t *testing.T) {
	snap := account(map[string][]string{"s1": {"owner@example.com", "stranger@example.com"}})
	p := Plan([]bridge.Desired{present("u1", "ann@example.com")}, Outbox{}, snap,
		Policy{Protected: []string{"owner@example.com"}, MaxRemovals: 5})
	require.Equal(t, 2, p.Drift(), "missing ann and the unmanaged stranger; the protected owner is not drift")
	require.Equal(t, 1, p.Unrepaired(), "the stranger stays under the report policy")

	p = Plan(nil, Outbox{}, account(nil, "owner@example.com"), Policy{Protected: []string{"owner@example.com"}})
	require.Zero(t, p.Drift())
	require.Zero(t, p.Unrepaired())

	p = Plan([]bridge.Desired{inactive("u1", "a@example.com")}, Outbox{}, account(nil, "a@example.com"), Policy{})
	require.True(t, p.Aborted)
	require.Equal(t, 1, p.Unrepaired(), "an aborted plan leaves everything unrepaired")
}

func TestPlanIsCaseInsensitive(t *testing.T) {
	snap := account(map[string][]string{"s1": {"Ann@Example.COM"}})
	p := Plan([]bridge.Desired{present("u1", "ann@example.com", "s1")}, Outbox{}, snap, Policy{})
	require.Empty(t, p.Items)
	require.False(t, strings.Contains(p.Reason, "@"))
}
