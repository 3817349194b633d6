package simulator

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// smallSeed is a compact account whose full answers fit in a test.
func smallSeed() *Seed {
	login := time.Date(2024, time.May, 1, 8, 0, 0, 0, time.UTC)
	return &Seed{
		Account: SeedAccount{UUID: "acc-small", Name: "Small Account"},
		Stores: []SeedStore{
			{Hash: "abc123", Name: "Plant Market", DefaultPermissions: []string{"Manage_Orders"}},
			{Hash: "def456", Name: "Garden Tools"},
		},
		Users: []SeedUser{
			{Email: "owner@example.com", FirstName: "Olivia", LastName: "Owner", Owner: true,
				Stores: []string{"abc123"}, Permissions: []string{"Manage_Users"}, LastLoginAt: &login},
			{Email: "sam@example.com", Stores: []string{"abc123", "def456"}, Locale: "de-DE", Status: StatusInactive},
		},
		Apps: []SeedApp{{Name: "Inventory Sync"}, {Name: "Order Export", Stores: []string{"def456"}}},
	}
}

func TestDocumentedQueryShapes(t *testing.T) {
	t.Run("account id and name", func(t *testing.T) {
		h := newHarness(t, Options{Seed: smallSeed()})
		r := h.gql(`query { account { id accountInfo { name } } }`, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, `{"data":{"account":{"id":"bc/account/account/acc-small","accountInfo":{"name":"Small Account"}}}}`, string(r.raw))
	})

	t.Run("stores with users and every store-user field, and apps", func(t *testing.T) {
		h := newHarness(t, Options{Seed: smallSeed()})
		r := h.gql(`query {
		  account { stores { edges { node { id name storeHash
		    users { collectionInfo { totalItems } edges { node {
		      id email firstName lastName locale lastLoginAt permissions status updatedAt
		      apps { edges { node { id name } } } } } }
		    apps { edges { node { id name } } } } } } } }`, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, `{"data":{"account":{"stores":{"edges":[
		  {"node":{"id":"bc/account/store/abc123","name":"Plant Market","storeHash":"abc123",
		    "users":{"collectionInfo":{"totalItems":2},"edges":[
		      {"node":{"id":"bc/account/user/1","email":"owner@example.com","firstName":"Olivia","lastName":"Owner",
		        "locale":"en-US","lastLoginAt":"2024-05-01T08:00:00Z","permissions":["Manage_Users"],"status":"ACTIVE",
		        "updatedAt":"2025-03-10T12:00:00Z","apps":{"edges":[{"node":{"id":"bc/account/app/1","name":"Inventory Sync"}}]}}},
		      {"node":{"id":"bc/account/user/2","email":"sam@example.com","firstName":null,"lastName":null,
		        "locale":"de-DE","lastLoginAt":null,"permissions":["Manage_Orders"],"status":"INACTIVE",
		        "updatedAt":"2025-03-10T12:00:00Z","apps":{"edges":[{"node":{"id":"bc/account/app/1","name":"Inventory Sync"}}]}}}]},
		    "apps":{"edges":[{"node":{"id":"bc/account/app/1","name":"Inventory Sync"}}]}}},
		  {"node":{"id":"bc/account/store/def456","name":"Garden Tools","storeHash":"def456",
		    "users":{"collectionInfo":{"totalItems":1},"edges":[
		      {"node":{"id":"bc/account/user/2","email":"sam@example.com","firstName":null,"lastName":null,
		        "locale":"de-DE","lastLoginAt":null,"permissions":["No_Permission_Required"],"status":"INACTIVE",
		        "updatedAt":"2025-03-10T12:00:00Z","apps":{"edges":[
		          {"node":{"id":"bc/account/app/1","name":"Inventory Sync"}},{"node":{"id":"bc/account/app/2","name":"Order Export"}}]}}}]},
		    "apps":{"edges":[{"node":{"id":"bc/account/app/1","name":"Inventory Sync"}},{"node":{"id":"bc/account/app/2","name":"Order Export"}}]}}}
		]}}}}`, string(r.raw))
	})

	t.Run("apps", func(t *testing.T) {
		h := newHarness(t, Options{Seed: smallSeed()})
		r := h.gql(`{ account { apps { edges { node { id name } } } } }`, nil)
		require.JSONEq(t, `{"data":{"account":{"apps":{"edges":[
		  {"node":{"id":"bc/account/app/1","name":"Inventory Sync"}},{"node":{"id":"bc/account/app/2","name":"Order Export"}}]}}}}`, string(r.raw))
	})

	t.Run("account users are account-level views", func(t *testing.T) {
		h := newHarness(t, Options{Seed: smallSeed()})
		d := h.ok(`{ account { users { edges { node { id email permissions status apps { edges { cursor } } } } } } }`, nil)
		require.Equal(t, []any{}, dig(t, d, "account", "users", "edges", 1, "node", "permissions"))
		require.Equal(t, "INACTIVE", dig(t, d, "account", "users", "edges", 1, "node", "status"))
		require.Equal(t, []any{}, dig(t, d, "account", "users", "edges", 0, "node", "apps", "edges"))
	})

	t.Run("users followed page by page to the end", func(t *testing.T) {
		seed := smallSeed()
		for i := range 5 {
			seed.Users = append(seed.Users, SeedUser{Email: fmt.Sprintf("user%d@example.com", i)})
		}
		h := newHarness(t, Options{Seed: seed})
		const q = `query Page($after: String) { account { users(first: 3, after: $after) {
		  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		  collectionInfo { totalItems }
		  edges { cursor node { id email firstName lastName } } } } }`
		var ids []string
		var after any
		requests := 0
		for {
			d := h.ok(q, map[string]any{"after": after})
			requests++
			conn := dig(t, d, "account", "users")
			require.EqualValues(t, 7, dig(t, conn, "collectionInfo", "totalItems"))
			edges := dig(t, conn, "edges").([]any)
			for _, e := range edges {
				ids = append(ids, dig(t, e, "node", "id").(string))
			}
			require.Equal(t, dig(t, edges[len(edges)-1], "cursor"), dig(t, conn, "pageInfo", "endCursor"))
			require.Equal(t, requests > 1, dig(t, conn, "pageInfo", "hasPreviousPage"))
			if !dig(t, conn, "pageInfo", "hasNextPage").(bool) {
				break
			}
			after = dig(t, conn, "pageInfo", "endCursor")
		}
		require.Equal(t, 3, requests)
		want := []string{}
		for i := 1; i <= 7; i++ {
			want = append(want, userGlobalID(i))
		}
		require.Equal(t, want, ids)
		require.Equal(t, 3, h.srv.Stats().Counted)
	})

	t.Run("system time follows the clock", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.clock.Advance(90 * time.Second)
		d := h.ok(`{ system { time } }`, nil)
		require.Equal(t, "2025-03-10T12:01:30Z", dig(t, d, "system", "time"))
	})
}

func TestDocumentedMutationShapes(t *testing.T) {
	h := newHarness(t, Options{Seed: smallSeed()})

	d := h.ok(`mutation { account { addUserToAccount(input: { email: "New.Person@example.com" }) { account { accountInfo { name } } } } }`, nil)
	require.Equal(t, map[string]any{"account": map[string]any{"addUserToAccount": map[string]any{
		"account": map[string]any{"accountInfo": map[string]any{"name": "Small Account"}}}}}, d)
	u, ok := userByEmail(h.srv.Snapshot(), "New.Person@example.com")
	require.True(t, ok)
	require.Equal(t, userGlobalID(3), u.ID)
	require.Equal(t, StatusInvited, u.Status)
	require.True(t, u.AddedByAPI)
	require.Empty(t, u.Stores)

	t.Run("addUserToStore by email", func(t *testing.T) {
		d := h.ok(`mutation { user { addUserToStore(input: { user: { email: "new.person@EXAMPLE.com" }, storeId: "bc/account/store/abc123" }) { storeId } } }`, nil)
		require.Equal(t, "bc/account/store/abc123", dig(t, d, "user", "addUserToStore", "storeId"))
		u, _ := userByEmail(h.srv.Snapshot(), "New.Person@example.com")
		require.Equal(t, StoreAccess{Permissions: []string{"Manage_Orders"}, Status: StatusInvited, UpdatedAt: h.clock.Now()}, u.Stores["abc123"])
	})

	t.Run("addUserToStore by id", func(t *testing.T) {
		d := h.ok(`mutation { user { addUserToStore(input: { user: { id: "bc/account/user/1" }, storeId: "bc/account/store/def456" }) { storeId } } }`, nil)
		require.Equal(t, "bc/account/store/def456", dig(t, d, "user", "addUserToStore", "storeId"))
		owner, _ := userByEmail(h.srv.Snapshot(), "owner@example.com")
		require.Equal(t, []string{"No_Permission_Required"}, owner.Stores["def456"].Permissions)
		require.Equal(t, StatusActive, owner.Stores["def456"].Status)
	})

	t.Run("removeUserFromStore", func(t *testing.T) {
		d := h.ok(`mutation { user { removeUserFromStore(input: { storeId: "bc/account/store/abc123", userId: "bc/account/user/3" }) {
		  storeId user { id email firstName lastName locale } } } }`, nil)
		require.Equal(t, map[string]any{"storeId": "bc/account/store/abc123", "user": map[string]any{
			"id": "bc/account/user/3", "email": "New.Person@example.com", "firstName": nil, "lastName": nil, "locale": nil,
		}}, dig(t, d, "user", "removeUserFromStore"))
		u, _ := userByEmail(h.srv.Snapshot(), "New.Person@example.com")
		require.NotContains(t, u.Stores, "abc123")
	})

	t.Run("removeUserFromAccount", func(t *testing.T) {
		d := h.ok(`mutation { account { removeUserFromAccount(input: { email: "new.person@example.com" }) { accountId userId } } }`, nil)
		require.Equal(t, map[string]any{"accountId": "bc/account/account/acc-small", "userId": "bc/account/user/3"},
			dig(t, d, "account", "removeUserFromAccount"))
		_, found := userByEmail(h.srv.Snapshot(), "New.Person@example.com")
		require.False(t, found)
	})

	fields := []string{}
	for _, ev := range h.srv.Log() {
		require.Empty(t, ev.Code)
		fields = append(fields, ev.Field)
	}
	require.Equal(t, []string{"addUserToAccount", "addUserToStore", "addUserToStore", "removeUserFromStore", "removeUserFromAccount"}, fields)
}

func TestNodeQueries(t *testing.T) {
	h := newHarness(t, Options{Seed: smallSeed()})
	r := h.gql(`query($ids: [ID!]!) {
	  a: node(id: "bc/account/account/acc-small") { __typename id ... on Account { accountInfo { name } } }
	  u: node(id: "bc/account/user/2") { ...userBits }
	  s: node(id: "bc/account/store/def456") { ... on Store { name storeHash } }
	  p: node(id: "bc/account/app/2") { ... on App { name } }
	  missing: node(id: "bc/account/user/99") { id }
	  malformed: node(id: "nonsense") { id }
	  nodes(ids: $ids) { __typename id }
	}
	fragment userBits on User { id email status }`, map[string]any{"ids": []any{"bc/account/store/abc123", "bc/account/user/42", "bc/account/app/1"}})
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"data":{
	  "a":{"__typename":"Account","id":"bc/account/account/acc-small","accountInfo":{"name":"Small Account"}},
	  "u":{"id":"bc/account/user/2","email":"sam@example.com","status":"INACTIVE"},
	  "s":{"name":"Garden Tools","storeHash":"def456"},
	  "p":{"name":"Order Export"},
	  "missing":null,
	  "malformed":null,
	  "nodes":[{"__typename":"Store","id":"bc/account/store/abc123"},null,{"__typename":"App","id":"bc/account/app/1"}]}}`, string(r.raw))
}

func TestIntrospection(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.ok(`{ __schema { queryType { name } mutationType { name } subscriptionType { name } }
	  __type(name: "AddUserToStoreInput") { kind inputFields { name type { kind name ofType { kind name } } } }
	  missing: __type(name: "Nope") { name } }`, nil)
	require.Equal(t, "Query", dig(t, d, "__schema", "queryType", "name"))
	require.Equal(t, "Mutation", dig(t, d, "__schema", "mutationType", "name"))
	require.Nil(t, dig(t, d, "__schema", "subscriptionType"))
	require.Equal(t, "INPUT_OBJECT", dig(t, d, "__type", "kind"))
	require.Equal(t, map[string]any{"name": "user", "type": map[string]any{"kind": "NON_NULL", "name": nil,
		"ofType": map[string]any{"kind": "INPUT_OBJECT", "name": "UserIdentityInput"}}}, dig(t, d, "__type", "inputFields", 0))
	require.Nil(t, d["missing"])

	// The full introspection query a GraphQL tool sends must work too.
	d = h.ok(`{ __schema { types { kind name fields(includeDeprecated: true) { name args { name defaultValue type { name } } type { kind name } }
	  interfaces { name } possibleTypes { name } enumValues { name } inputFields { name } }
	  directives { name locations args { name } } } }`, nil)
	require.NotEmpty(t, dig(t, d, "__schema", "types"))
}
