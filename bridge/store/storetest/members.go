package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func userGroups(t testing.TB, s store.Store, userID string) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx store.Tx) error {
		var err error
		ids, err = tx.UserGroups(t.Context(), userID)
		return err
	})
	return ids
}

func testMembers(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s,
		newUser("user-1", "one@example.com"),
		newUser("user-2", "two@example.com"),
		newUser("user-3", "three@example.com"),
		newUser("user-4", "four@example.com"),
	)
	createGroups(t, s, newGroup("group-1", "One"), newGroup("group-2", "Two"))

	require.Empty(t, members(t, s, "group-1"))

	// Members come back in the order they were added, with their userName.
	update(t, s, func(tx store.Tx) error { return tx.AddMembers(ctx, "group-1", []string{"user-2", "user-1"}) })
	require.Equal(t, []store.Member{
		{UserID: "user-2", UserName: "two@example.com"},
		{UserID: "user-1", UserName: "one@example.com"},
	}, members(t, s, "group-1"))

	// Adding existing members again changes nothing (not even their position);
	// repeats within one call count once.
	update(t, s, func(tx store.Tx) error {
		return tx.AddMembers(ctx, "group-1", []string{"user-1", "user-3", "user-3", "user-2"})
	})
	require.Equal(t, []string{"user-2", "user-1", "user-3"}, memberIDs(members(t, s, "group-1")))

	// An unknown user: ErrNotFound and nothing of the call is added, even the
	// known users before it.
	err := s.Update(ctx, func(tx store.Tx) error {
		err := tx.AddMembers(ctx, "group-1", []string{"user-4", "user-missing"})
		require.ErrorIs(t, err, store.ErrNotFound)
		// The transaction stays usable; what the call did not add stays out.
		ms, err := tx.GroupMembers(ctx, "group-1")
		require.NoError(t, err)
		require.Equal(t, []string{"user-2", "user-1", "user-3"}, memberIDs(ms))
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"user-2", "user-1", "user-3"}, memberIDs(members(t, s, "group-1")))

	// Unknown group.
	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.AddMembers(ctx, "group-missing", []string{"user-1"})
	}), store.ErrNotFound)
	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.RemoveMembers(ctx, "group-missing", []string{"user-1"})
	}), store.ErrNotFound)
	require.ErrorIs(t, s.View(ctx, func(tx store.Tx) error {
		_, err := tx.GroupMembers(ctx, "group-missing")
		return err
	}), store.ErrNotFound)

	// An empty list is a no-op.
	update(t, s, func(tx store.Tx) error { return tx.AddMembers(ctx, "group-1", nil) })
	update(t, s, func(tx store.Tx) error { return tx.RemoveMembers(ctx, "group-1", []string{}) })

	// Removing ignores non-members and unknown ids.
	update(t, s, func(tx store.Tx) error {
		return tx.RemoveMembers(ctx, "group-1", []string{"user-1", "user-4", "user-missing"})
	})
	require.Equal(t, []string{"user-2", "user-3"}, memberIDs(members(t, s, "group-1")))

	// A removed member added again goes to the end.
	update(t, s, func(tx store.Tx) error { return tx.AddMembers(ctx, "group-1", []string{"user-1"}) })
	require.Equal(t, []string{"user-2", "user-3", "user-1"}, memberIDs(members(t, s, "group-1")))

	update(t, s, func(tx store.Tx) error { return tx.AddMembers(ctx, "group-2", []string{"user-1", "user-4"}) })
	require.ElementsMatch(t, []string{"group-1", "group-2"}, userGroups(t, s, "user-1"))
	require.ElementsMatch(t, []string{"group-1"}, userGroups(t, s, "user-2"))
	require.ElementsMatch(t, []string{"group-2"}, userGroups(t, s, "user-4"))
	require.Empty(t, userGroups(t, s, "user-missing"))

	// Membership shows the member's current userName.
	renamed := newUser("user-1", "Renamed@Example.com")
	update(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, renamed) })
	require.Contains(t, members(t, s, "group-2"), store.Member{UserID: "user-1", UserName: "Renamed@Example.com"})

	// Updating a group leaves its members alone.
	update(t, s, func(tx store.Tx) error { return tx.UpdateGroup(ctx, newGroup("group-1", "One renamed")) })
	require.Equal(t, []string{"user-2", "user-3", "user-1"}, memberIDs(members(t, s, "group-1")))
}

func testMemberCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "one@example.com"), newUser("user-2", "two@example.com"))
	createGroups(t, s, newGroup("group-1", "One"), newGroup("group-2", "Two"))
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddMembers(ctx, "group-1", []string{"user-1", "user-2"}); err != nil {
			return err
		}
		return tx.AddMembers(ctx, "group-2", []string{"user-1", "user-2"})
	})

	// Deleting a user removes it from every group.
	update(t, s, func(tx store.Tx) error { return tx.DeleteUser(ctx, "user-1") })
	require.Equal(t, []string{"user-2"}, memberIDs(members(t, s, "group-1")))
	require.Equal(t, []string{"user-2"}, memberIDs(members(t, s, "group-2")))
	require.Empty(t, userGroups(t, s, "user-1"))
	// A new user with the old id starts without memberships.
	createUsers(t, s, newUser("user-1", "one-again@example.com"))
	require.Empty(t, userGroups(t, s, "user-1"))

	// Deleting a group removes its memberships.
	update(t, s, func(tx store.Tx) error { return tx.DeleteGroup(ctx, "group-1") })
	require.Equal(t, []string{"group-2"}, userGroups(t, s, "user-2"))
	createGroups(t, s, newGroup("group-1", "One"))
	require.Empty(t, members(t, s, "group-1"))
	groups, _ := listGroups(t, s, store.Query{Filter: store.Cond{Field: store.FieldMember, Op: store.OpEq, Value: "user-2"}, Limit: -1})
	require.Equal(t, []string{"group-2"}, groupIDs(groups))
}

// testGroupsOfUsers checks the one-read group lookup of a page of users.
func testGroupsOfUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "one@example.com"), newUser("user-2", "two@example.com"), newUser("user-3", "three@example.com"))
	createGroups(t, s, newGroup("group-1", "One"), newGroup("group-2", "Two"))
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.AddMembers(ctx, "group-1", []string{"user-1", "user-2"}), tx.AddMembers(ctx, "group-2", []string{"user-1"}))
	})
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GroupsOfUsers(ctx, []string{"user-1", "user-2", "user-3", "user-1", "nobody"})
		require.NoError(t, err)
		for _, ids := range got {
			slices.Sort(ids)
		}
		require.Equal(t, map[string][]string{"user-1": {"group-1", "group-2"}, "user-2": {"group-1"}}, got, "users without groups are absent; repeated and unknown ids are harmless")
		for _, id := range []string{"user-1", "user-2", "user-3"} {
			want, err := tx.UserGroups(ctx, id)
			require.NoError(t, err)
			slices.Sort(want)
			require.Equal(t, want, append([]string{}, got[id]...), "same as UserGroups for %s", id)
		}
		got, err = tx.GroupsOfUsers(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)
		return nil
	})
}
