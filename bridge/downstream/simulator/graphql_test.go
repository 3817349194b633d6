package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDocumentLevelFailures(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		opName   string
		code     string
		contains string
	}{
		{name: "syntax error", query: `{ account { id `, code: CodeParseFailed, contains: "Expected"},
		{name: "whitespace only", query: "   ", code: CodeParseFailed, contains: "no operation"},
		{name: "unknown field", query: `{ account { idx } }`, code: CodeValidationFailed, contains: `Cannot query field "idx"`},
		{name: "wrong argument type", query: `{ account { users(first: "ten") { edges { cursor } } } }`, code: CodeValidationFailed, contains: "Int"},
		{name: "missing required argument", query: `mutation { account { addUserToAccount { account { id } } } }`, code: CodeValidationFailed, contains: "input"},
		{name: "unknown input field", query: `mutation { account { addUserToAccount(input: {email: "a@b.c", name: "x"}) { account { id } } } }`, code: CodeValidationFailed, contains: "name"},
		{name: "leaf without selection", query: `{ account }`, code: CodeValidationFailed, contains: "must have a selection"},
		{name: "subscription", query: `subscription { account { id } }`, code: CodeValidationFailed, contains: "subscription"},
		{name: "unused fragment", query: `{ account { id } } fragment F on Account { id }`, code: CodeValidationFailed, contains: "never used"},
		{name: "several operations without a name", query: `query A { system { time } } query B { system { time } }`, code: CodeValidationFailed, contains: "operationName"},
		{name: "unknown operation name", query: `query A { system { time } }`, opName: "B", code: CodeValidationFailed, contains: `"B"`},
		{name: "required variable missing", query: `query($n: Int!) { account { users(first: $n) { edges { cursor } } } }`, code: CodeValidationFailed, contains: "$n"},
		{name: "variable of the wrong type", query: `query($n: Int) { account { users(first: $n) { edges { cursor } } } }`, vars: map[string]any{"n": "ten"}, code: CodeValidationFailed, contains: "integer"},
		{name: "fractional Int variable", query: `query($n: Int) { account { users(first: $n) { edges { cursor } } } }`, vars: map[string]any{"n": 2.5}, code: CodeValidationFailed, contains: "integer"},
		{name: "null for a non-null variable", query: `query($n: Int!) { account { users(first: $n) { edges { cursor } } } }`, vars: map[string]any{"n": nil}, code: CodeValidationFailed, contains: "null"},
		{name: "input object variable with unknown field", query: `mutation($in: AddUserToAccountInput!) { account { addUserToAccount(input: $in) { account { id } } } }`,
			vars: map[string]any{"in": map[string]any{"email": "a@b.c", "extra": 1}}, code: CodeValidationFailed, contains: "extra"},
		{name: "input object variable missing a required field", query: `mutation($in: AddUserToAccountInput!) { account { addUserToAccount(input: $in) { account { id } } } }`,
			vars: map[string]any{"in": map[string]any{}}, code: CodeValidationFailed, contains: "email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			before := h.srv.Snapshot()
			r := h.gqlAs(DefaultToken, tc.query, tc.vars, tc.opName)
			require.Equal(t, http.StatusOK, r.status)
			require.NotContains(t, r.body, "data", "body: %s", r.raw)
			require.NotEmpty(t, r.errors())
			for _, e := range r.errors() {
				require.NotContains(t, e, "path")
			}
			require.Contains(t, r.codes(), tc.code)
			var msgs []string
			for _, e := range r.errors() {
				msgs = append(msgs, e["message"].(string))
			}
			require.Contains(t, strings.Join(msgs, "\n"), tc.contains)
			require.Equal(t, before, h.srv.Snapshot())
			st := h.srv.Stats()
			require.Equal(t, 1, st.Refused)
			require.Equal(t, 1, st.Counted, "invalid documents count against the rate limit")
			require.Equal(t, 69, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
		})
	}
}

func TestBadRequestBodies(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `query { account { id } }`},
		{"JSON array", `[{"query":"{ system { time } }"}]`},
		{"no query", `{"variables":{}}`},
		{"query not a string", `{"query":42}`},
		{"variables not an object", `{"query":"{ system { time } }","variables":[1]}`},
		{"operationName not a string", `{"query":"{ system { time } }","operationName":7}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			r := h.send(http.MethodPost, h.url, DefaultToken, []byte(tc.body))
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Equal(t, []string{CodeBadRequest}, r.codes())
		})
	}
	t.Run("null variables and operationName are fine", func(t *testing.T) {
		h := newHarness(t, Options{})
		r := h.send(http.MethodPost, h.url, DefaultToken, []byte(`{"query":"{ system { time } }","variables":null,"operationName":null}`))
		require.Equal(t, http.StatusOK, r.status)
		require.Empty(t, r.errors())
	})
}

func TestVariablesAliasesFragments(t *testing.T) {
	h := newHarness(t, Options{Seed: smallSeed()})
	const q = `
	query Lookup($first: Int = 1, $withApps: Boolean!, $skipName: Boolean = false, $ids: [ID!]!, $one: [ID!]!) {
	  acct: account {
	    ...AccountBits
	    firstUser: users(first: $first) { edges { node { ...UserBits } } }
	    allUsers: users { collectionInfo { totalItems } }
	    apps @include(if: $withApps) { collectionInfo { totalItems } }
	  }
	  many: nodes(ids: $ids) { id ... on Store { storeName: name } ... on User { email } }
	  single: nodes(ids: $one) { id }
	  clock: system { time }
	  __typename
	}
	fragment AccountBits on Account { id info: accountInfo { name @skip(if: $skipName) } __typename }
	fragment UserBits on User { id email }
	query Other { system { time } }`
	vars := map[string]any{
		"withApps": false,
		"skipName": true,
		"ids":      []any{"bc/account/store/abc123", "bc/account/user/1"},
		"one":      "bc/account/app/1", // a single value where a list is expected
		"unused":   "ignored",
	}
	r := h.gqlAs(DefaultToken, q, vars, "Lookup")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.raw)
	require.Equal(t, "query", r.header.Get("X-Bc-Graphql-Operation-Type"))
	require.Equal(t, "Lookup", r.header.Get("X-Bc-Graphql-Operation-Name"))
	require.JSONEq(t, `{"data":{
	  "acct":{"id":"bc/account/account/acc-small","info":{},"__typename":"Account",
	    "firstUser":{"edges":[{"node":{"id":"bc/account/user/1","email":"owner@example.com"}}]},
	    "allUsers":{"collectionInfo":{"totalItems":2}}},
	  "many":[{"id":"bc/account/store/abc123","storeName":"Plant Market"},{"id":"bc/account/user/1","email":"owner@example.com"}],
	  "single":[{"id":"bc/account/app/1"}],
	  "clock":{"time":"2025-03-10T12:00:00Z"},
	  "__typename":"Query"}}`, string(r.raw))
	// Response keys come in selection order.
	require.True(t, strings.Index(string(r.raw), `"acct"`) < strings.Index(string(r.raw), `"many"`))
	require.True(t, strings.Index(string(r.raw), `"many"`) < strings.Index(string(r.raw), `"clock"`))

	t.Run("input object variables and defaults", func(t *testing.T) {
		r := h.gqlAs(DefaultToken, `mutation Add($in: AddUserToStoreInput!, $email: String!) {
		  a: account { addUserToAccount(input: {email: $email}) { __typename } }
		  s: user { addUserToStore(input: $in) { storeId } } }`,
			map[string]any{"email": "var@example.com", "in": map[string]any{"user": map[string]any{"email": "var@example.com"}, "storeId": "bc/account/store/def456"}}, "")
		require.Empty(t, r.errors(), "body: %s", r.raw)
		require.Equal(t, "mutation", r.header.Get("X-Bc-Graphql-Operation-Type"))
		require.Equal(t, "Add", r.header.Get("X-Bc-Graphql-Operation-Name"))
		u, ok := userByEmail(h.srv.Snapshot(), "var@example.com")
		require.True(t, ok)
		require.Contains(t, u.Stores, "def456")
	})

	t.Run("absent nullable variable means the argument is not given", func(t *testing.T) {
		d := h.ok(`query($n: Int) { account { users(first: $n) { edges { cursor } } } }`, nil)
		require.Len(t, dig(t, d, "account", "users", "edges"), 3)
	})

	t.Run("string escapes in literals", func(t *testing.T) {
		r := h.gql(`mutation { account { addUserToAccount(input: {email: "esc\u0061pe@example.com"}) { __typename } } }`, nil)
		require.Empty(t, r.errors(), "body: %s", r.raw)
		_, ok := userByEmail(h.srv.Snapshot(), "escape@example.com")
		require.True(t, ok)
	})
}

func TestSeveralMutationsWithAFieldErrorInTheMiddle(t *testing.T) {
	h := newHarness(t, Options{Seed: smallSeed()})
	q := `mutation Batch {` +
		addUserMutation("m1", "first@example.com") +
		addUserMutation("m2", "OWNER@example.com") + // already in the account
		addUserMutation("m3", "third@example.com") +
		`m4: user { addUserToStore(input: {user: {email: "third@example.com"}, storeId: "bc/account/store/abc123"}) { storeId } }
		 m5: user { addUserToStore(input: {user: {email: "first@example.com"}, storeId: "bc/account/store/nope"}) { storeId } }
		 m6: account { removeUserFromAccount(input: {email: "first@example.com"}) { userId } }
		}`
	r := h.gql(q, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, []string{CodeUserAlreadyExists, CodeStoreNotFound}, r.codes())
	require.Equal(t, []any{"m2", "addUserToAccount"}, r.errors()[0]["path"])
	require.Equal(t, []any{"m5", "addUserToStore"}, r.errors()[1]["path"])
	require.NotEmpty(t, r.errors()[0]["locations"])
	d := r.data()
	require.Nil(t, dig(t, d, "m2", "addUserToAccount"))
	require.NotNil(t, dig(t, d, "m3", "addUserToAccount"))
	require.Equal(t, "bc/account/store/abc123", dig(t, d, "m4", "addUserToStore", "storeId"))
	require.Nil(t, dig(t, d, "m5", "addUserToStore"))
	require.Equal(t, "bc/account/user/3", dig(t, d, "m6", "removeUserFromAccount", "userId"))

	snap := h.srv.Snapshot()
	_, firstThere := userByEmail(snap, "first@example.com")
	require.False(t, firstThere, "m6 ran after m5 failed")
	third, ok := userByEmail(snap, "third@example.com")
	require.True(t, ok)
	require.Contains(t, third.Stores, "abc123")

	var got [][2]string
	for _, ev := range h.srv.Log() {
		require.Equal(t, 1, ev.Request)
		got = append(got, [2]string{ev.Field, ev.Code})
	}
	require.Equal(t, [][2]string{
		{"addUserToAccount", ""}, {"addUserToAccount", CodeUserAlreadyExists}, {"addUserToAccount", ""},
		{"addUserToStore", ""}, {"addUserToStore", CodeStoreNotFound}, {"removeUserFromAccount", ""},
	}, got)
	st := h.srv.Stats()
	require.Equal(t, 2, st.FieldErrors)
	require.Equal(t, 6, st.MaxMutationsPerRequest)
	require.Equal(t, 3, st.Operations["addUserToAccount"])
}

func TestFiftyAliasedMutationsAreOneRequest(t *testing.T) {
	h := newHarness(t, Options{})
	var b strings.Builder
	b.WriteString("mutation {")
	for i := range 50 {
		b.WriteString(addUserMutation("m"+strconv.Itoa(i), "bulk"+strconv.Itoa(i)+"@example.com"))
	}
	b.WriteString("}")
	r := h.gql(b.String(), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Empty(t, r.errors())
	require.Len(t, r.data(), 50)
	for i := range 50 {
		require.NotNil(t, dig(t, r.data(), "m"+strconv.Itoa(i), "addUserToAccount", "account", "id"))
	}
	require.Equal(t, DefaultRateLimit-1, r.headerInt(t, "X-Rate-Limit-Requests-Left"))
	st := h.srv.Stats()
	require.Equal(t, 1, st.Requests)
	require.Equal(t, 1, st.Counted)
	require.Equal(t, 50, st.Operations["addUserToAccount"])
	require.Equal(t, 50, st.MaxMutationsPerRequest)
	require.Len(t, h.srv.Snapshot().Users, 3+50)
	require.Len(t, h.srv.Log(), 50)
	// 50 × (100 + account 1 + id 1) + 50 namespace fields.
	require.Equal(t, 50*103, r.headerInt(t, "X-Bc-Graphql-Complexity"))
}

// BenchmarkFiftyMutationDocument measures one request carrying 50 aliased
// addUserToAccount fields, served in-process.
func BenchmarkFiftyMutationDocument(b *testing.B) {
	srv, err := New(Options{RateLimit: 1 << 30})
	require.NoError(b, err)
	n := 0
	for b.Loop() {
		var sb strings.Builder
		sb.WriteString("mutation {")
		for i := range 50 {
			n++
			sb.WriteString(addUserMutation("m"+strconv.Itoa(i), "bench"+strconv.Itoa(n)+"@example.com"))
		}
		sb.WriteString("}")
		body, err := json.Marshal(map[string]any{"query": sb.String()})
		require.NoError(b, err)
		req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, srv.URL(""), bytes.NewReader(body))
		req.Header.Set("X-Auth-Token", DefaultToken)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
