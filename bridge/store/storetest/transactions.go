package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// errBoom is the error the tests' transaction functions fail with.
var errBoom = errors.New("boom")

// requireEmpty checks that nothing of any kind is stored.
func requireEmpty(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	view(t, s, func(tx store.Tx) error {
		users, total, err := tx.ListUsers(ctx, store.Query{Limit: -1})
		require.NoError(t, err)
		require.Empty(t, users)
		require.Zero(t, total)
		groups, total, err := tx.ListGroups(ctx, store.Query{Limit: -1})
		require.NoError(t, err)
		require.Empty(t, groups)
		require.Zero(t, total)
		intents, err := tx.ListIntents(ctx, store.IntentFilter{})
		require.NoError(t, err)
		require.Empty(t, intents)
		events, err := tx.ListAudit(ctx, 100)
		require.NoError(t, err)
		require.Empty(t, events)
		_, err = tx.GetState(ctx, "budget")
		require.ErrorIs(t, err, store.ErrNotFound)
		return nil
	})
}

// writeEverything writes one record of every kind.
func writeEverything(t *testing.T, tx store.Tx) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, tx.CreateUser(ctx, newUser("user-1", "one@example.com")))
	require.NoError(t, tx.CreateGroup(ctx, newGroup("group-1", "One")))
	require.NoError(t, tx.AddMembers(ctx, "group-1", []string{"user-1"}))
	_, err := tx.AppendIntents(ctx, []store.Intent{{Kind: store.AccountAdd, Email: "one@example.com", UserID: "user-1"}})
	require.NoError(t, err)
	require.NoError(t, tx.AppendAudit(ctx, store.AuditEvent{Actor: "scim:abc", Action: "user.create"}))
	require.NoError(t, tx.PutState(ctx, "budget", []byte("{}")))
}

func testRollback(t *testing.T, s store.Store) {
	err := s.Update(t.Context(), func(tx store.Tx) error {
		writeEverything(t, tx)
		return errBoom
	})
	// fn's error comes back as it was returned.
	require.ErrorIs(t, err, errBoom)
	requireEmpty(t, s)

	// The same writes commit when fn succeeds, and a store that rolled back is
	// still usable.
	update(t, s, func(tx store.Tx) error {
		writeEverything(t, tx)
		return nil
	})
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
}

func testRollbackKeepsOldState(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.Tx) error {
		writeEverything(t, tx)
		return nil
	})
	before, err := getUser(t, s, "user-1")
	require.NoError(t, err)

	err = s.Update(ctx, func(tx store.Tx) error {
		u := before
		u.UserName = "changed@example.com"
		u.Version++
		require.NoError(t, tx.UpdateUser(ctx, u))
		require.NoError(t, tx.SetUserSync(ctx, u.ID, store.SyncState{State: store.SyncSynced}))
		require.NoError(t, tx.RemoveMembers(ctx, "group-1", []string{"user-1"}))
		require.NoError(t, tx.DeleteGroup(ctx, "group-1"))
		require.NoError(t, tx.PutState(ctx, "budget", []byte("changed")))
		intents, err := tx.ListIntents(ctx, store.IntentFilter{})
		require.NoError(t, err)
		intents[0].State = store.IntentDone
		require.NoError(t, tx.UpdateIntent(ctx, intents[0], store.IntentPending))
		require.NoError(t, tx.DeleteUser(ctx, u.ID))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	after, err := getUser(t, s, "user-1")
	require.NoError(t, err)
	require.Equal(t, before, after)
	require.Equal(t, []string{"user-1"}, memberIDs(members(t, s, "group-1")))
	view(t, s, func(tx store.Tx) error {
		v, err := tx.GetState(ctx, "budget")
		require.NoError(t, err)
		require.Equal(t, []byte("{}"), v)
		intents, err := tx.ListIntents(ctx, store.IntentFilter{})
		require.NoError(t, err)
		require.Len(t, intents, 1)
		require.Equal(t, store.IntentPending, intents[0].State)
		return nil
	})
}

func testPanicRollsBack(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.PanicsWithValue(t, "boom", func() {
		_ = s.Update(ctx, func(tx store.Tx) error {
			require.NoError(t, tx.CreateUser(ctx, newUser("user-1", "one@example.com")))
			panic("boom")
		})
	})
	requireEmpty(t, s)
	// The store (on SQLite: its single writer connection) is usable afterwards.
	createUsers(t, s, newUser("user-1", "one@example.com"))
	require.PanicsWithValue(t, "boom", func() {
		_ = s.View(ctx, func(tx store.Tx) error { panic("boom") })
	})
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
}

func testReadYourWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	update(t, s, func(tx store.Tx) error {
		require.NoError(t, tx.CreateUser(ctx, newUser("user-1", "one@example.com")))
		u, err := tx.GetUser(ctx, "user-1")
		require.NoError(t, err)
		require.Equal(t, "one@example.com", u.UserName)
		users, total, err := tx.ListUsers(ctx, store.Query{
			Filter: store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "ONE@example.com"}, Limit: -1,
		})
		require.NoError(t, err)
		require.Equal(t, 1, total)
		require.Equal(t, []string{"user-1"}, userIDs(users))
		require.NoError(t, tx.DeleteUser(ctx, "user-1"))
		_, err = tx.GetUser(ctx, "user-1")
		require.ErrorIs(t, err, store.ErrNotFound)
		return nil
	})
}

func testViewReadOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "one@example.com"))
	createGroups(t, s, newGroup("group-1", "One"))
	writes := []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"CreateUser", func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("user-2", "two@example.com")) }},
		{"UpdateUser", func(tx store.Tx) error { return tx.UpdateUser(ctx, newUser("user-1", "x@example.com")) }},
		{"DeleteUser", func(tx store.Tx) error { return tx.DeleteUser(ctx, "user-1") }},
		{"SetUserSync", func(tx store.Tx) error { return tx.SetUserSync(ctx, "user-1", store.SyncState{}) }},
		{"CreateGroup", func(tx store.Tx) error { return tx.CreateGroup(ctx, newGroup("group-2", "Two")) }},
		{"UpdateGroup", func(tx store.Tx) error { return tx.UpdateGroup(ctx, newGroup("group-1", "X")) }},
		{"DeleteGroup", func(tx store.Tx) error { return tx.DeleteGroup(ctx, "group-1") }},
		{"AddMembers", func(tx store.Tx) error { return tx.AddMembers(ctx, "group-1", []string{"user-1"}) }},
		{"RemoveMembers", func(tx store.Tx) error { return tx.RemoveMembers(ctx, "group-1", []string{"user-1"}) }},
		{"AppendIntents", func(tx store.Tx) error {
			_, err := tx.AppendIntents(ctx, []store.Intent{{Kind: store.AccountAdd}})
			return err
		}},
		{"UpdateIntent", func(tx store.Tx) error { return tx.UpdateIntent(ctx, store.Intent{Seq: 1}, store.IntentPending) }},
		{"AppendAudit", func(tx store.Tx) error { return tx.AppendAudit(ctx, store.AuditEvent{Action: "x"}) }},
		{"PutState", func(tx store.Tx) error { return tx.PutState(ctx, "k", []byte("v")) }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			var inner error
			err := s.View(ctx, func(tx store.Tx) error {
				inner = w.fn(tx)
				// The transaction stays readable after the refused write.
				_, err := tx.GetUser(ctx, "user-1")
				require.NoError(t, err)
				return inner
			})
			require.ErrorIs(t, inner, store.ErrReadOnly)
			require.ErrorIs(t, err, store.ErrReadOnly)
		})
	}
	// Nothing changed.
	u, err := getUser(t, s, "user-1")
	require.NoError(t, err)
	require.Equal(t, newUser("user-1", "one@example.com"), u)
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
	require.Empty(t, members(t, s, "group-1"))

	// fn's own error comes back from View.
	require.ErrorIs(t, s.View(ctx, func(store.Tx) error { return errBoom }), errBoom)
}

func testViewSnapshot(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "one@example.com"))
	view(t, s, func(tx store.Tx) error {
		_, total, err := tx.ListUsers(ctx, store.Query{Limit: 0})
		require.NoError(t, err)
		require.Equal(t, 1, total)

		// A write committed while the View is open...
		update(t, s, func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, newUser("user-2", "two@example.com")); err != nil {
				return err
			}
			return tx.DeleteUser(ctx, "user-1")
		})

		// ...is not seen by it.
		users, total, err := tx.ListUsers(ctx, store.Query{Limit: -1})
		require.NoError(t, err)
		require.Equal(t, 1, total)
		require.Equal(t, []string{"user-1"}, userIDs(users))
		_, err = tx.GetUser(ctx, "user-2")
		require.ErrorIs(t, err, store.ErrNotFound)
		return nil
	})
	// A new View sees it.
	users, _ := listUsers(t, s, store.Query{Limit: -1})
	require.Equal(t, []string{"user-2"}, userIDs(users))
}

func testTxAfterReturn(t *testing.T, s store.Store) {
	ctx := t.Context()
	var kept store.Tx
	update(t, s, func(tx store.Tx) error {
		kept = tx
		return tx.CreateUser(ctx, newUser("user-1", "one@example.com"))
	})
	_, err := kept.GetUser(ctx, "user-1")
	require.Error(t, err)
	require.Error(t, kept.CreateUser(ctx, newUser("user-2", "two@example.com")))
	view(t, s, func(tx store.Tx) error {
		kept = tx
		return nil
	})
	_, _, err = kept.ListUsers(ctx, store.Query{Limit: -1})
	require.Error(t, err)
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error {
		ran = true
		return tx.CreateUser(ctx, newUser("user-1", "one@example.com"))
	})
	require.Error(t, err)
	if ran {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.Error(t, s.View(ctx, func(tx store.Tx) error {
		_, _, err := tx.ListUsers(ctx, store.Query{Limit: -1})
		return err
	}))

	// Cancelled in the middle of a transaction: nothing is kept.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, newUser("user-2", "two@example.com")); err != nil {
			return err
		}
		cancel()
		return tx.CreateUser(ctx, newUser("user-3", "three@example.com"))
	})
	require.Error(t, err)

	// The store's connections survived both.
	requireEmpty(t, s)
	createUsers(t, s, newUser("user-4", "four@example.com"))
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
}
