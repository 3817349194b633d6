package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// documented starts a documented-profile harness.
func documented(t *testing.T, opts Options) *harness {
	t.Helper()
	opts.Profile = ProfileDocumented
	return newHarness(t, opts)
}

// keyAnywhere reports whether key appears as an object key anywhere in v.
func keyAnywhere(v any, key string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if k == key || keyAnywhere(c, key) {
				return true
			}
		}
	case []any:
		for _, c := range v {
			if keyAnywhere(c, key) {
				return true
			}
		}
	}
	return false
}

// messages lists the message of every error, in order.
func (r *response) messages() []string {
	var out []string
	for _, e := range r.errors() {
		m, _ := e["message"].(string)
		out = append(out, m)
	}
	return out
}

// rateHeaderNames are every header BigCommerce's rate limiting sends.
var rateHeaderNames = []string{
	"X-Rate-Limit-Time-Window-Ms", "X-Rate-Limit-Time-Reset-Ms",
	"X-Rate-Limit-Requests-Quota", "X-Rate-Limit-Requests-Left", "X-Retry-After",
}

func requireNoRateHeaders(t *testing.T, r *response) {
	t.Helper()
	for _, n := range rateHeaderNames {
		require.Empty(t, r.header.Get(n), "header %s", n)
	}
}

func TestProfileOption(t *testing.T) {
	require.Equal(t, []string{ProfileFull, ProfileDocumented}, Profiles())

	for _, p := range []string{"", ProfileFull} {
		srv, err := New(Options{Profile: p})
		require.NoError(t, err)
		require.Equal(t, ProfileFull, srv.Profile())
		require.Equal(t, DefaultMaxPageSize, srv.MaxPageSize())
	}
	srv, err := New(Options{Profile: ProfileDocumented})
	require.NoError(t, err)
	require.Equal(t, ProfileDocumented, srv.Profile())
	require.Equal(t, DocumentedMaxPageSize, srv.MaxPageSize())
	srv, err = New(Options{Profile: ProfileDocumented, MaxPageSize: 20})
	require.NoError(t, err)
	require.Equal(t, 20, srv.MaxPageSize())

	_, err = New(Options{Profile: "generous"})
	require.ErrorContains(t, err, `unknown profile "generous"`)
	require.ErrorContains(t, err, "full, documented")
	var zero Server
	require.Equal(t, ProfileFull, zero.Profile(), "the zero value is the full profile")

	for _, p := range Profiles() {
		sdl, err := SDLFor(p)
		require.NoError(t, err)
		_, err = gqlparser.LoadSchema(&ast.Source{Name: p, Input: sdl})
		require.NoError(t, err, "profile %s", p)
	}
	full, _ := SDLFor("")
	require.Equal(t, SDL(), full)
	_, err = SDLFor("nope")
	require.Error(t, err)
}

func TestDocumentedOneMutationPerDocument(t *testing.T) {
	tests := []struct{ name, query string }{
		{"two aliased namespace fields", "mutation {" + addUserMutation("a", "one@example.com") + addUserMutation("b", "two@example.com") + "}"},
		{"two fields in one namespace", `mutation { account {
		  a: addUserToAccount(input: {email: "one@example.com"}) { __typename }
		  b: addUserToAccount(input: {email: "two@example.com"}) { __typename } } }`},
		{"account and store in one document", `mutation {
		  a: account { addUserToAccount(input: {email: "one@example.com"}) { __typename } }
		  s: user { addUserToStore(input: {user: {email: "one@example.com"}, storeId: "bc/account/store/abc123"}) { storeId } } }`},
		{"one field spread twice", `mutation { account { ...Add ...Add } } fragment Add on AccountMutations {
		  addUserToAccount(input: {email: "one@example.com"}) { __typename } }`},
		{"a failing and a harmless field", `mutation {
		  a: user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/2"}) { storeId } }
		  b: account { removeUserFromAccount(input: {email: "nobody@example.com"}) { userId } } }`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := documented(t, Options{})
			before := h.srv.Snapshot()
			r := h.gql(tc.query, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.JSONEq(t, `{"errors":[{"message":"This request is not supported."}]}`, string(r.raw))
			msg := strings.ToLower(r.messages()[0])
			for _, word := range []string{"mutation", "complexity", "limit", "too many", "exceed"} {
				require.NotContains(t, msg, word)
			}
			require.Equal(t, before, h.srv.Snapshot(), "nothing ran")
			require.Empty(t, h.srv.Log(), "nothing ran")
			st := h.srv.Stats()
			require.Equal(t, 1, st.Refused)
			require.Equal(t, 1, st.Counted, "the refusal counts against the rate limit")
			require.Empty(t, st.Operations)
			require.Equal(t, DefaultRateLimit-1, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
		})
	}

	t.Run("one mutation field runs", func(t *testing.T) {
		h := documented(t, Options{})
		h.ok("mutation {"+addUserMutation("a", "one@example.com")+"}", nil)
		_, ok := userByEmail(h.srv.Snapshot(), "one@example.com")
		require.True(t, ok)
	})

	t.Run("the full profile runs both", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.ok("mutation {"+addUserMutation("a", "one@example.com")+addUserMutation("b", "two@example.com")+"}", nil)
		require.Len(t, h.srv.Log(), 2)
	})
}

func TestDocumentedPaging(t *testing.T) {
	seed := smallSeed()
	for i := range 58 {
		seed.Users = append(seed.Users, SeedUser{Email: fmt.Sprintf("page%02d@example.com", i)})
	}
	// Users 1..60.
	h := documented(t, Options{Seed: seed})

	t.Run("default page size 10", func(t *testing.T) {
		d := h.ok(`{ account { users { edges { node { id } } pageInfo { hasNextPage } collectionInfo { totalItems } } } }`, nil)
		require.Len(t, dig(t, d, "account", "users", "edges"), 10)
		require.Equal(t, true, dig(t, d, "account", "users", "pageInfo", "hasNextPage"))
		require.EqualValues(t, 60, dig(t, d, "account", "users", "collectionInfo", "totalItems"))
	})

	t.Run("first 50 is the largest page", func(t *testing.T) {
		d := h.ok(`query($after: String) { account { users(first: 50, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`, nil)
		require.Len(t, dig(t, d, "account", "users", "edges"), 50)
		end := dig(t, d, "account", "users", "pageInfo", "endCursor")
		d = h.ok(`query($after: String) { account { users(first: 50, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } }`, map[string]any{"after": end})
		require.Len(t, dig(t, d, "account", "users", "edges"), 10)
		require.Equal(t, false, dig(t, d, "account", "users", "pageInfo", "hasNextPage"))
	})

	refused := []struct{ name, query string }{
		{"account users", `{ account { users(first: 51) { edges { node { id } } } } }`},
		{"stores", `{ account { stores(first: 1000) { edges { node { id } } } } }`},
		{"a store's users", `{ account { stores { edges { node { users(first: 51) { edges { node { id } } } } } } } }`},
		{"apps", `{ account { apps(first: 51) { edges { node { id } } } } }`},
	}
	for _, tc := range refused {
		t.Run("first above 50 is refused: "+tc.name, func(t *testing.T) {
			r := h.gql(tc.query, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.Len(t, r.errors(), 1, "body: %s", r.raw)
			e := r.errors()[0]
			require.Contains(t, e["message"], "first must be between 0 and 50")
			require.NotContains(t, e, "extensions")
			require.NotEmpty(t, e["path"], "a read's field error keeps its path")
			require.Contains(t, r.body, "data")
			require.Nil(t, r.body["data"], "the connections are non-null, so the error nulls data")
		})
	}

	t.Run("MaxPageSize lowers the largest page", func(t *testing.T) {
		h := documented(t, Options{Seed: seed, MaxPageSize: 5})
		require.Len(t, dig(t, h.ok(`{ account { users(first: 5) { edges { cursor } } } }`, nil), "account", "users", "edges"), 5)
		require.Len(t, dig(t, h.ok(`{ account { users { edges { cursor } } } }`, nil), "account", "users", "edges"), 5)
		r := h.gql(`{ account { users(first: 6) { edges { cursor } } } }`, nil)
		require.Contains(t, r.messages()[0], "between 0 and 5")
	})

	backward := []struct{ name, query string }{
		{"last on account users", `{ account { users(last: 2) { edges { cursor } } } }`},
		{"before on account users", `{ account { users(first: 2, before: "YmMvYWNjb3VudC91c2VyLzM") { edges { cursor } } } }`},
		{"last on stores", `{ account { stores(last: 1) { edges { cursor } } } }`},
		{"last on a store's users", `{ account { stores { edges { node { users(last: 1) { edges { cursor } } } } } } }`},
		{"before on apps", `{ account { apps(before: "x") { edges { cursor } } } }`},
		{"last on a user's apps", `{ account { stores { edges { node { users { edges { node { apps(last: 1) { edges { cursor } } } } } } } } } }`},
		{"last through a variable", `query($n: Int) { account { users(last: $n) { edges { cursor } } } }`},
	}
	for _, tc := range backward {
		t.Run("backward paging is a validation error: "+tc.name, func(t *testing.T) {
			before := h.srv.Stats().Refused
			r := h.gql(tc.query, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.NotContains(t, r.body, "data")
			require.NotEmpty(t, r.errors())
			require.Contains(t, strings.Join(r.messages(), "\n"), "Unknown argument")
			require.False(t, keyAnywhere(r.body, "extensions"))
			require.False(t, keyAnywhere(r.body, "path"))
			require.Equal(t, before+1, h.srv.Stats().Refused)
		})
	}

	t.Run("the full profile clamps and pages backward", func(t *testing.T) {
		h := newHarness(t, Options{Seed: seed})
		d := h.ok(`{ account { a: users(first: 51) { edges { cursor } } b: users(last: 2) { edges { node { id } } } } }`, nil)
		require.Len(t, dig(t, d, "account", "a", "edges"), 51)
		require.Equal(t, "bc/account/user/59", dig(t, d, "account", "b", "edges", 0, "node", "id"))
	})
}

func TestDocumentedNode(t *testing.T) {
	h := documented(t, Options{Seed: smallSeed()})
	r := h.gql(`query($ids: [ID!]!) {
	  s: node(id: "bc/account/store/abc123") { __typename id ... on Store { name } }
	  u: node(id: "bc/account/user/2") { __typename id ... on AccountUser { email firstName lastName } }
	  a: node(id: "bc/account/account/acc-small") { __typename id }
	  p: node(id: "bc/account/app/2") { ... on App { name } }
	  nodes(ids: $ids) { __typename id }
	}`, map[string]any{"ids": []any{"bc/account/store/def456", "bc/account/user/1", "bc/account/app/1"}})
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"data":{
	  "s":null,
	  "u":{"__typename":"AccountUser","id":"bc/account/user/2","email":"sam@example.com","firstName":null,"lastName":null},
	  "a":{"__typename":"Account","id":"bc/account/account/acc-small"},
	  "p":{"name":"Order Export"},
	  "nodes":[null,{"__typename":"AccountUser","id":"bc/account/user/1"},{"__typename":"App","id":"bc/account/app/1"}]}}`, string(r.raw))

	t.Run("the client's store continuation document validates and resolves to null", func(t *testing.T) {
		d := h.ok(`query More($first: Int!, $s0: ID!, $a0: String) {
		  s0: node(id: $s0) { ... on Store { users(first: $first, after: $a0) { pageInfo { hasNextPage endCursor }
		    collectionInfo { totalItems } edges { node { id email firstName lastName locale status lastLoginAt updatedAt permissions } } } } } }`,
			map[string]any{"first": 10, "s0": "bc/account/store/abc123"})
		require.Equal(t, map[string]any{"s0": nil}, d)
	})

	t.Run("even without the stores scope", func(t *testing.T) {
		h := documented(t, Options{Tokens: map[string][]string{"users-only": {ScopeUsersRead}}})
		r := h.gqlAs("users-only", `{ node(id: "bc/account/store/abc123") { id } }`, nil, "")
		require.JSONEq(t, `{"data":{"node":null}}`, string(r.raw))
	})

	t.Run("the full profile resolves stores", func(t *testing.T) {
		h := newHarness(t, Options{Seed: smallSeed()})
		d := h.ok(`{ node(id: "bc/account/store/abc123") { ... on Store { name } } }`, nil)
		require.Equal(t, "Plant Market", dig(t, d, "node", "name"))
	})
}

func TestDocumentedAccountUsersHaveFourFields(t *testing.T) {
	h := documented(t, Options{Seed: smallSeed()})
	d := h.ok(`{ account { id users { edges { node { id email firstName lastName } } } } }`, nil)
	require.Equal(t, map[string]any{"id": "bc/account/user/1", "email": "owner@example.com", "firstName": "Olivia", "lastName": "Owner"},
		dig(t, d, "account", "users", "edges", 0, "node"))

	for _, field := range []string{"permissions", "status", "lastLoginAt", "locale", "updatedAt", "apps { edges { cursor } }"} {
		t.Run(field, func(t *testing.T) {
			r := h.gql(`{ account { users { edges { node { id `+field+` } } } } }`, nil)
			require.NotContains(t, r.body, "data")
			require.Contains(t, r.messages()[0], `on type "AccountUser"`)
		})
	}

	t.Run("a store's users keep the documented field list", func(t *testing.T) {
		full := newHarness(t, Options{Seed: smallSeed()})
		const q = `query {
		  account { stores { edges { node { id name storeHash
		    users { collectionInfo { totalItems } edges { node {
		      id email firstName lastName locale lastLoginAt permissions status updatedAt
		      apps { edges { node { id name } } } } } }
		    apps { edges { node { id name } } } } } } } }`
		r := h.gql(q, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.Empty(t, r.errors(), "body: %s", r.raw)
		require.JSONEq(t, string(full.gql(q, nil).raw), string(r.raw), "the documented shape answers as in the full profile")
	})

	t.Run("collectionInfo only on users connections", func(t *testing.T) {
		for _, q := range []string{
			`{ account { stores { collectionInfo { totalItems } } } }`,
			`{ account { apps { collectionInfo { totalItems } } } }`,
		} {
			r := h.gql(q, nil)
			require.Contains(t, r.messages()[0], `Cannot query field "collectionInfo"`, "query %s", q)
		}
	})
}

func TestMutationResultShapes(t *testing.T) {
	const (
		addAccount  = `mutation { account { addUserToAccount(input: {email: "shape@example.com"}) { %s } } }`
		addStore    = `mutation { user { addUserToStore(input: {user: {email: "bob@example.com"}, storeId: "bc/account/store/ghi789"}) { %s } } }`
		removeStore = `mutation { user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/2"}) { %s } } }`
		removeAcct  = `mutation { account { removeUserFromAccount(input: {email: "bob@example.com"}) { %s } } }`
	)
	tests := []struct {
		name, doc, selection string
		documentedOK         bool
		want                 string // JSON of the mutation field when it runs
	}{
		{"addUserToAccount account", addAccount, `account { accountInfo { name } }`, true, `{"account":{"accountInfo":{"name":"Simulated Account"}}}`},
		{"addUserToAccount user (invented)", addAccount, `user { id email status }`, false, `{"user":{"id":"bc/account/user/4","email":"shape@example.com","status":"INVITED"}}`},
		{"removeUserFromAccount", removeAcct, `accountId userId`, true, `{"accountId":"bc/account/account/` + DefaultAccountUUID + `","userId":"bc/account/user/3"}`},
		{"addUserToStore storeId", addStore, `storeId`, true, `{"storeId":"bc/account/store/ghi789"}`},
		{"addUserToStore user (invented)", addStore, `storeId user { id email }`, false, `{"storeId":"bc/account/store/ghi789","user":{"id":"bc/account/user/3","email":"bob@example.com"}}`},
		{"removeUserFromStore", removeStore, `storeId user { id email firstName lastName locale }`, true,
			`{"storeId":"bc/account/store/abc123","user":{"id":"bc/account/user/2","email":"alice@example.com","firstName":"Alice","lastName":"Anders","locale":"en-GB"}}`},
	}
	for _, tc := range tests {
		for _, profile := range Profiles() {
			t.Run(profile+"/"+tc.name, func(t *testing.T) {
				h := newHarness(t, Options{Profile: profile})
				r := h.gql(fmt.Sprintf(tc.doc, tc.selection), nil)
				require.Equal(t, http.StatusOK, r.status)
				if profile == ProfileDocumented && !tc.documentedOK {
					require.NotContains(t, r.body, "data")
					require.Contains(t, r.messages()[0], `Cannot query field "user"`)
					return
				}
				require.Empty(t, r.errors(), "body: %s", r.raw)
				var field any
				for _, ns := range r.data() {
					for _, v := range ns.(map[string]any) {
						field = v
					}
				}
				got, err := json.Marshal(field)
				require.NoError(t, err)
				require.JSONEq(t, tc.want, string(got))
			})
		}
	}
}

func TestDocumentedErrorsCarryMessagesOnly(t *testing.T) {
	type check struct {
		name    string
		prepare func(h *harness)
		send    func(h *harness) *response
		status  int
		keyword string // a word the message must contain
		path    bool   // whether the error keeps a path
	}
	mutate := func(q string) func(h *harness) *response {
		return func(h *harness) *response { return h.gql("mutation { op: "+q+" }", nil) }
	}
	query := func(q string) func(h *harness) *response {
		return func(h *harness) *response { return h.gql(q, nil) }
	}
	checks := []check{
		{name: "401", send: func(h *harness) *response {
			return h.send(http.MethodPost, h.url, "bad", []byte(`{"query":"{ system { time } }"}`))
		},
			status: http.StatusUnauthorized, keyword: "X-Auth-Token"},
		{name: "404 account", send: func(h *harness) *response {
			return h.send(http.MethodPost, h.ts.URL+"/accounts/other/graphql", DefaultToken, []byte(`{"query":"{ system { time } }"}`))
		}, status: http.StatusNotFound, keyword: "not found"},
		{name: "405", send: func(h *harness) *response { return h.send(http.MethodGet, h.url, DefaultToken, nil) }, status: http.StatusMethodNotAllowed},
		{name: "400", send: func(h *harness) *response { return h.send(http.MethodPost, h.url, DefaultToken, []byte(`[]`)) }, status: http.StatusBadRequest},
		{name: "429", prepare: func(h *harness) { h.srv.SetRateLimit(1, time.Hour); h.gql(`{ system { time } }`, nil) },
			send: query(`{ system { time } }`), status: http.StatusTooManyRequests, keyword: "rate limit"},
		{name: "injected 5xx", prepare: func(h *harness) { h.srv.FailNext(1, http.StatusBadGateway) },
			send: query(`{ system { time } }`), status: http.StatusBadGateway},
		{name: "parse error", send: query(`{ account {`), status: http.StatusOK},
		{name: "validation error", send: query(`{ account { nope } }`), status: http.StatusOK, keyword: "Cannot query field"},
		{name: "complexity", prepare: func(h *harness) {}, send: func(h *harness) *response {
			return h.gql(`{ account { stores(first: 50) { edges { node { users(first: 50) { edges { node { apps(first: 50) { edges { node { id name } } } } } } } } } } }`, nil)
		}, status: http.StatusOK, keyword: "complexity"},
		{name: "missing scope on a read", send: func(h *harness) *response {
			return h.gqlAs("no-users", `{ account { id users { edges { cursor } } } }`, nil, "")
		}, status: http.StatusOK, keyword: "scope", path: true},
		{name: "missing scope on a mutation", send: func(h *harness) *response {
			return h.gqlAs("no-users", `mutation { account { addUserToAccount(input: {email: "x@example.com"}) { __typename } } }`, nil, "")
		}, status: http.StatusOK, keyword: "scope"},
		{name: "already in the account", send: mutate(`account { addUserToAccount(input: {email: "alice@example.com"}) { __typename } }`), status: http.StatusOK, keyword: "already"},
		{name: "already in the store", send: mutate(`user { addUserToStore(input: {user: {email: "alice@example.com"}, storeId: "bc/account/store/abc123"}) { storeId } }`), status: http.StatusOK, keyword: "already"},
		{name: "remove unknown email", send: mutate(`account { removeUserFromAccount(input: {email: "ghost@example.com"}) { userId } }`), status: http.StatusOK, keyword: "not found"},
		{name: "remove unknown id", send: mutate(`account { removeUserFromAccount(input: {userId: "bc/account/user/99"}) { userId } }`), status: http.StatusOK, keyword: "not in the account"},
		{name: "add to store by id of a non-member", send: mutate(`user { addUserToStore(input: {user: {id: "bc/account/user/99"}, storeId: "bc/account/store/abc123"}) { storeId } }`), status: http.StatusOK, keyword: "not in the account"},
		{name: "unknown store", send: mutate(`user { addUserToStore(input: {user: {email: "alice@example.com"}, storeId: "bc/account/store/zzz999"}) { storeId } }`), status: http.StatusOK, keyword: "does not exist"},
		{name: "not in the store", send: mutate(`user { removeUserFromStore(input: {storeId: "bc/account/store/ghi789", userId: "bc/account/user/2"}) { storeId } }`), status: http.StatusOK, keyword: "no access"},
		{name: "the owner", send: mutate(`account { removeUserFromAccount(input: {email: "owner@example.com"}) { userId } }`), status: http.StatusOK, keyword: "owner"},
		{name: "bad email", send: mutate(`account { addUserToAccount(input: {email: "nope"}) { __typename } }`), status: http.StatusOK, keyword: "invalid"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			h := documented(t, Options{Tokens: map[string][]string{"no-users": {ScopeAccountRead, ScopeStoresRead}}})
			if c.prepare != nil {
				c.prepare(h)
			}
			r := c.send(h)
			require.Equal(t, c.status, r.status, "body: %s", r.raw)
			require.NotEmpty(t, r.errors(), "body: %s", r.raw)
			require.False(t, keyAnywhere(r.body, "extensions"), "body: %s", r.raw)
			for _, e := range r.errors() {
				if c.path {
					require.Contains(t, e, "path")
				} else {
					require.NotContains(t, e, "path", "body: %s", r.raw)
				}
				if r.status != http.StatusOK || !c.path {
					require.NotContains(t, e, "locations", "body: %s", r.raw)
				}
			}
			if c.keyword != "" {
				require.Contains(t, strings.Join(r.messages(), "\n"), c.keyword)
			}
		})
	}

	t.Run("the log keeps the simulator's codes", func(t *testing.T) {
		h := documented(t, Options{})
		h.gql(`mutation { account { addUserToAccount(input: {email: "alice@example.com"}) { __typename } } }`, nil)
		require.Equal(t, CodeUserAlreadyExists, h.srv.Log()[0].Code)
		require.Equal(t, 1, h.srv.Stats().FieldErrors)
	})
}

func TestHeaderless429And5xx(t *testing.T) {
	t.Run("documented: injected 5xx carry no rate-limit headers", func(t *testing.T) {
		h := documented(t, Options{})
		h.srv.FailNext(1, http.StatusServiceUnavailable)
		r := h.gql(addOne, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		requireNoRateHeaders(t, r)
		require.JSONEq(t, `{"errors":[{"message":"internal error"}]}`, string(r.raw))

		h.srv.SetFailRate(1, http.StatusBadGateway)
		r = h.gql(addOne, nil)
		require.Equal(t, http.StatusBadGateway, r.status)
		requireNoRateHeaders(t, r)
		h.srv.SetFailRate(0, 0)

		r = h.gql(`{ system { time } }`, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, DefaultRateLimit-3, r.headerInt(t, "X-Rate-Limit-Requests-Left"), "the faults counted")
		require.Len(t, h.srv.Snapshot().Users, 3, "nothing executed")
	})

	t.Run("documented: only the first 429 of a window carries headers", func(t *testing.T) {
		h := documented(t, Options{RateLimit: 2, RateWindow: time.Minute})
		for range 2 {
			require.Equal(t, http.StatusOK, h.gql(`{ system { time } }`, nil).status)
		}
		first := h.gql(`{ system { time } }`, nil)
		require.Equal(t, http.StatusTooManyRequests, first.status)
		require.Equal(t, 60, first.headerInt(t, "X-Retry-After"))
		require.Equal(t, 0, first.headerInt(t, "X-Rate-Limit-Requests-Left"))
		for range 2 {
			h.clock.Advance(10 * time.Second)
			r := h.gql(`{ system { time } }`, nil)
			require.Equal(t, http.StatusTooManyRequests, r.status)
			requireNoRateHeaders(t, r)
			require.JSONEq(t, `{"errors":[{"message":"rate limit exceeded"}]}`, string(r.raw))
		}
		// A new window: two requests, then the first 429 has headers again.
		h.clock.Advance(40 * time.Second)
		for range 2 {
			require.Equal(t, http.StatusOK, h.gql(`{ system { time } }`, nil).status)
		}
		r := h.gql(`{ system { time } }`, nil)
		require.Equal(t, http.StatusTooManyRequests, r.status)
		require.NotEmpty(t, r.header.Get("X-Retry-After"))
		st := h.srv.Stats()
		require.Equal(t, 4, st.RateLimited)
		require.Equal(t, 4, st.Counted)
	})

	t.Run("full: every 429 and 5xx carries the headers", func(t *testing.T) {
		h := newHarness(t, Options{RateLimit: 1, RateWindow: time.Minute})
		h.srv.FailNext(1, http.StatusInternalServerError)
		require.NotEmpty(t, h.gql(`{ system { time } }`, nil).header.Get("X-Rate-Limit-Requests-Left"))
		for range 3 {
			r := h.gql(`{ system { time } }`, nil)
			require.Equal(t, http.StatusTooManyRequests, r.status)
			require.NotEmpty(t, r.header.Get("X-Retry-After"))
			require.Equal(t, []string{CodeRateLimited}, r.codes())
		}
	})

	for _, profile := range Profiles() {
		t.Run(profile+": OverloadNext answers 429 without headers", func(t *testing.T) {
			h := newHarness(t, Options{Profile: profile})
			h.srv.OverloadNext(2)
			for range 2 {
				r := h.gql(addOne, nil)
				require.Equal(t, http.StatusTooManyRequests, r.status)
				requireNoRateHeaders(t, r)
			}
			require.Len(t, h.srv.Snapshot().Users, 3, "nothing executed")
			r := h.gql(`{ system { time } }`, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, DefaultRateLimit-3, r.headerInt(t, "X-Rate-Limit-Requests-Left"), "overloaded requests count")
			require.Equal(t, 2, h.srv.Stats().RateLimited)
			h.srv.OverloadNext(1)
			h.srv.OverloadNext(0)
			require.Equal(t, http.StatusOK, h.gql(`{ system { time } }`, nil).status, "n = 0 cancels")
		})
	}
}

// introspectedSchema returns, for every type the server introspects, its
// fields (or input fields) with their argument names, and the type of each.
func introspectedSchema(t *testing.T, h *harness) map[string]map[string]string {
	t.Helper()
	d := h.ok(`{ __schema { types { name
	  fields(includeDeprecated: true) { name args { name } type { ...T } }
	  inputFields { name type { ...T } } } } }
	fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`, nil)
	out := map[string]map[string]string{}
	var typeString func(any) string
	typeString = func(v any) string {
		m := v.(map[string]any)
		switch m["kind"] {
		case "NON_NULL":
			return typeString(m["ofType"]) + "!"
		case "LIST":
			return "[" + typeString(m["ofType"]) + "]"
		}
		return m["name"].(string)
	}
	for _, ty := range dig(t, d, "__schema", "types").([]any) {
		tm := ty.(map[string]any)
		fields := map[string]string{}
		for _, key := range []string{"fields", "inputFields"} {
			list, _ := tm[key].([]any)
			for _, f := range list {
				fm := f.(map[string]any)
				var args []string
				if al, ok := fm["args"].([]any); ok {
					for _, a := range al {
						args = append(args, a.(map[string]any)["name"].(string))
					}
				}
				fields[fm["name"].(string)] = typeString(fm["type"]) + "(" + strings.Join(args, ",") + ")"
			}
		}
		out[tm["name"].(string)] = fields
	}
	return out
}

func TestIntrospectionMatchesTheProfileSchema(t *testing.T) {
	for _, profile := range Profiles() {
		t.Run(profile, func(t *testing.T) {
			h := newHarness(t, Options{Profile: profile})
			got := introspectedSchema(t, h)
			sdl, err := SDLFor(profile)
			require.NoError(t, err)
			schema, err := gqlparser.LoadSchema(&ast.Source{Input: sdl})
			require.NoError(t, err)
			want := map[string]map[string]string{}
			for name, def := range schema.Types {
				fields := map[string]string{}
				for _, f := range def.Fields {
					if strings.HasPrefix(f.Name, "__") {
						continue
					}
					var args []string
					for _, a := range f.Arguments {
						args = append(args, a.Name)
					}
					fields[f.Name] = f.Type.String() + "(" + strings.Join(args, ",") + ")"
				}
				want[name] = fields
			}
			require.Equal(t, want, got, "introspection answers with exactly the profile's schema")
		})
	}

	t.Run("the documented schema is the smaller one", func(t *testing.T) {
		doc := introspectedSchema(t, documented(t, Options{}))
		for typ, fields := range doc {
			for name, sig := range fields {
				require.NotContains(t, sig, "last", "%s.%s", typ, name)
				require.NotContains(t, sig, "before", "%s.%s", typ, name)
			}
		}
		require.Equal(t, []string{"email", "firstName", "id", "lastName"}, slices.Sorted(func(yield func(string) bool) {
			for k := range doc["AccountUser"] {
				if !yield(k) {
					return
				}
			}
		}))
		require.Equal(t, "AccountUserConnection!(first,after)", doc["Account"]["users"])
		require.NotContains(t, doc["AddUserToAccountResult"], "user")
		require.NotContains(t, doc["AddUserToStoreResult"], "user")
		require.NotContains(t, doc["StoreConnection"], "collectionInfo")

		full := introspectedSchema(t, newHarness(t, Options{}))
		require.Equal(t, "UserConnection!(first,after,last,before)", full["Account"]["users"])
		require.Equal(t, "User()", full["AddUserToAccountResult"]["user"])
		require.Equal(t, "User()", full["AddUserToStoreResult"]["user"])
		require.NotContains(t, full, "AccountUser")
	})
}

func TestDocumentedProfileKeepsTheRest(t *testing.T) {
	h := documented(t, Options{RateLimit: 5, RateWindow: time.Minute, MaxComplexity: 150})
	r := h.gql(`{ account { id accountInfo { name } } }`, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, 4, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
	require.Equal(t, 4, r.headerInt(t, "X-Bc-Graphql-Complexity"))
	require.Equal(t, "query", r.header.Get("X-Bc-Graphql-Operation-Type"))

	r = h.gql(`mutation { account { addUserToAccount(input: {email: "c@example.com"}) { account { stores(first: 50) { edges { cursor } } } } } }`, nil)
	require.Equal(t, []string{""}, r.codes(), "refused without a code")
	require.Contains(t, r.messages()[0], "complexity")
	require.Empty(t, h.srv.Log())

	h.srv.DropNext(1)
	b, err := json.Marshal(map[string]any{"query": addOne})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url, strings.NewReader(string(b)))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", DefaultToken)
	resp, err := h.ts.Client().Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)

	st := h.srv.Stats()
	require.Equal(t, 3, st.Counted)
	require.Equal(t, 1, st.Dropped)
	require.Equal(t, 1, st.Operations["account"])
}
