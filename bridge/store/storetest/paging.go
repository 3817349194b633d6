package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func testUserPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Ids and userNames deliberately not in insertion order: the order is the
	// insertion order, not any attribute's.
	var users []store.User
	for i := 7; i >= 1; i-- {
		u := newUser(fmt.Sprintf("user-%d", i), fmt.Sprintf("name-%d@example.com", 8-i))
		u.Active = i%2 == 1 // users 7, 5, 3, 1 active
		users = append(users, u)
	}
	createUsers(t, s, users...)
	order := []string{"user-7", "user-6", "user-5", "user-4", "user-3", "user-2", "user-1"}
	active := store.Cond{Field: store.FieldActive, Op: store.OpEq, Value: true}

	cases := []struct {
		name      string
		q         store.Query
		want      []string
		wantTotal int
	}{
		{"first page", store.Query{Offset: 0, Limit: 3}, order[0:3], 7},
		{"second page", store.Query{Offset: 3, Limit: 3}, order[3:6], 7},
		{"last partial page", store.Query{Offset: 6, Limit: 3}, order[6:], 7},
		{"offset at end", store.Query{Offset: 7, Limit: 3}, []string{}, 7},
		{"offset past end", store.Query{Offset: 100, Limit: 3}, []string{}, 7},
		{"offset past end without limit", store.Query{Offset: 100, Limit: -1}, []string{}, 7},
		{"limit zero", store.Query{Limit: 0}, []string{}, 7},
		{"limit zero with offset", store.Query{Offset: 2, Limit: 0}, []string{}, 7},
		{"negative limit", store.Query{Limit: -1}, order, 7},
		{"offset without limit", store.Query{Offset: 2, Limit: -5}, order[2:], 7},
		{"limit larger than total", store.Query{Limit: 50}, order, 7},
		{"exact fit", store.Query{Limit: 7}, order, 7},
		{"negative offset", store.Query{Offset: -3, Limit: 2}, order[0:2], 7},
		{"filtered first page", store.Query{Filter: active, Limit: 2}, []string{"user-7", "user-5"}, 4},
		{"filtered second page", store.Query{Filter: active, Offset: 2, Limit: 2}, []string{"user-3", "user-1"}, 4},
		{"filtered past end", store.Query{Filter: active, Offset: 4, Limit: 2}, []string{}, 4},
		{"filtered limit zero", store.Query{Filter: active, Limit: 0}, []string{}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := listUsers(t, s, tc.q)
			require.NotNil(t, got)
			require.Equal(t, tc.want, userIDs(got))
			require.Equal(t, tc.wantTotal, total)
		})
	}

	// Updates do not move a user; deletes close the gap; new users go last.
	update(t, s, func(tx store.Tx) error {
		u := newUser("user-7", "zzz-renamed@example.com")
		u.Version = 2
		u.Modified = t0.Add(1e9)
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.SetUserSync(ctx, "user-6", store.SyncState{State: store.SyncSynced}); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, "user-4")
	})
	createUsers(t, s, newUser("user-0", "aaa@example.com"))
	got, total := listUsers(t, s, store.Query{Limit: -1})
	require.Equal(t, 7, total)
	require.Equal(t, []string{"user-7", "user-6", "user-5", "user-3", "user-2", "user-1", "user-0"}, userIDs(got))
	got, total = listUsers(t, s, store.Query{Offset: 3, Limit: 3})
	require.Equal(t, 7, total)
	require.Equal(t, []string{"user-3", "user-2", "user-1"}, userIDs(got))

	// Walking the pages visits every user exactly once.
	var walked []string
	for offset := 0; ; offset += 2 {
		page, total := listUsers(t, s, store.Query{Offset: offset, Limit: 2})
		require.Equal(t, 7, total)
		if len(page) == 0 {
			break
		}
		walked = append(walked, userIDs(page)...)
	}
	require.Equal(t, []string{"user-7", "user-6", "user-5", "user-3", "user-2", "user-1", "user-0"}, walked)
}

func testGroupPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	createGroups(t, s,
		newGroup("group-c", "Charlie"),
		newGroup("group-a", "Alpha"),
		newGroup("group-d", "Delta"),
		newGroup("group-b", "Bravo"),
	)
	got, total := listGroups(t, s, store.Query{Offset: 1, Limit: 2})
	require.Equal(t, 4, total)
	require.Equal(t, []string{"group-a", "group-d"}, groupIDs(got))
	got, total = listGroups(t, s, store.Query{Limit: 0})
	require.Equal(t, 4, total)
	require.NotNil(t, got)
	require.Empty(t, got)
	got, total = listGroups(t, s, store.Query{Offset: 9, Limit: 2})
	require.Equal(t, 4, total)
	require.Empty(t, got)

	update(t, s, func(tx store.Tx) error {
		if err := tx.UpdateGroup(ctx, newGroup("group-c", "Charlie 2")); err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, "group-a")
	})
	createGroups(t, s, newGroup("group-0", "Zero"))
	got, total = listGroups(t, s, store.Query{Limit: -1})
	require.Equal(t, 4, total)
	require.Equal(t, []string{"group-c", "group-d", "group-b", "group-0"}, groupIDs(got))
}
