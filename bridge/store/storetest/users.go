package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// fullUser returns a user with every field set, times in a non-UTC zone with
// nanoseconds (so that the store must normalise them).
func fullUser(id string) store.User {
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	created := time.Date(2023, 5, 6, 7, 8, 9, 123456789, zone)
	return store.User{
		ID:          id,
		UserName:    "Åsa.Öberg@Example.com",
		ExternalID:  "00u1ab2CD3ef",
		DisplayName: "Åsa Öberg",
		Active:      true,
		Emails: []store.Email{
			{Value: "Asa.Oberg@Example.com", Type: "work", Primary: true},
			{Value: "asa@home.example", Type: "Home"},
			{Value: "no-type@example.com"},
		},
		BCEmail: "asa.oberg@example.com",
		Attributes: map[string]any{
			"userName": "Åsa.Öberg@Example.com",
			"name":     map[string]any{"givenName": "Åsa", "familyName": "Öberg", "formatted": `Åsa "Ace" O'Berg`},
			"emails": []any{
				map[string]any{"value": "Asa.Oberg@Example.com", "type": "work", "primary": true},
				map[string]any{"value": "asa@home.example", "type": "Home"},
			},
			"phoneNumbers": []any{},
			"title":        "",
			"nothing":      nil,
			"score":        1.5,
			"big":          1e21,
			"active":       true,
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
				"employeeNumber": "42",
				"manager":        map[string]any{"value": "user-boss", "displayName": "Boss"},
				"tags":           []any{"a", 2.0, false, []any{"nested"}},
			},
			"html": "<b>&amp;</b>",
		},
		Version:  7,
		Created:  created,
		Modified: created.Add(90*time.Minute + 999*time.Nanosecond),
		Sync: store.SyncState{
			State:             store.SyncFailed,
			LastSyncedAt:      created.Add(time.Hour + 1),
			BigCommerceUserID: "bc/account/user/77",
			LastError:         "downstream refused the request",
		},
	}
}

// normalised returns u as the store must return it: times in UTC truncated to
// microseconds.
func normalised(u store.User) store.User {
	u.Created, u.Modified = store.Truncate(u.Created), store.Truncate(u.Modified)
	if !u.Sync.LastSyncedAt.IsZero() {
		u.Sync.LastSyncedAt = store.Truncate(u.Sync.LastSyncedAt)
	}
	return u
}

func requireUTCMicros(t *testing.T, tm time.Time) {
	t.Helper()
	require.Equal(t, time.UTC, tm.Location())
	require.Zero(t, tm.Nanosecond()%1000, "time must be truncated to microseconds")
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	u := fullUser("user-1")
	createUsers(t, s, u)
	want := normalised(u)

	got, err := getUser(t, s, u.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)
	requireUTCMicros(t, got.Created)
	requireUTCMicros(t, got.Modified)
	requireUTCMicros(t, got.Sync.LastSyncedAt)

	// The list path returns the same record.
	users, total := listUsers(t, s, store.Query{Limit: -1})
	require.Equal(t, 1, total)
	require.Equal(t, []store.User{want}, users)

	// Reading inside Update returns the same record too.
	update(t, s, func(tx store.Tx) error {
		got, err := tx.GetUser(t.Context(), u.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
		return nil
	})

	// Zero values round-trip as zero values: nil attributes and emails, zero
	// times, empty strings.
	minimal := store.User{ID: "user-2", UserName: "minimal"}
	createUsers(t, s, minimal)
	got, err = getUser(t, s, "user-2")
	require.NoError(t, err)
	require.Equal(t, minimal, got)
	require.True(t, got.Created.IsZero())
	require.True(t, got.Sync.LastSyncedAt.IsZero())

	// An empty (non-nil) attributes map stays empty and non-nil.
	empty := newUser("user-3", "empty-attrs")
	empty.Attributes = map[string]any{}
	createUsers(t, s, empty)
	got, err = getUser(t, s, "user-3")
	require.NoError(t, err)
	require.NotNil(t, got.Attributes)
	require.Empty(t, got.Attributes)
}

func testUserCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := fullUser("user-1")
	createUsers(t, s, u)

	// UpdateUser replaces every field except Sync.
	changed := store.User{
		ID:          u.ID,
		UserName:    "renamed@example.com",
		ExternalID:  "",
		DisplayName: "Renamed",
		Active:      false,
		Emails:      []store.Email{{Value: "renamed@example.com", Type: "work", Primary: true}},
		BCEmail:     "",
		Attributes:  map[string]any{"userName": "renamed@example.com", "active": false},
		Version:     8,
		Created:     t0,
		Modified:    t0.Add(time.Hour),
		Sync:        store.SyncState{State: store.SyncSynced, BigCommerceUserID: "ignored"},
	}
	update(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, changed) })
	got, err := getUser(t, s, u.ID)
	require.NoError(t, err)
	want := changed
	want.Sync = normalised(u).Sync
	require.Equal(t, want, got)

	// The email index follows the update: the old email no longer matches.
	users, _ := listUsers(t, s, store.Query{Filter: store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "asa@home.example"}, Limit: -1})
	require.Empty(t, users)
	users, _ = listUsers(t, s, store.Query{Filter: store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "RENAMED@example.com"}, Limit: -1})
	require.Equal(t, []string{u.ID}, userIDs(users))

	// Changing only the case of one's own userName is not a conflict.
	changed.UserName = "RENAMED@example.com"
	update(t, s, func(tx store.Tx) error { return tx.UpdateUser(ctx, changed) })
	got, err = getUser(t, s, u.ID)
	require.NoError(t, err)
	require.Equal(t, "RENAMED@example.com", got.UserName)

	// Delete, then everything about the user reports ErrNotFound.
	update(t, s, func(tx store.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	_, err = getUser(t, s, u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	require.ErrorIs(t, err, store.ErrNotFound)
	err = s.Update(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, changed) })
	require.ErrorIs(t, err, store.ErrNotFound)
	_, total := listUsers(t, s, store.Query{Limit: -1})
	require.Zero(t, total)
	users, _ = listUsers(t, s, store.Query{Filter: store.Cond{Field: store.FieldEmail, Op: store.OpPr}, Limit: -1})
	require.Empty(t, users, "deleting a user removes its email index rows")

	// The id and the userName are free again.
	createUsers(t, s, u)
	got, err = getUser(t, s, u.ID)
	require.NoError(t, err)
	require.Equal(t, normalised(u), got)

	// Errors are the sentinels, also when nothing else happened in the
	// transaction.
	_, err = getUser(t, s, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotErrorIs(t, err, store.ErrConflict)
}

func testUserSync(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("user-1", "sync@example.com")
	createUsers(t, s, u)

	sync := store.SyncState{
		State:             store.SyncSynced,
		LastSyncedAt:      time.Date(2024, 5, 1, 10, 11, 12, 131415161, time.Local),
		BigCommerceUserID: "bc/account/user/9",
		LastError:         "",
	}
	update(t, s, func(tx store.Tx) error { return tx.SetUserSync(ctx, u.ID, sync) })
	got, err := getUser(t, s, u.ID)
	require.NoError(t, err)
	require.Equal(t, store.SyncState{
		State:             store.SyncSynced,
		LastSyncedAt:      store.Truncate(sync.LastSyncedAt),
		BigCommerceUserID: "bc/account/user/9",
	}, got.Sync)
	requireUTCMicros(t, got.Sync.LastSyncedAt)
	// Only Sync changed.
	got.Sync = store.SyncState{}
	require.Equal(t, u, got)

	// Back to a zero state.
	update(t, s, func(tx store.Tx) error { return tx.SetUserSync(ctx, u.ID, store.SyncState{}) })
	got, err = getUser(t, s, u.ID)
	require.NoError(t, err)
	require.Equal(t, store.SyncState{}, got.Sync)

	err = s.Update(ctx, func(tx store.Tx) error { return tx.SetUserSync(ctx, "missing", sync) })
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testUserConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s,
		newUser("user-1", "alice@example.com"),
		newUser("user-2", "ÅSA@example.com"),
		newUser("user-3", "carol@example.com"),
	)

	cases := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate id", func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("user-1", "other@example.com")) }, store.ErrConflict},
		{"same userName", func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("user-9", "alice@example.com")) }, store.ErrConflict},
		{"userName differing in ASCII case", func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("user-9", "Alice@EXAMPLE.com")) }, store.ErrConflict},
		{"userName differing in non-ASCII case", func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("user-9", "åsa@example.com")) }, store.ErrConflict},
		{"rename into a collision", func(tx store.Tx) error {
			return tx.UpdateUser(ctx, newUser("user-3", "ALICE@example.com"))
		}, store.ErrConflict},
		{"rename into a non-ASCII collision", func(tx store.Tx) error {
			return tx.UpdateUser(ctx, newUser("user-3", "åSA@EXAMPLE.COM"))
		}, store.ErrConflict},
		{"update missing user", func(tx store.Tx) error { return tx.UpdateUser(ctx, newUser("user-9", "new@example.com")) }, store.ErrNotFound},
		{"delete missing user", func(tx store.Tx) error { return tx.DeleteUser(ctx, "user-9") }, store.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx, tc.fn)
			require.ErrorIs(t, err, tc.want)
		})
	}

	// Nothing changed.
	users, total := listUsers(t, s, store.Query{Limit: -1})
	require.Equal(t, 3, total)
	require.Equal(t, []string{"user-1", "user-2", "user-3"}, userIDs(users))
	got, err := getUser(t, s, "user-3")
	require.NoError(t, err)
	require.Equal(t, "carol@example.com", got.UserName)

	// ErrConflict and ErrNotFound leave the transaction usable: the caller may
	// handle them and go on.
	update(t, s, func(tx store.Tx) error {
		err := tx.CreateUser(ctx, newUser("user-9", "ALICE@example.com"))
		require.ErrorIs(t, err, store.ErrConflict)
		err = tx.UpdateUser(ctx, newUser("user-3", "alice@example.com"))
		require.ErrorIs(t, err, store.ErrConflict)
		err = tx.UpdateUser(ctx, newUser("user-8", "h@example.com"))
		require.ErrorIs(t, err, store.ErrNotFound)
		return tx.CreateUser(ctx, newUser("user-9", "dave@example.com"))
	})
	_, err = getUser(t, s, "user-9")
	require.NoError(t, err)
}

func testGroupRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC-08", -8*3600)
	g := store.Group{
		ID:          "group-1",
		DisplayName: "Plant Market Admins",
		ExternalID:  "00g1Xyz",
		Attributes: map[string]any{
			"displayName": "Plant Market Admins",
			"urn:example:ext": map[string]any{
				"list": []any{map[string]any{"k": "v"}, 3.25},
			},
		},
		Version:  4,
		Created:  time.Date(2022, 1, 2, 3, 4, 5, 678912345, zone),
		Modified: time.Date(2022, 2, 2, 3, 4, 5, 1000, zone),
	}
	createGroups(t, s, g)
	want := g
	want.Created, want.Modified = store.Truncate(g.Created), store.Truncate(g.Modified)
	got, err := getGroup(t, s, g.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)
	requireUTCMicros(t, got.Created)

	groups, total := listGroups(t, s, store.Query{Limit: -1})
	require.Equal(t, 1, total)
	require.Equal(t, []store.Group{want}, groups)

	changed := store.Group{ID: g.ID, DisplayName: "Renamed", Version: 5, Created: want.Created, Modified: t0}
	update(t, s, func(tx store.Tx) error { return tx.UpdateGroup(ctx, changed) })
	got, err = getGroup(t, s, g.ID)
	require.NoError(t, err)
	require.Equal(t, changed, got)

	update(t, s, func(tx store.Tx) error { return tx.DeleteGroup(ctx, g.ID) })
	_, err = getGroup(t, s, g.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error { return tx.DeleteGroup(ctx, g.ID) }), store.ErrNotFound)
	require.ErrorIs(t, s.Update(ctx, func(tx store.Tx) error { return tx.UpdateGroup(ctx, changed) }), store.ErrNotFound)
}

func testGroupConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	createGroups(t, s, newGroup("group-1", "Admins"), newGroup("group-2", "ÅSA Team"), newGroup("group-3", "Others"))
	cases := []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"duplicate id", func(tx store.Tx) error { return tx.CreateGroup(ctx, newGroup("group-1", "New")) }, store.ErrConflict},
		{"displayName differing in case", func(tx store.Tx) error { return tx.CreateGroup(ctx, newGroup("group-9", "ADMINS")) }, store.ErrConflict},
		{"displayName differing in non-ASCII case", func(tx store.Tx) error { return tx.CreateGroup(ctx, newGroup("group-9", "åsa team")) }, store.ErrConflict},
		{"rename into a collision", func(tx store.Tx) error { return tx.UpdateGroup(ctx, newGroup("group-3", "admins")) }, store.ErrConflict},
		{"update missing", func(tx store.Tx) error { return tx.UpdateGroup(ctx, newGroup("group-9", "Nine")) }, store.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, s.Update(ctx, tc.fn), tc.want)
		})
	}
	// Renaming a group to another case of its own name is fine.
	update(t, s, func(tx store.Tx) error { return tx.UpdateGroup(ctx, newGroup("group-1", "ADMINS")) })
	g, err := getGroup(t, s, "group-1")
	require.NoError(t, err)
	require.Equal(t, "ADMINS", g.DisplayName)

	// The transaction stays usable after a conflict.
	update(t, s, func(tx store.Tx) error {
		require.ErrorIs(t, tx.CreateGroup(ctx, newGroup("group-9", "others")), store.ErrConflict)
		require.ErrorIs(t, tx.UpdateGroup(ctx, newGroup("group-2", "Others")), store.ErrConflict)
		return tx.CreateGroup(ctx, newGroup("group-9", "Nine"))
	})
	_, total := listGroups(t, s, store.Query{Limit: -1})
	require.Equal(t, 4, total)

	// A user and a group may share an id: ids are unique per resource type.
	err = s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, newUser("group-1", "u@example.com")) })
	require.NoError(t, err)
	require.False(t, errors.Is(err, store.ErrConflict))
}
