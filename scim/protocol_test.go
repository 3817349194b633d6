package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func TestErrorStatuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("err@example.com"))
		cases := []struct {
			name, method, path, body string
			headers                  []string
			status                   int
			scimType                 string
		}{
			{"no token", http.MethodGet, "/Users", "", []string{"Authorization", ""}, 401, ""},
			{"wrong scheme", http.MethodGet, "/Users", "", []string{"Authorization", "Basic " + testToken}, 401, ""},
			{"DELETE on the collection", http.MethodDelete, "/Users", "", nil, 405, ""},
			{"PUT on the collection", http.MethodPut, "/Groups", "{}", nil, 405, ""},
			{"POST on a resource", http.MethodPost, "/Users/" + id, userBody("x@example.com"), nil, 405, ""},
			{"unknown resource", http.MethodGet, "/Users/nope", "", nil, 404, ""},
			{"unknown endpoint", http.MethodGet, "/Widgets", "", nil, 404, ""},
			{"text/plain body", http.MethodPost, "/Users", userBody("y@example.com"), []string{"Content-Type", "text/plain"}, 415, ""},
			{"body too large", http.MethodPost, "/Users", `{"userName":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 413, ""},
			{"not JSON", http.MethodPost, "/Users", "{nope", nil, 400, "invalidSyntax"},
			{"no userName", http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, nil, 400, "invalidValue"},
			{"malformed filter", http.MethodGet, "/Users?filter=" + url.QueryEscape(`userName eq`), "", nil, 400, "invalidFilter"},
			{"unknown filter attribute", http.MethodGet, "/Users?filter=" + url.QueryEscape(`foo eq "x"`), "", nil, 400, "invalidFilter"},
			{"boolean ordering", http.MethodGet, "/Users?filter=" + url.QueryEscape(`active gt true`), "", nil, 400, "invalidFilter"},
			{"bad count", http.MethodGet, "/Users?count=abc", "", nil, 400, ""},
			{"stale If-Match", http.MethodPatch, "/Users/" + id, `{"schemas":["` + okta + `"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`, []string{"If-Match", `W/"99"`}, 412, ""},
			{"PATCH with no operations", http.MethodPatch, "/Users/" + id, `{"schemas":["` + okta + `"],"Operations":[]}`, nil, 400, "invalidValue"},
			{"PATCH of a read-only attribute", http.MethodPatch, "/Users/" + id, `{"schemas":["` + okta + `"],"Operations":[{"op":"replace","path":"groups","value":[]}]}`, nil, 400, "mutability"},
			{"remove without path", http.MethodPatch, "/Users/" + id, `{"schemas":["` + okta + `"],"Operations":[{"op":"remove"}]}`, nil, 400, "noTarget"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				r := e.do(c.method, c.path, body, c.headers...).must(t, c.status)
				require.Contains(t, r.get("schemas"), errorSchema)
				require.Equal(t, fmt.Sprint(c.status), r.str("status"), "status is a string")
				require.NotEmpty(t, r.str("detail"))
				if c.scimType != "" {
					require.Equal(t, c.scimType, r.str("scimType"))
				}
			})
		}
		// Nothing above changed the user.
		r := e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Equal(t, `W/"1"`, r.str("meta.version"))
		require.Nil(t, r.get("title"))
	})
}

func TestETags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.do(http.MethodPost, "/Users", userBody("etag@example.com")).must(t, http.StatusCreated)
		id, v1 := r.str("id"), r.header.Get("Etag")
		require.Equal(t, `W/"1"`, v1)
		require.Equal(t, v1, r.str("meta.version"))
		patch := `{"schemas":["` + okta + `"],"Operations":[{"op":"replace","path":"title","value":"CTO"}]}`
		r = e.do(http.MethodPatch, "/Users/"+id, patch, "If-Match", v1).must(t, http.StatusOK)
		require.Equal(t, `W/"2"`, r.header.Get("Etag"))
		// The same change again is not a write: the version stays.
		r = e.do(http.MethodPatch, "/Users/"+id, patch, "If-Match", `W/"2"`).must(t, http.StatusOK)
		require.Equal(t, `W/"2"`, r.str("meta.version"))
		e.do(http.MethodPatch, "/Users/"+id, patch, "If-Match", v1).must(t, http.StatusPreconditionFailed)
		e.do(http.MethodDelete, "/Users/"+id, nil, "If-Match", v1).must(t, http.StatusPreconditionFailed)
		e.do(http.MethodDelete, "/Users/"+id, nil, "If-Match", "*").must(t, http.StatusNoContent)
	})
}

func TestDiscoveryEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.do(http.MethodGet, "/ServiceProviderConfig", nil).must(t, http.StatusOK)
		require.Equal(t, true, r.get("etag.supported"), "ETags are implemented")
		require.Equal(t, true, r.get("patch.supported"))
		require.Equal(t, true, r.get("filter.supported"))
		require.Equal(t, float64(DefaultMaxResults), r.get("filter.maxResults"))
		require.Equal(t, false, r.get("bulk.supported"))
		require.Equal(t, false, r.get("sort.supported"))
		require.Equal(t, "oauthbearertoken", r.str("authenticationSchemes.0.type"))

		r = e.do(http.MethodGet, "/Schemas", nil).must(t, http.StatusOK)
		var ids []string
		for _, s := range r.get("Resources").([]any) {
			ids = append(ids, s.(map[string]any)["id"].(string))
		}
		require.Contains(t, ids, "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User")
		require.Contains(t, ids, "urn:ietf:params:scim:schemas:core:2.0:Group")

		r = e.do(http.MethodGet, "/ResourceTypes", nil).must(t, http.StatusOK)
		require.Equal(t, float64(2), r.get("totalResults"))
	})
}

func TestPagingAndProjection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		var ids []string
		for i := range 12 {
			ids = append(ids, e.createUser(userBody(fmt.Sprintf("page%02d@example.com", i))))
		}
		// Entra's pagination test: count=5, startIndex = page*5+1, stable order.
		var seen []string
		for page := 0; page < 3; page++ {
			r := e.do(http.MethodGet, fmt.Sprintf("/Users?startIndex=%d&count=5", page*5+1), nil).must(t, http.StatusOK)
			require.Equal(t, float64(12), r.get("totalResults"))
			require.Equal(t, float64(page*5+1), r.get("startIndex"))
			for _, res := range r.get("Resources").([]any) {
				seen = append(seen, res.(map[string]any)["id"].(string))
			}
			require.Equal(t, float64(len(r.get("Resources").([]any))), r.get("itemsPerPage"))
		}
		require.Equal(t, ids, seen, "every user once, in a stable order")

		r := e.do(http.MethodGet, "/Users?count=0", nil).must(t, http.StatusOK)
		require.Equal(t, float64(12), r.get("totalResults"))
		require.Equal(t, []any{}, r.get("Resources"))
		r = e.do(http.MethodGet, "/Users?startIndex=-3&count=500", nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("startIndex"))
		r = e.do(http.MethodGet, "/Users?startIndex=100", nil).must(t, http.StatusOK)
		require.Equal(t, []any{}, r.get("Resources"))

		// A filter the store cannot answer alone still pages correctly.
		f := url.QueryEscape(`name.familyName eq "User" and userName sw "page0"`)
		r = e.do(http.MethodGet, "/Users?filter="+f+"&startIndex=3&count=4", nil).must(t, http.StatusOK)
		require.Equal(t, float64(10), r.get("totalResults"))
		require.Equal(t, ids[2], r.str("Resources.0.id"))
		require.Len(t, r.get("Resources"), 4)

		// attributes / excludedAttributes.
		r = e.do(http.MethodGet, "/Users/"+ids[0]+"?attributes=userName,emails", nil).must(t, http.StatusOK)
		require.Equal(t, ids[0], r.str("id"))
		require.NotNil(t, r.get("emails"))
		require.Nil(t, r.get("name"))
		r = e.do(http.MethodGet, "/Users?excludedAttributes=emails,name&count=1", nil).must(t, http.StatusOK)
		require.Nil(t, r.get("Resources.0.emails"))
		require.NotEmpty(t, r.str("Resources.0.userName"))

		// The list and the single GET render a user identically.
		one := e.do(http.MethodGet, "/Users/"+ids[3], nil).must(t, http.StatusOK)
		list := e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`id eq "`+ids[3]+`"`), nil).must(t, http.StatusOK)
		require.Equal(t, one.body, list.get("Resources.0"))
	})
}

func TestTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Okta "HTTP Header" mode sends the bare token.
		e.do(http.MethodGet, "/Users", nil, "Authorization", testToken).must(t, http.StatusOK)
		e.do(http.MethodGet, "/Users", nil, "Authorization", "bearer "+testToken).must(t, http.StatusOK)
		e.do(http.MethodGet, "/Users", nil, "Authorization", "Bearer "+testToken+"x").must(t, http.StatusUnauthorized)
		r := e.do(http.MethodGet, "/Users", nil, "X-Request-Id", "req-42").must(t, http.StatusOK)
		require.Equal(t, "req-42", r.header.Get("X-Request-Id"))
	})
	sum := sha256.Sum256([]byte("a-plain-token-of-sufficient-length"))
	h, err := ParseToken("sha256:" + hex.EncodeToString(sum[:]))
	require.NoError(t, err)
	p, err := ParseToken("a-plain-token-of-sufficient-length")
	require.NoError(t, err)
	require.Equal(t, h, p, "both forms of one token are the same digest")
	for _, bad := range []string{"short", "sha256:abc", "sha256:" + strings.Repeat("z", 64)} {
		_, err := ParseToken(bad)
		require.Error(t, err, bad)
	}
}

// TestPasswordsAreDiscarded checks that a password never reaches the store or a
// response, whatever the request shape.
func TestPasswordsAreDiscarded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		const secret = "Hunter2-Pa55word"
		r := e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@example.com","password":"`+secret+`"}`).must(t, http.StatusCreated)
		id := r.str("id")
		e.do(http.MethodPut, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@example.com","password":"`+secret+`"}`).must(t, http.StatusOK)
		e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"password":"`+secret+`"}}]}`).must(t, http.StatusOK)
		e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","path":"password","value":"`+secret+`"}]}`).must(t, http.StatusOK)
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.NotContains(t, string(r.raw), secret)
		require.NoError(t, e.store.View(t.Context(), func(tx store.Tx) error {
			u, err := tx.GetUser(t.Context(), id)
			require.NoError(t, err)
			require.NotContains(t, fmt.Sprint(u.Attributes), secret)
			return nil
		}))
		for _, entry := range e.logs.All() {
			require.NotContains(t, fmt.Sprint(entry.Message, entry.Context), secret)
		}
	})
}

// TestConcurrentDuplicateCreates: of many simultaneous creates of one userName
// (differing in case), exactly one succeeds; the others get 409.
func TestConcurrentDuplicateCreates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		const n = 16
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				name := "Race@Example.com"
				if i%2 == 1 {
					name = strings.ToLower(name)
				}
				statuses[i] = e.do(http.MethodPost, "/Users", userBody(name)).status
			})
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, s)
			if s == http.StatusCreated {
				created++
			}
		}
		require.Equal(t, 1, created)
		require.Len(t, e.intents(), 1, "one account add, from the one create that succeeded")
	})
}
