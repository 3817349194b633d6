package simulator

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Drift fixes that apply to both profiles.

func TestResultIDsAreStrings(t *testing.T) {
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			sch := introspectedSchema(t, newHarness(t, Options{Profile: profile}))
			for _, c := range []struct{ typ, field, want string }{
				{"RemoveUserFromAccountResult", "accountId", "String()"},
				{"RemoveUserFromAccountResult", "userId", "String()"},
				{"AddUserToStoreResult", "storeId", "String()"},
				{"RemoveUserFromStoreResult", "storeId", "String()"},
				// Genuinely ID, and the inputs the client sends stay as they were.
				{"Account", "id", "ID!()"},
				{"User", "id", "ID!()"},
				{"Query", "node", "Node(id)"},
				{"AddUserToStoreInput", "storeId", "ID!()"},
				{"AddUserToStoreInput", "user", "UserIdentityInput!()"},
				{"UserIdentityInput", "id", "ID()"},
				{"RemoveUserFromAccountInput", "userId", "ID()"},
				{"RemoveUserFromStoreInput", "storeId", "ID!()"},
				{"RemoveUserFromStoreInput", "userId", "ID!()"},
				{"AddUserToAccountInput", "email", "String!()"},
			} {
				require.Equal(t, c.want, sch[c.typ][c.field], "%s.%s", c.typ, c.field)
			}
		})
	}

	t.Run("the client's documents validate in both profiles", func(t *testing.T) {
		docs := []struct {
			query string
			vars  map[string]any
		}{
			{`mutation BridgeApply($i0: AddUserToAccountInput!) { m0: account { addUserToAccount(input: $i0) { account { id } } } }`,
				map[string]any{"i0": map[string]any{"email": "client@example.com"}}},
			{`mutation BridgeApply($i0: AddUserToStoreInput!) { m0: user { addUserToStore(input: $i0) { storeId } } }`,
				map[string]any{"i0": map[string]any{"user": map[string]any{"email": "client@example.com"}, "storeId": "bc/account/store/abc123"}}},
			{`mutation BridgeApply($i0: RemoveUserFromStoreInput!) { m0: user { removeUserFromStore(input: $i0) { storeId user { id } } } }`,
				map[string]any{"i0": map[string]any{"storeId": "bc/account/store/abc123", "userId": "bc/account/user/3"}}},
			{`mutation BridgeApply($i0: RemoveUserFromAccountInput!) { m0: account { removeUserFromAccount(input: $i0) { userId } } }`,
				map[string]any{"i0": map[string]any{"email": "client@example.com"}}},
			{`query BridgeStoreUsersMore($first: Int!, $s0: ID!, $a0: String) { s0: node(id: $s0) { ... on Store {
			  users(first: $first, after: $a0) { pageInfo { hasNextPage endCursor } collectionInfo { totalItems } edges { node { id email } } } } } }`,
				map[string]any{"first": 10, "s0": "bc/account/store/abc123"}},
		}
		for _, profile := range Profiles() {
			h := newHarness(t, Options{Profile: profile})
			for _, d := range docs {
				r := h.gql(d.query, d.vars)
				require.Equal(t, http.StatusOK, r.status)
				require.Empty(t, r.errors(), "%s: %s", profile, r.raw)
			}
			require.Equal(t, "bc/account/user/4", h.srv.Log()[0].UserID)
			_, stillThere := userByEmail(h.srv.Snapshot(), "client@example.com")
			require.False(t, stillThere)
		}
	})
}

func TestScopeNamesAreBigCommerces(t *testing.T) {
	require.Equal(t, []string{"account_read", "account_stores_read", "account_apps_read",
		"account_users_read", "account_users_write", "account_users_delete"}, AllScopes())

	h := newHarness(t, Options{Tokens: map[string][]string{
		"stores-only": {ScopeStoresRead},
		"legacy":      {LegacyScopeAccountRead},
	}})
	r := h.gqlAs("stores-only", `{ account { id } }`, nil, "")
	require.Equal(t, []string{CodeForbidden}, r.codes())
	require.Equal(t, "account_read", r.errors()[0]["extensions"].(map[string]any)["requiredScope"])
	require.Contains(t, r.errors()[0]["message"], "account_read")

	r = h.gqlAs("legacy", `{ account { id } }`, nil, "")
	require.Empty(t, r.errors(), "the old name still configures account_read: %s", r.raw)

	_, err := New(Options{Tokens: map[string][]string{"t": {"store_v2_users_read"}}})
	require.ErrorContains(t, err, "account_read, account_stores_read")
}

func TestAddUserToStoreByEmailJoinsTheAccount(t *testing.T) {
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			h := newHarness(t, Options{Profile: profile})
			h.clock.Advance(42)
			d := h.ok(`mutation { user { addUserToStore(input: {user: {email: "Newcomer@Example.com"}, storeId: "bc/account/store/def456"}) { storeId } } }`, nil)
			require.Equal(t, "bc/account/store/def456", dig(t, d, "user", "addUserToStore", "storeId"))

			u, ok := userByEmail(h.srv.Snapshot(), "Newcomer@Example.com")
			require.True(t, ok, "a non-member given by email joins the account")
			require.Equal(t, "bc/account/user/4", u.ID)
			require.Equal(t, StatusInvited, u.Status)
			require.True(t, u.AddedByAPI)
			require.Equal(t, StoreAccess{Permissions: []string{"No_Permission_Required"}, Status: StatusInvited, UpdatedAt: h.clock.Now()}, u.Stores["def456"])
			require.Len(t, u.Stores, 1)
			log := h.srv.Log()
			require.Len(t, log, 1)
			require.Equal(t, Event{At: h.clock.Now(), Request: 1, Field: "addUserToStore", Email: "Newcomer@Example.com",
				StoreHash: "def456", UserID: "bc/account/user/4", AddedToAccount: true, UserAgent: testUserAgent}, log[0])

			// It is now an ordinary member: adding again is "already", and the
			// account add is "already" too.
			r := h.gql(`mutation { user { addUserToStore(input: {user: {email: "newcomer@example.com"}, storeId: "bc/account/store/def456"}) { storeId } } }`, nil)
			require.Contains(t, r.messages()[0], "already")
			r = h.gql(`mutation { account { addUserToAccount(input: {email: "newcomer@example.com"}) { __typename } } }`, nil)
			require.Contains(t, r.messages()[0], "already")
			require.False(t, h.srv.Log()[1].AddedToAccount, "a member is not added again")

			// By id, a non-member is still refused and nothing changes.
			before := h.srv.Snapshot()
			r = h.gql(`mutation { user { addUserToStore(input: {user: {id: "bc/account/user/77"}, storeId: "bc/account/store/def456"}) { storeId } } }`, nil)
			require.Contains(t, r.messages()[0], "not in the account")
			require.Equal(t, before, h.srv.Snapshot())
			if profile == ProfileFull {
				require.Equal(t, []string{CodeUserNotFound}, r.codes())
			}

			// A malformed email adds nobody.
			r = h.gql(`mutation { user { addUserToStore(input: {user: {email: "not an email"}, storeId: "bc/account/store/def456"}) { storeId } } }`, nil)
			require.Contains(t, r.messages()[0], "invalid")
			require.Equal(t, before, h.srv.Snapshot())
			// An unknown store adds nobody either.
			r = h.gql(`mutation { user { addUserToStore(input: {user: {email: "second@example.com"}, storeId: "bc/account/store/zzz999"}) { storeId } } }`, nil)
			require.Contains(t, r.messages()[0], "does not exist")
			require.Equal(t, before, h.srv.Snapshot())
		})
	}

	t.Run("full: the invented user field names the new user", func(t *testing.T) {
		h := newHarness(t, Options{})
		d := h.ok(`mutation { user { addUserToStore(input: {user: {email: "fresh@example.com"}, storeId: "bc/account/store/abc123"}) { storeId user { id email status } } } }`, nil)
		require.Equal(t, map[string]any{"id": "bc/account/user/4", "email": "fresh@example.com", "status": "INVITED"},
			dig(t, d, "user", "addUserToStore", "user"))
	})
}

func TestUserAgentIsRecorded(t *testing.T) {
	h := newHarness(t, Options{})
	h.ok(addOne, nil)
	send := func(ua []string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url,
			bytes.NewReader([]byte(`{"query":"mutation { account { addUserToAccount(input: {email: \"ua@example.com\"}) { __typename } } }"}`)))
		require.NoError(t, err)
		req.Header.Set("X-Auth-Token", DefaultToken)
		req.Header["User-Agent"] = ua
		resp, err := h.ts.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	send([]string{"scim-bridge/1.2.3 (+https://example.com)"})
	send([]string{""}) // net/http sends no User-Agent for an empty value
	h.send(http.MethodPost, h.url, "wrong", []byte(`{}`))

	require.Equal(t, map[string]int{testUserAgent: 2, "scim-bridge/1.2.3 (+https://example.com)": 1, "": 1}, h.srv.Stats().UserAgents)
	log := h.srv.Log()
	require.Len(t, log, 3)
	require.Equal(t, testUserAgent, log[0].UserAgent)
	require.Equal(t, "scim-bridge/1.2.3 (+https://example.com)", log[1].UserAgent)
	require.Empty(t, log[2].UserAgent)
}
