package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// knownMap is a Known backed by a map; snapshot says whether emails missing
// from it are known to be absent.
type knownMap struct {
	users    map[string]store.BCUser
	snapshot bool
}

func (k knownMap) Lookup(email string) (store.BCUser, bool) {
	if u, ok := k.users[email]; ok {
		return u, true
	}
	return store.BCUser{Email: email}, k.snapshot
}

func intent(seq int64, kind store.IntentKind, email, hash string) store.Intent {
	return store.Intent{Seq: seq, Kind: kind, Email: email, StoreHash: hash, UserID: "u-" + email, Source: store.SourceSCIM,
		State: store.IntentPending, CreatedAt: t0.Add(time.Duration(seq) * time.Second)}
}

func TestMakePlan(t *testing.T) {
	empty := knownMap{snapshot: true}
	unknown := knownMap{}
	inAccount := knownMap{snapshot: true, users: map[string]store.BCUser{
		"a@x.io": {Email: "a@x.io", UserID: "bc/account/user/7", InAccount: true, Stores: []string{"s1"}},
	}}
	type settled struct {
		seq   int64
		state store.IntentState
	}
	type op struct {
		kind     downstream.OpKind
		email    string
		store    string
		prio     downstream.Priority
		seqs     []int64
		needsID  bool
		afterAdd bool
	}
	doubtAccount := knownMap{snapshot: true, users: map[string]store.BCUser{
		"a@x.io": {Email: "a@x.io", UserID: "bc/account/user/7", InAccount: false, AccountInDoubt: true},
	}}
	doubtStore := knownMap{snapshot: true, users: map[string]store.BCUser{
		"a@x.io": {Email: "a@x.io", UserID: "bc/account/user/7", InAccount: true, StoresInDoubt: []string{"s2"}},
	}}
	cases := []struct {
		name    string
		pending []store.Intent
		known   Known
		desired map[string][]string
		settled []settled
		appends []store.Intent
		ops     []op
	}{
		{
			// Created, the add sent, its answer lost; then deactivated: the
			// removal must go although the known state says "not in account".
			name:    "an account in doubt is no evidence: the later removal is sent",
			pending: []store.Intent{intent(1, store.AccountAdd, "a@x.io", ""), intent(2, store.AccountRemove, "a@x.io", "")},
			known:   doubtAccount,
			ops:     []op{{downstream.OpRemoveFromAccount, "a@x.io", "", downstream.PriorityAccountRemoval, []int64{1, 2}, false, false}},
		},
		{
			name:    "an account in doubt puts its stores in doubt",
			pending: []store.Intent{intent(1, store.StoreRemove, "a@x.io", "s1")},
			known:   doubtAccount,
			ops:     []op{{downstream.OpRemoveFromStore, "a@x.io", "s1", downstream.PriorityStoreRemoval, []int64{1}, false, false}},
		},
		{
			// Added to a store, the answer lost; then removed from the group.
			name:    "a store in doubt is no evidence: the later store removal is sent",
			pending: []store.Intent{intent(1, store.StoreAdd, "a@x.io", "s2"), intent(2, store.StoreRemove, "a@x.io", "s2")},
			known:   doubtStore,
			ops:     []op{{downstream.OpRemoveFromStore, "a@x.io", "s2", downstream.PriorityStoreRemoval, []int64{1, 2}, false, false}},
		},
		{
			name:    "a store not in doubt is still evidence",
			pending: []store.Intent{intent(1, store.StoreRemove, "a@x.io", "s9")},
			known:   doubtStore,
			settled: []settled{{1, store.IntentDone}},
		},
		{
			// Deactivated, left the store group while inactive, reactivated,
			// all before delivery: BigCommerce still gives s1, which is no
			// longer desired.
			name:    "a removal collapsing into a re-add removes the stores no longer desired",
			pending: []store.Intent{intent(1, store.AccountRemove, "a@x.io", ""), intent(2, store.AccountAdd, "a@x.io", "")},
			known:   inAccount,
			desired: map[string][]string{"u-a@x.io": {}},
			settled: []settled{{1, store.IntentSuperseded}, {2, store.IntentDone}},
			appends: []store.Intent{{Kind: store.StoreRemove, Email: "a@x.io", StoreHash: "s1", UserID: "u-a@x.io",
				Source: store.SourceSCIM, CreatedAt: t0.Add(2 * time.Second), State: store.IntentPending}},
		},
		{
			name:    "a removal collapsing into a re-add keeps the stores still desired",
			pending: []store.Intent{intent(1, store.AccountRemove, "a@x.io", ""), intent(2, store.AccountAdd, "a@x.io", ""), intent(3, store.StoreAdd, "a@x.io", "s1")},
			known:   inAccount,
			desired: map[string][]string{"u-a@x.io": {"s1"}},
			settled: []settled{{1, store.IntentSuperseded}, {2, store.IntentDone}, {3, store.IntentDone}},
		},
		{
			// A store removal queued before the deactivation is no longer moot
			// once the deactivation collapsed: it is sent.
			name:    "a store removal before a collapsed deactivation is sent",
			pending: []store.Intent{intent(1, store.StoreRemove, "a@x.io", "s1"), intent(2, store.AccountRemove, "a@x.io", ""), intent(3, store.AccountAdd, "a@x.io", "")},
			known:   inAccount,
			desired: map[string][]string{"u-a@x.io": {}},
			settled: []settled{{2, store.IntentSuperseded}, {3, store.IntentDone}},
			ops:     []op{{downstream.OpRemoveFromStore, "a@x.io", "s1", downstream.PriorityStoreRemoval, []int64{1}, false, false}},
		},
		{
			name:    "create then deactivate before delivery sends nothing",
			pending: []store.Intent{intent(1, store.AccountAdd, "a@x.io", ""), intent(2, store.AccountRemove, "a@x.io", "")},
			known:   empty,
			settled: []settled{{1, store.IntentSuperseded}, {2, store.IntentDone}},
		},
		{
			name:    "create then deactivate with nothing known still removes",
			pending: []store.Intent{intent(1, store.AccountAdd, "a@x.io", ""), intent(2, store.AccountRemove, "a@x.io", "")},
			known:   unknown,
			ops:     []op{{downstream.OpRemoveFromAccount, "a@x.io", "", downstream.PriorityAccountRemoval, []int64{1, 2}, false, false}},
		},
		{
			name:    "remove then re-add of a member sends nothing",
			pending: []store.Intent{intent(1, store.AccountRemove, "a@x.io", ""), intent(2, store.AccountAdd, "a@x.io", "")},
			known:   inAccount,
			settled: []settled{{1, store.IntentSuperseded}, {2, store.IntentDone}},
		},
		{
			name:    "remove then re-add of a non-member is one add at addition priority",
			pending: []store.Intent{intent(1, store.AccountRemove, "b@x.io", ""), intent(2, store.AccountAdd, "b@x.io", "")},
			known:   inAccount,
			ops:     []op{{downstream.OpAddToAccount, "b@x.io", "", downstream.PriorityAccountAdd, []int64{1, 2}, false, false}},
		},
		{
			name:    "joiner: account add then store add waiting for it",
			pending: []store.Intent{intent(1, store.AccountAdd, "b@x.io", ""), intent(2, store.StoreAdd, "b@x.io", "s1")},
			known:   empty,
			ops: []op{
				{downstream.OpAddToAccount, "b@x.io", "", downstream.PriorityAccountAdd, []int64{1}, false, false},
				{downstream.OpAddToStore, "b@x.io", "s1", downstream.PriorityStoreAdd, []int64{2}, false, true},
			},
		},
		{
			name: "store intents before an account removal are moot",
			pending: []store.Intent{intent(1, store.StoreAdd, "a@x.io", "s2"), intent(2, store.StoreRemove, "a@x.io", "s1"),
				intent(3, store.AccountRemove, "a@x.io", "")},
			known:   inAccount,
			settled: []settled{{1, store.IntentSuperseded}, {2, store.IntentSuperseded}},
			ops:     []op{{downstream.OpRemoveFromAccount, "a@x.io", "", downstream.PriorityAccountRemoval, []int64{3}, false, false}},
		},
		{
			name:    "store removal needs the BigCommerce id",
			pending: []store.Intent{intent(1, store.StoreRemove, "c@x.io", "s1")},
			known:   knownMap{users: map[string]store.BCUser{"c@x.io": {Email: "c@x.io", InAccount: true, Stores: []string{"s1"}}}},
			ops:     []op{{downstream.OpRemoveFromStore, "c@x.io", "s1", downstream.PriorityStoreRemoval, []int64{1}, true, false}},
		},
		{
			name:    "store removal of a known id, store add already in effect",
			pending: []store.Intent{intent(1, store.StoreRemove, "a@x.io", "s1"), intent(2, store.StoreAdd, "a@x.io", "s1"), intent(3, store.StoreRemove, "a@x.io", "s1")},
			known:   inAccount,
			ops:     []op{{downstream.OpRemoveFromStore, "a@x.io", "s1", downstream.PriorityStoreRemoval, []int64{1, 2, 3}, false, false}},
		},
		{
			name: "leavers first whatever the order of arrival",
			pending: []store.Intent{intent(1, store.AccountAdd, "j1@x.io", ""), intent(2, store.StoreAdd, "a@x.io", "s2"),
				intent(3, store.AccountAdd, "j2@x.io", ""), intent(4, store.AccountRemove, "l@x.io", ""), intent(5, store.StoreRemove, "a@x.io", "s1")},
			known: knownMap{snapshot: true, users: map[string]store.BCUser{
				"a@x.io": inAccount.users["a@x.io"], "l@x.io": {Email: "l@x.io", InAccount: true}}},
			ops: []op{
				{downstream.OpRemoveFromAccount, "l@x.io", "", downstream.PriorityAccountRemoval, []int64{4}, false, false},
				{downstream.OpRemoveFromStore, "a@x.io", "s1", downstream.PriorityStoreRemoval, []int64{5}, false, false},
				{downstream.OpAddToAccount, "j1@x.io", "", downstream.PriorityAccountAdd, []int64{1}, false, false},
				{downstream.OpAddToAccount, "j2@x.io", "", downstream.PriorityAccountAdd, []int64{3}, false, false},
				{downstream.OpAddToStore, "a@x.io", "s2", downstream.PriorityStoreAdd, []int64{2}, false, false},
			},
		},
		{
			name: "reconciliation repairs go last",
			pending: []store.Intent{func() store.Intent {
				i := intent(1, store.AccountRemove, "r@x.io", "")
				i.Source = store.SourceReconcile
				return i
			}(), intent(2, store.AccountAdd, "j@x.io", "")},
			known: knownMap{snapshot: true, users: map[string]store.BCUser{"r@x.io": {Email: "r@x.io", InAccount: true}}},
			ops: []op{
				{downstream.OpAddToAccount, "j@x.io", "", downstream.PriorityAccountAdd, []int64{2}, false, false},
				{downstream.OpRemoveFromAccount, "r@x.io", "", downstream.PriorityRepair, []int64{1}, false, false},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := MakePlan(tc.pending, tc.known, tc.desired)
			var gotSettled []settled
			for _, s := range p.Settled {
				gotSettled = append(gotSettled, settled{s.Seq, s.State})
			}
			require.ElementsMatch(t, tc.settled, gotSettled)
			var gotOps []op
			for _, o := range p.Ops {
				gotOps = append(gotOps, op{o.Op.Kind, o.Op.Email, o.Op.StoreHash, o.Priority, o.Seqs, o.NeedsUserID, o.AfterAccountAdd})
			}
			require.Equal(t, tc.ops, gotOps)
			require.Equal(t, tc.appends, p.Append)
		})
	}
}
