package simulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimitFiveRequestsPerMinute(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 5, RateWindow: time.Minute})
	const q = `{ system { time } }`

	for i := range 5 {
		r := h.gql(q, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, 60000, r.headerInt(t, "X-Rate-Limit-Time-Window-Ms"))
		require.Equal(t, 5, r.headerInt(t, "X-Rate-Limit-Requests-Quota"))
		require.Equal(t, 4-i, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
		require.Equal(t, 60000-i*1000, r.headerInt(t, "X-Rate-Limit-Time-Reset-Ms"))
		require.Empty(t, r.header.Get("X-Retry-After"))
		h.clock.Advance(time.Second)
	}
	// Five requests at t=0..4s; the sixth at t=20.5s is refused until t=60s.
	h.clock.Advance(15500 * time.Millisecond)
	r := h.gql(q, nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, []string{CodeRateLimited}, r.codes())
	require.Equal(t, "rate limit exceeded", r.errors()[0]["message"])
	require.Equal(t, 40, r.headerInt(t, "X-Retry-After"), "39.5 s left, rounded up")
	require.Equal(t, 39500, r.headerInt(t, "X-Rate-Limit-Time-Reset-Ms"))
	require.Equal(t, 0, r.headerInt(t, "X-Rate-Limit-Requests-Left"))

	// A 429 does not count, and the answer stays 429 until the window ends.
	h.clock.Advance(39 * time.Second)
	r = h.gql(q, nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, 1, r.headerInt(t, "X-Retry-After"), "0.5 s left, rounded up to at least 1")

	h.clock.Advance(500 * time.Millisecond) // exactly t=60s: the window has ended
	r = h.gql(q, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, 4, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
	require.Equal(t, 60000, r.headerInt(t, "X-Rate-Limit-Time-Reset-Ms"), "a new window starts with this request")

	st := h.srv.Stats()
	require.Equal(t, 8, st.Requests)
	require.Equal(t, 6, st.Counted)
	require.Equal(t, 2, st.RateLimited)
	require.Equal(t, 2, st.ByStatus[http.StatusTooManyRequests])
	require.Equal(t, 6, st.ByStatus[http.StatusOK])
}

func TestRateLimitIgnoresUnauthenticatedAndWrongAccount(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 2, RateWindow: time.Hour})
	body := []byte(`{"query":"{ system { time } }"}`)

	r := h.send(http.MethodPost, h.url, "wrong-token", body)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.JSONEq(t, `{"errors":[{"message":"invalid or missing X-Auth-Token","extensions":{"code":"UNAUTHENTICATED"}}]}`, string(r.raw))
	require.Empty(t, r.header.Get("X-Rate-Limit-Requests-Left"))

	r = h.send(http.MethodPost, h.url, "", body)
	require.Equal(t, http.StatusUnauthorized, r.status)

	r = h.send(http.MethodPost, h.ts.URL+"/accounts/some-other-uuid/graphql", DefaultToken, body)
	require.Equal(t, http.StatusNotFound, r.status)
	require.JSONEq(t, `{"errors":[{"message":"account not found","extensions":{"code":"NOT_FOUND"}}]}`, string(r.raw))
	require.Equal(t, 2, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
	require.Equal(t, 3600000, r.headerInt(t, "X-Rate-Limit-Time-Reset-Ms"), "no window open")

	r = h.send(http.MethodPost, h.url, DefaultToken, body)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, 1, r.headerInt(t, "X-Rate-Limit-Requests-Left"))

	r = h.send(http.MethodPost, h.ts.URL+"/accounts/"+strings.ToUpper(DefaultAccountUUID)+"/graphql", DefaultToken, body)
	require.Equal(t, http.StatusOK, r.status, "the account UUID compares case-insensitively")
	require.Equal(t, 0, r.headerInt(t, "X-Rate-Limit-Requests-Left"))

	st := h.srv.Stats()
	require.Equal(t, 2, st.Counted)
	require.Equal(t, 2, st.ByStatus[http.StatusUnauthorized])
	require.Equal(t, 1, st.ByStatus[http.StatusNotFound])
}

func TestHTTPEdges(t *testing.T) {
	h := newHarness(t, Options{})

	r := h.send(http.MethodGet, h.url, DefaultToken, nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, "POST", r.header.Get("Allow"))
	require.NotEmpty(t, r.header.Get("X-Rate-Limit-Requests-Left"))

	r = h.send(http.MethodPost, h.ts.URL+"/graphql", DefaultToken, []byte(`{}`))
	require.Equal(t, http.StatusNotFound, r.status)

	big := []byte(`{"query":"{ system { time } }","variables":{"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`)
	r = h.send(http.MethodPost, h.url, DefaultToken, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Equal(t, []string{CodePayloadTooLarge}, r.codes())

	require.Equal(t, 2, h.srv.Stats().Counted, "405 and 413 count; the unknown path does not reach the limiter")
}

func TestComplexity(t *testing.T) {
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  int
	}{
		{"account id and name", `{ account { id accountInfo { name } } }`, nil, 4},
		{"users first 5 with pageInfo", `{ account { users(first: 5) { edges { node { id email } } pageInfo { hasNextPage endCursor } } } }`, nil, 21},
		{"page size from a variable, clamped to 100", `query($n: Int) { account { users(first: $n) { edges { cursor } } } }`, map[string]any{"n": 500}, 1 + 1 + 1 + 100},
		{"default page size 10", `{ account { users { edges { cursor } collectionInfo { totalItems } } } }`, nil, 1 + 1 + (1 + 10) + 2},
		{"last counts like first", `{ account { stores(last: 2) { edges { node { name } } } } }`, nil, 1 + 1 + 1 + 2*2},
		{"nested connections multiply", `{ account { stores(first: 3) { edges { node { users(first: 4) { edges { node { id } } } } } } } }`, nil,
			1 + 1 + 1 + 3*(1+1+1+4*2)},
		{"fragments count as written", `{ account { ...A ...A } } fragment A on Account { id }`, nil, 1 + 1 + 1},
		{"skipped fields do not count", `{ account { id accountInfo @skip(if: true) { name } } }`, nil, 2},
		{"nodes multiplies by the ids", `{ nodes(ids: ["bc/account/user/1", "bc/account/user/2", "x"]) { id } }`, nil, 1 + 3*1},
		{"__typename costs 1", `{ __typename }`, nil, 1},
		{"a mutation field costs 100", `mutation { account { addUserToAccount(input: {email: "c@example.com"}) { account { id } } } }`, nil, 1 + 100 + 2},
		{"mutation without selection beyond __typename", `mutation { user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: "bc/account/user/3"}) { __typename } } }`, nil, 1 + 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			r := h.gql(tc.query, tc.vars)
			require.Equal(t, http.StatusOK, r.status)
			require.Empty(t, r.errors(), "body: %s", r.raw)
			require.Equal(t, tc.want, r.headerInt(t, "X-Bc-Graphql-Complexity"))
		})
	}

	t.Run("over the limit nothing runs", func(t *testing.T) {
		h := newHarness(t, Options{MaxComplexity: 250})
		q := "mutation {" + addUserMutation("a", "a@example.com") + addUserMutation("b", "b@example.com") + addUserMutation("c", "c@example.com") + "}"
		before := h.srv.Snapshot()
		r := h.gql(q, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.NotContains(t, r.body, "data")
		require.Equal(t, []string{CodeComplexityLimitExceeded}, r.codes())
		ext := r.errors()[0]["extensions"].(map[string]any)
		require.EqualValues(t, 309, ext["complexity"])
		require.EqualValues(t, 250, ext["limit"])
		require.Equal(t, 309, r.headerInt(t, "X-Bc-Graphql-Complexity"))
		require.Equal(t, before, h.srv.Snapshot())
		require.Empty(t, h.srv.Log())
		require.Equal(t, 1, h.srv.Stats().Refused)
	})

	t.Run("the default limit refuses about a hundred mutations", func(t *testing.T) {
		h := newHarness(t, Options{})
		var b strings.Builder
		b.WriteString("mutation {")
		for i := range 100 {
			b.WriteString(addUserMutation(fmt.Sprintf("m%d", i), fmt.Sprintf("u%d@example.com", i)))
		}
		b.WriteString("}")
		r := h.gql(b.String(), nil)
		require.Equal(t, []string{CodeComplexityLimitExceeded}, r.codes())
		require.Equal(t, 10300, r.headerInt(t, "X-Bc-Graphql-Complexity"))
	})
}

func TestMaxMutations(t *testing.T) {
	h := newHarness(t, Options{MaxMutations: 2})
	three := "mutation {" + addUserMutation("a", "a@example.com") +
		`b: user { x: addUserToStore(input: {user: {email: "a@example.com"}, storeId: "bc/account/store/abc123"}) { storeId }
		           y: addUserToStore(input: {user: {email: "a@example.com"}, storeId: "bc/account/store/def456"}) { storeId } } }`
	r := h.gql(three, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, r.body, "data")
	require.Equal(t, []string{CodeTooManyMutations}, r.codes())
	require.Contains(t, r.errors()[0]["message"], "at most 2 mutation fields")
	ext := r.errors()[0]["extensions"].(map[string]any)
	require.EqualValues(t, 3, ext["mutations"])
	require.EqualValues(t, 2, ext["limit"])
	require.Len(t, h.srv.Snapshot().Users, 3)

	h.srv.SetMaxMutations(1)
	r = h.gql("mutation {"+addUserMutation("a", "a@example.com")+"}", nil)
	require.Empty(t, r.errors())
	r = h.gql("mutation {"+addUserMutation("a", "b@example.com")+addUserMutation("b", "c@example.com")+"}", nil)
	require.Equal(t, []string{CodeTooManyMutations}, r.codes())

	h.srv.SetMaxMutations(0)
	r = h.gql(three, nil)
	require.Equal(t, []string{CodeUserAlreadyExists}, r.codes(), "no limit: all three run; the add finds a@ already there")
	require.Equal(t, 3, h.srv.Stats().MaxMutationsPerRequest)
}

func TestPaging(t *testing.T) {
	seed := smallSeed()
	for i := range 8 {
		seed.Users = append(seed.Users, SeedUser{Email: fmt.Sprintf("p%d@example.com", i)})
	}
	// Users 1..10.

	t.Run("max page size clamps first and last", func(t *testing.T) {
		h := newHarness(t, Options{Seed: seed, MaxPageSize: 4})
		d := h.ok(`{ account { a: users(first: 50) { edges { cursor } pageInfo { hasNextPage } }
		  b: users(last: 50) { edges { node { id } } pageInfo { hasPreviousPage hasNextPage } }
		  c: users { edges { cursor } } } }`, nil)
		require.Len(t, dig(t, d, "account", "a", "edges"), 4)
		require.Equal(t, true, dig(t, d, "account", "a", "pageInfo", "hasNextPage"))
		require.Len(t, dig(t, d, "account", "b", "edges"), 4)
		require.Equal(t, "bc/account/user/7", dig(t, d, "account", "b", "edges", 0, "node", "id"))
		require.Equal(t, true, dig(t, d, "account", "b", "pageInfo", "hasPreviousPage"))
		require.Equal(t, false, dig(t, d, "account", "b", "pageInfo", "hasNextPage"))
		require.Len(t, dig(t, d, "account", "c", "edges"), 4, "the default page size is lowered to the max")
	})

	t.Run("default page size is 10", func(t *testing.T) {
		s2 := smallSeed()
		for i := range 12 {
			s2.Users = append(s2.Users, SeedUser{Email: fmt.Sprintf("q%d@example.com", i)})
		}
		h := newHarness(t, Options{Seed: s2})
		d := h.ok(`{ account { users { edges { cursor } collectionInfo { totalItems } } } }`, nil)
		require.Len(t, dig(t, d, "account", "users", "edges"), 10)
		require.EqualValues(t, 14, dig(t, d, "account", "users", "collectionInfo", "totalItems"))
	})

	t.Run("cursors stay stable when users are removed and added between pages", func(t *testing.T) {
		h := newHarness(t, Options{Seed: seed})
		const q = `query($after: String) { account { users(first: 3, after: $after) { edges { node { id } } pageInfo { endCursor hasNextPage } } } }`
		d := h.ok(q, nil)
		require.Equal(t, "bc/account/user/3", dig(t, d, "account", "users", "edges", 2, "node", "id"))
		end := dig(t, d, "account", "users", "pageInfo", "endCursor")

		// Remove the last user of page one (the cursor's own item) and the first
		// user of page two; add a new user (id 11).
		h.ok(`mutation { a: account { removeUserFromAccount(input: {userId: "bc/account/user/3"}) { userId } }
		  b: account { removeUserFromAccount(input: {userId: "bc/account/user/4"}) { userId } }
		  c: account { addUserToAccount(input: {email: "late@example.com"}) { __typename } } }`, nil)

		d = h.ok(q, map[string]any{"after": end})
		var ids []any
		for _, e := range dig(t, d, "account", "users", "edges").([]any) {
			ids = append(ids, dig(t, e, "node", "id"))
		}
		require.Equal(t, []any{"bc/account/user/5", "bc/account/user/6", "bc/account/user/7"}, ids)
		d = h.ok(q, map[string]any{"after": dig(t, d, "account", "users", "pageInfo", "endCursor")})
		d = h.ok(q, map[string]any{"after": dig(t, d, "account", "users", "pageInfo", "endCursor")})
		require.Equal(t, "bc/account/user/11", dig(t, d, "account", "users", "edges", 0, "node", "id"))
		require.Equal(t, false, dig(t, d, "account", "users", "pageInfo", "hasNextPage"))
	})

	t.Run("backward paging with last and before", func(t *testing.T) {
		h := newHarness(t, Options{Seed: seed})
		d := h.ok(`{ account { users(last: 2) { edges { node { id } } pageInfo { startCursor hasPreviousPage } } } }`, nil)
		require.Equal(t, "bc/account/user/9", dig(t, d, "account", "users", "edges", 0, "node", "id"))
		start := dig(t, d, "account", "users", "pageInfo", "startCursor")
		d = h.ok(`query($b: String) { account { users(last: 2, before: $b) { edges { node { id } } } } }`, map[string]any{"b": start})
		require.Equal(t, "bc/account/user/7", dig(t, d, "account", "users", "edges", 0, "node", "id"))
		require.Equal(t, "bc/account/user/8", dig(t, d, "account", "users", "edges", 1, "node", "id"))
	})

	t.Run("stores page in seed order and apps by id", func(t *testing.T) {
		h := newHarness(t, Options{})
		d := h.ok(`{ account { stores(first: 1) { edges { node { storeHash } } pageInfo { endCursor } } } }`, nil)
		require.Equal(t, "abc123", dig(t, d, "account", "stores", "edges", 0, "node", "storeHash"))
		d = h.ok(`query($a: String) { account { stores(first: 5, after: $a) { edges { node { storeHash } } pageInfo { hasNextPage } } apps(first: 1, after: "YmMvYWNjb3VudC9hcHAvMQ") { edges { node { name } } } } }`,
			map[string]any{"a": dig(t, d, "account", "stores", "pageInfo", "endCursor")})
		require.Equal(t, "def456", dig(t, d, "account", "stores", "edges", 0, "node", "storeHash"))
		require.Equal(t, "ghi789", dig(t, d, "account", "stores", "edges", 1, "node", "storeHash"))
		require.Equal(t, "Order Export", dig(t, d, "account", "apps", "edges", 0, "node", "name"))
	})

	t.Run("empty page and bad arguments", func(t *testing.T) {
		h := newHarness(t, Options{Seed: seed})
		d := h.ok(`{ account { users(first: 0) { edges { cursor } pageInfo { startCursor endCursor hasNextPage } } } }`, nil)
		require.Equal(t, map[string]any{"startCursor": nil, "endCursor": nil, "hasNextPage": true}, dig(t, d, "account", "users", "pageInfo"))

		for _, q := range []string{
			`{ account { id users(first: -1) { edges { cursor } } } }`,
			`{ account { id users(after: "not-a-cursor") { edges { cursor } } } }`,
			`{ account { id users(after: "YmMvYWNjb3VudC9zdG9yZS9hYmMxMjM") { edges { cursor } } } }`, // a store cursor
		} {
			r := h.gql(q, nil)
			require.Equal(t, []string{CodeInvalidInput}, r.codes(), "query %s", q)
			require.Equal(t, []any{"account", "users"}, r.errors()[0]["path"])
			// UserConnection! is non-null, so the error nulls account, and
			// Account! nulls data.
			require.Nil(t, r.body["data"])
			require.Contains(t, r.body, "data")
		}
	})
}
