package known

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func snapshot(at time.Time, stores map[string][]string) Snapshot {
	s := Snapshot{At: at}
	byStore := map[string][]downstream.User{}
	for email, hashes := range stores {
		s.Users = append(s.Users, downstream.User{ID: "bc/account/user/" + email, Email: email})
		for _, h := range hashes {
			byStore[h] = append(byStore[h], downstream.User{ID: "bc/account/user/" + email, Email: email})
		}
	}
	for h, users := range byStore {
		s.StoreUsers = append(s.StoreUsers, downstream.StoreUsers{Store: downstream.Store{Hash: h}, Users: users})
	}
	return s
}

type change struct {
	email string
	kind  store.IntentKind
	hash  string
}

// TestSaveRecordsObservedAccess: the first listing the history sees records
// everyone as observed, even when the known state already had them (an
// upgrade); later listings record only differences, except for the emails
// kept (changed by delivery since the listing was read).
func TestSaveRecordsObservedAccess(t *testing.T) {
	ctx := t.Context()
	st := storetest.NewSQLite(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	// Known state from before the access history existed.
	require.NoError(t, st.Update(ctx, func(tx store.Tx) error {
		return tx.PutBCUser(ctx, store.BCUser{Email: "a@x.io", InAccount: true, Stores: []string{"s1"}, UpdatedAt: t0})
	}))
	history := func() []change {
		var out []change
		require.NoError(t, st.View(ctx, func(tx store.Tx) error {
			rows, err := tx.ListHistory(ctx, store.HistoryFilter{})
			for _, r := range rows {
				require.Equal(t, store.HistoryObserved, r.Outcome)
				require.Equal(t, "run-1", r.RequestID)
				out = append(out, change{r.Email, r.Change, r.StoreHash})
			}
			return err
		}))
		return out
	}
	save := func(s Snapshot, keep ...string) {
		require.NoError(t, st.Update(ctx, func(tx store.Tx) error {
			return Save(ctx, tx, s, Origin{Source: store.SourceReconcile, RequestID: "run-1", Cause: "reconcile.listing"}, keep...)
		}))
	}

	save(snapshot(t0, map[string][]string{"a@x.io": {"s1"}, "b@x.io": nil}))
	require.ElementsMatch(t, []change{
		{"a@x.io", store.AccountAdd, ""}, {"a@x.io", store.StoreAdd, "s1"}, {"b@x.io", store.AccountAdd, ""},
	}, history(), "the baseline records what BigCommerce has, whatever was known before")

	save(snapshot(t0.Add(time.Hour), map[string][]string{"a@x.io": {"s2"}, "c@x.io": {"s1"}}))
	require.ElementsMatch(t, []change{
		{"a@x.io", store.AccountAdd, ""}, {"a@x.io", store.StoreAdd, "s1"}, {"b@x.io", store.AccountAdd, ""},
		{"a@x.io", store.StoreRemove, "s1"}, {"a@x.io", store.StoreAdd, "s2"},
		{"c@x.io", store.AccountAdd, ""}, {"c@x.io", store.StoreAdd, "s1"},
		{"b@x.io", store.AccountRemove, ""},
	}, history())

	before := len(history())
	save(snapshot(t0.Add(2*time.Hour), map[string][]string{"c@x.io": {"s1"}}), "a@x.io")
	require.Len(t, history(), before, "a kept email's record stands: no observed change")
	require.NoError(t, st.View(ctx, func(tx store.Tx) error {
		k, err := tx.GetBCUsers(ctx, []string{"a@x.io"})
		require.Equal(t, []string{"s2"}, k["a@x.io"].Stores)
		return err
	}))
}

func TestChangesOrder(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	kinds := func(cs []store.AccessChange) []string {
		var out []string
		for _, c := range cs {
			out = append(out, string(c.Change)+" "+c.StoreHash)
		}
		return out
	}
	in := store.BCUser{Email: "a@x.io", InAccount: true, Stores: []string{"s2", "s1"}}
	require.Equal(t, []string{"account.remove "}, kinds(Changes(in, store.BCUser{Email: "a@x.io"}, at, Origin{})),
		"an account removal alone: it takes the stores")
	require.Equal(t, []string{"account.add ", "store.add s1", "store.add s2"}, kinds(Changes(store.BCUser{}, in, at, Origin{})))
	require.Equal(t, []string{"store.remove s2", "store.add s3"},
		kinds(Changes(in, store.BCUser{Email: "a@x.io", InAccount: true, Stores: []string{"s1", "s3"}}, at, Origin{})))
	require.Empty(t, Changes(in, in, at, Origin{}))
}
