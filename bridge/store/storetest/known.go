package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// testKnownUsers: known-state records round-trip, upsert, and a replace
// leaves exactly the new set.
func testKnownUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := store.BCUser{Email: "a@x.io", UserID: "bc/account/user/1", InAccount: true, Stores: []string{"abc123", "def456"}, UpdatedAt: t0}
	b := store.BCUser{Email: "b@x.io", InAccount: false, UpdatedAt: t0.Add(time.Second)}
	update(t, s, func(tx store.Tx) error {
		require.NoError(t, tx.PutBCUser(ctx, a))
		return tx.PutBCUser(ctx, b)
	})
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetBCUsers(ctx, []string{"a@x.io", "b@x.io", "missing@x.io"})
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, a, got["a@x.io"])
		require.Equal(t, b, got["b@x.io"])
		empty, err := tx.GetBCUsers(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, empty)
		return nil
	})

	// The in-doubt markers round-trip and are replaced by an upsert.
	d := store.BCUser{Email: "d@x.io", InAccount: true, AccountInDoubt: true, StoresInDoubt: []string{"abc123"}, UpdatedAt: t0}
	update(t, s, func(tx store.Tx) error { return tx.PutBCUser(ctx, d) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetBCUsers(ctx, []string{"d@x.io"})
		require.NoError(t, err)
		require.Equal(t, d, got["d@x.io"])
		return nil
	})
	d.AccountInDoubt, d.StoresInDoubt = false, nil
	update(t, s, func(tx store.Tx) error { return tx.PutBCUser(ctx, d) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetBCUsers(ctx, []string{"d@x.io"})
		require.NoError(t, err)
		require.Equal(t, d, got["d@x.io"])
		return nil
	})

	a.Stores, a.UpdatedAt = []string{"abc123"}, t0.Add(time.Minute)
	update(t, s, func(tx store.Tx) error { return tx.PutBCUser(ctx, a) })
	c := store.BCUser{Email: "c@x.io", UserID: "bc/account/user/9", InAccount: true, StoresInDoubt: []string{"x1"}, UpdatedAt: t0}
	update(t, s, func(tx store.Tx) error { return tx.ReplaceBCUsers(ctx, []store.BCUser{a, c}) })
	view(t, s, func(tx store.Tx) error {
		all, err := tx.ListBCUsers(ctx)
		require.NoError(t, err)
		require.Equal(t, []store.BCUser{a, c}, all, "replace leaves exactly the new set, ordered by email")
		return nil
	})
	// Many emails at once (beyond one IN list's chunk).
	var many []store.BCUser
	var emails []string
	for i := range 1200 {
		e := store.BCUser{Email: "m" + string(rune('a'+i%26)) + time.Duration(i).String() + "@x.io", InAccount: true, UpdatedAt: t0}
		many = append(many, e)
		emails = append(emails, e.Email)
	}
	update(t, s, func(tx store.Tx) error { return tx.ReplaceBCUsers(ctx, many) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetBCUsers(ctx, emails)
		require.NoError(t, err)
		require.Len(t, got, len(many))
		return nil
	})
}

// testActiveEmailUnique: two active users cannot share a BCEmail; inactive
// ones can, and activating one of them then conflicts.
func testActiveEmailUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	u1 := newUser("u1", "one")
	u1.BCEmail = "same@x.io"
	u2 := newUser("u2", "two")
	u2.BCEmail = "same@x.io"
	createUsers(t, s, u1)
	err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, u2) })
	require.ErrorIs(t, err, store.ErrConflict)

	u2.Active = false
	createUsers(t, s, u2)
	// The transaction stays usable after the conflict.
	update(t, s, func(tx store.Tx) error {
		act := u2
		act.Active, act.Version = true, 2
		require.ErrorIs(t, tx.UpdateUser(ctx, act), store.ErrConflict)
		other := u1
		other.BCEmail, other.Version = "", 2
		return tx.UpdateUser(ctx, other)
	})
	// Users without an email never conflict.
	u3, u4 := newUser("u3", "three"), newUser("u4", "four")
	createUsers(t, s, u3, u4)
	// Now u1 has no email: activating u2 works.
	update(t, s, func(tx store.Tx) error {
		act := u2
		act.Active, act.Version = true, 2
		return tx.UpdateUser(ctx, act)
	})
	_, err = getUser(t, s, "u2")
	require.False(t, errors.Is(err, store.ErrNotFound))
}
