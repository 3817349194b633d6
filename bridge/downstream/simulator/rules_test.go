package simulator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBusinessRuleErrors(t *testing.T) {
	// Default seed: user 1 owner@ (owner, all stores), 2 alice@ (abc123),
	// 3 bob@ (abc123, def456); stores abc123, def456, ghi789.
	tests := []struct {
		name, mutation, code, field string
	}{
		{"add: already in the account, other case", `account { addUserToAccount(input: {email: "ALICE@example.com"}) { __typename } }`, CodeUserAlreadyExists, "addUserToAccount"},
		{"add: no @", `account { addUserToAccount(input: {email: "alice.example.com"}) { __typename } }`, CodeInvalidInput, "addUserToAccount"},
		{"add: two @", `account { addUserToAccount(input: {email: "a@b@example.com"}) { __typename } }`, CodeInvalidInput, "addUserToAccount"},
		{"add: empty local part", `account { addUserToAccount(input: {email: "@example.com"}) { __typename } }`, CodeInvalidInput, "addUserToAccount"},
		{"add: whitespace", `account { addUserToAccount(input: {email: "a b@example.com"}) { __typename } }`, CodeInvalidInput, "addUserToAccount"},
		{"remove: unknown email", `account { removeUserFromAccount(input: {email: "nobody@example.com"}) { userId } }`, CodeUserNotFound, "removeUserFromAccount"},
		{"remove: unknown id", `account { removeUserFromAccount(input: {userId: "bc/account/user/77"}) { userId } }`, CodeUserNotFound, "removeUserFromAccount"},
		{"remove: malformed id", `account { removeUserFromAccount(input: {userId: "77"}) { userId } }`, CodeInvalidInput, "removeUserFromAccount"},
		{"remove: neither email nor id", `account { removeUserFromAccount(input: {}) { userId } }`, CodeInvalidInput, "removeUserFromAccount"},
		{"remove: both email and id", `account { removeUserFromAccount(input: {email: "bob@example.com", userId: "bc/account/user/3"}) { userId } }`, CodeInvalidInput, "removeUserFromAccount"},
		{"remove: explicit nulls count as not given", `account { removeUserFromAccount(input: {email: null, userId: null}) { userId } }`, CodeInvalidInput, "removeUserFromAccount"},
		{"remove: the owner", `account { removeUserFromAccount(input: {email: "owner@example.com"}) { userId } }`, CodeCannotRemoveOwner, "removeUserFromAccount"},
		{"add to store: unknown store", `user { addUserToStore(input: {user: {email: "alice@example.com"}, storeId: "bc/account/store/zzz999"}) { storeId } }`, CodeStoreNotFound, "addUserToStore"},
		{"add to store: malformed store id", `user { addUserToStore(input: {user: {email: "alice@example.com"}, storeId: "abc123"}) { storeId } }`, CodeInvalidInput, "addUserToStore"},
		{"add to store: bad email", `user { addUserToStore(input: {user: {email: "nobody.example.com"}, storeId: "bc/account/store/def456"}) { storeId } }`, CodeInvalidInput, "addUserToStore"},
		{"add to store: unknown user id", `user { addUserToStore(input: {user: {id: "bc/account/user/99"}, storeId: "bc/account/store/def456"}) { storeId } }`, CodeUserNotFound, "addUserToStore"},
		{"add to store: already there", `user { addUserToStore(input: {user: {id: "bc/account/user/2"}, storeId: "bc/account/store/abc123"}) { storeId } }`, CodeUserAlreadyInStore, "addUserToStore"},
		{"add to store: no user identity", `user { addUserToStore(input: {user: {}, storeId: "bc/account/store/abc123"}) { storeId } }`, CodeInvalidInput, "addUserToStore"},
		{"add to store: both identities", `user { addUserToStore(input: {user: {email: "alice@example.com", id: "bc/account/user/2"}, storeId: "bc/account/store/abc123"}) { storeId } }`, CodeInvalidInput, "addUserToStore"},
		{"add to store: unknown store checked before unknown user", `user { addUserToStore(input: {user: {email: "nobody@example.com"}, storeId: "bc/account/store/zzz999"}) { storeId } }`, CodeStoreNotFound, "addUserToStore"},
		{"remove from store: unknown store", `user { removeUserFromStore(input: {storeId: "bc/account/store/zzz999", userId: "bc/account/user/2"}) { storeId } }`, CodeStoreNotFound, "removeUserFromStore"},
		{"remove from store: unknown user", `user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/99"}) { storeId } }`, CodeUserNotFound, "removeUserFromStore"},
		{"remove from store: not in store", `user { removeUserFromStore(input: {storeId: "bc/account/store/ghi789", userId: "bc/account/user/2"}) { storeId } }`, CodeUserNotInStore, "removeUserFromStore"},
		{"remove from store: the owner", `user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/1"}) { storeId } }`, CodeCannotRemoveOwner, "removeUserFromStore"},
		{"remove from store: malformed user id", `user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/01"}) { storeId } }`, CodeInvalidInput, "removeUserFromStore"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			before := h.srv.Snapshot()
			r := h.gql(`mutation { op: `+tc.mutation+` }`, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, []string{tc.code}, r.codes(), "body: %s", r.raw)
			require.Equal(t, []any{"op", tc.field}, r.errors()[0]["path"])
			require.Nil(t, dig(t, r.data(), "op", tc.field))
			require.NotContains(t, r.errors()[0]["message"], "example.com", "error messages never carry emails")
			require.Equal(t, before, h.srv.Snapshot(), "a failed mutation changes nothing")
			log := h.srv.Log()
			require.Len(t, log, 1)
			require.Equal(t, tc.field, log[0].Field)
			require.Equal(t, tc.code, log[0].Code)
			require.Equal(t, h.clock.Now(), log[0].At)
		})
	}
}

func TestRemovingFromAccountRemovesStoreAccess(t *testing.T) {
	h := newHarness(t, Options{})
	bob, _ := userByEmail(h.srv.Snapshot(), "bob@example.com")
	require.Len(t, bob.Stores, 2)

	h.ok(`mutation { account { removeUserFromAccount(input: {email: "Bob@Example.com"}) { userId } } }`, nil)
	d := h.ok(`{ account { stores { edges { node { storeHash users { edges { node { email } } } } } } } }`, nil)
	for _, e := range dig(t, d, "account", "stores", "edges").([]any) {
		for _, u := range dig(t, e, "node", "users", "edges").([]any) {
			require.NotEqual(t, "bob@example.com", dig(t, u, "node", "email"))
		}
	}

	// Re-adding the email gives a new id, INVITED, without store access.
	h.clock.Advance(5)
	h.ok(`mutation { account { addUserToAccount(input: {email: "bob@example.com"}) { __typename } } }`, nil)
	again, ok := userByEmail(h.srv.Snapshot(), "bob@example.com")
	require.True(t, ok)
	require.Equal(t, "bc/account/user/4", again.ID)
	require.Equal(t, StatusInvited, again.Status)
	require.Empty(t, again.Stores)
	require.Equal(t, h.clock.Now(), again.UpdatedAt)

	// The stale id is gone for good.
	r := h.gql(`mutation { user { addUserToStore(input: {user: {id: "bc/account/user/3"}, storeId: "bc/account/store/abc123"}) { storeId } } }`, nil)
	require.Equal(t, []string{CodeUserNotFound}, r.codes())
}

func TestStoreUsersShowInvitedUsers(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(`mutation { a: account { addUserToAccount(input: {email: "new@example.com"}) { __typename } }
	  s: user { addUserToStore(input: {user: {email: "new@example.com"}, storeId: "bc/account/store/ghi789"}) { storeId } } }`, nil)
	d := h.ok(`{ node(id: "bc/account/store/ghi789") { ... on Store { users { edges { node { email status permissions } } } } } }`, nil)
	require.Equal(t, []any{
		map[string]any{"node": map[string]any{"email": "owner@example.com", "status": "ACTIVE", "permissions": toAny(OwnerPermissions())}},
		map[string]any{"node": map[string]any{"email": "new@example.com", "status": "INVITED", "permissions": []any{"No_Permission_Required"}}},
	}, dig(t, d, "node", "users", "edges"))
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestScopes(t *testing.T) {
	h := newHarness(t, Options{Tokens: map[string][]string{
		"read-only":  {ScopeAccountRead, ScopeStoresRead, ScopeAppsRead, ScopeUsersRead},
		"no-users":   {ScopeAccountRead, ScopeStoresRead},
		"write-only": {ScopeUsersWrite},
		"nothing":    {},
	}})

	t.Run("read-only token cannot mutate", func(t *testing.T) {
		r := h.gqlAs("read-only", `mutation { a: account { addUserToAccount(input: {email: "x@example.com"}) { __typename } }
		  r: account { removeUserFromAccount(input: {email: "bob@example.com"}) { userId } } }`, nil, "")
		require.Equal(t, []string{CodeForbidden, CodeForbidden}, r.codes())
		require.Equal(t, ScopeUsersWrite, r.errors()[0]["extensions"].(map[string]any)["requiredScope"])
		require.Equal(t, ScopeUsersDelete, r.errors()[1]["extensions"].(map[string]any)["requiredScope"])
		require.Len(t, h.srv.Snapshot().Users, 3)
		log := h.srv.Log()
		require.Equal(t, CodeForbidden, log[len(log)-1].Code)
	})

	t.Run("missing users scope nulls the connection and, by non-null rules, data", func(t *testing.T) {
		r := h.gqlAs("no-users", `{ account { id users { edges { cursor } } } }`, nil, "")
		require.Equal(t, []string{CodeForbidden}, r.codes())
		require.Equal(t, []any{"account", "users"}, r.errors()[0]["path"])
		require.Nil(t, r.body["data"])

		d := h.gqlAs("no-users", `{ account { id stores { edges { node { name } } } } u: node(id: "bc/account/user/1") { id } }`, nil, "")
		require.Equal(t, []string{CodeForbidden}, d.codes())
		require.Equal(t, []any{"u"}, d.errors()[0]["path"])
		require.Nil(t, d.data()["u"])
		require.Equal(t, "Plant Market", dig(t, d.data(), "account", "stores", "edges", 0, "node", "name"))
	})

	t.Run("write-only token can add but not read", func(t *testing.T) {
		r := h.gqlAs("write-only", `mutation { account { addUserToAccount(input: {email: "w@example.com"}) { account { accountInfo { name } } } } }`, nil, "")
		require.Empty(t, r.errors(), "mutation payloads need no read scope")
		r = h.gqlAs("write-only", `{ account { id } }`, nil, "")
		require.Equal(t, []string{CodeForbidden}, r.codes())
		require.Nil(t, r.body["data"])
	})

	t.Run("a token without scopes is still authenticated", func(t *testing.T) {
		r := h.gqlAs("nothing", `{ system { time } }`, nil, "")
		require.Equal(t, http.StatusOK, r.status)
		require.Empty(t, r.errors())
	})

	t.Run("unknown scope names are rejected", func(t *testing.T) {
		_, err := New(Options{Tokens: map[string][]string{"t": {"account_users_reed"}}})
		require.ErrorContains(t, err, `unknown scope "account_users_reed"`)
	})

	t.Run("limiting the default token", func(t *testing.T) {
		h := newHarness(t, Options{Token: "main", Tokens: map[string][]string{"main": {ScopeAccountRead}}})
		r := h.gqlAs("main", `{ account { id stores { edges { cursor } } } }`, nil, "")
		require.Equal(t, []string{CodeForbidden}, r.codes())
	})
}
