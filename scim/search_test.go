package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim/resource"
)

const searchRequest = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// search builds a SearchRequest body.
func search(fields map[string]any) string {
	fields["schemas"] = []string{searchRequest}
	raw, _ := json.Marshal(fields)
	return string(raw)
}

// TestSearch: POST /Users/.search, /Groups/.search and /.search (RFC 7644
// §3.4.3) answer as the equivalent GET does: same filters, attribute
// selection and paging.
func TestSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		var ids []string
		for _, n := range []string{"sa", "sb", "sc", "sd"} {
			ids = append(ids, e.createUser(userBody(n+"@search.example.com")))
		}
		e.createUser(userBody("other@example.com"))
		g := e.do(http.MethodPost, "/Groups", groupBody("Plant Market", ids[0], ids[1])).must(t, http.StatusCreated).str("id")
		e.do(http.MethodPost, "/Groups", groupBody("Searchers")).must(t, http.StatusCreated)

		get := e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName ew "search.example.com"`)+"&attributes=userName&startIndex=2&count=2", nil).must(t, http.StatusOK)
		post := e.do(http.MethodPost, "/Users/.search", search(map[string]any{
			"filter": `userName ew "search.example.com"`, "attributes": []string{"userName"}, "startIndex": 2, "count": 2,
		})).must(t, http.StatusOK)
		require.Equal(t, get.body, post.body)
		require.Equal(t, float64(4), post.get("totalResults"))
		require.Equal(t, ids[1], post.str("Resources.0.id"))
		require.Nil(t, post.get("Resources.0.emails"))

		r := e.do(http.MethodPost, "/Groups/.search", search(map[string]any{
			"filter": `displayName eq "plant market"`, "excludedAttributes": []string{"members"},
		})).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		require.Equal(t, g, r.str("Resources.0.id"))
		require.Nil(t, r.get("Resources.0.members"))
		r = e.do(http.MethodPost, "/Groups/.search", search(map[string]any{"filter": `members eq "` + ids[1] + `"`})).must(t, http.StatusOK)
		require.Len(t, r.get("Resources.0.members"), 2)

		// The root searches every resource type: users first, then groups,
		// paged across both; a filter on attributes one type lacks selects
		// only the other type.
		r = e.do(http.MethodPost, "/.search", search(map[string]any{})).must(t, http.StatusOK)
		require.Equal(t, float64(7), r.get("totalResults"))
		r = e.do(http.MethodPost, "/.search", search(map[string]any{"startIndex": 4, "count": 3, "attributes": []string{"displayName", "userName"}})).must(t, http.StatusOK)
		require.Equal(t, float64(7), r.get("totalResults"))
		require.Len(t, r.get("Resources"), 3)
		require.Equal(t, "sd@search.example.com", r.str("Resources.0.userName"))
		require.Equal(t, "other@example.com", r.str("Resources.1.userName"))
		require.Equal(t, "Plant Market", r.str("Resources.2.displayName"))
		require.Contains(t, r.get("Resources.2.schemas"), resource.GroupURN)
		r = e.do(http.MethodPost, "/.search", search(map[string]any{"filter": `userName sw "s"`})).must(t, http.StatusOK)
		require.Equal(t, float64(4), r.get("totalResults"))
		r = e.do(http.MethodPost, "/.search", search(map[string]any{"filter": `displayName eq "Searchers"`})).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		r = e.do(http.MethodGet, "/?filter="+url.QueryEscape(`members pr`), nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))

		// Errors are SCIM errors.
		r = e.do(http.MethodPost, "/Users/.search", search(map[string]any{"filter": `userName eq`})).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidFilter", r.str("scimType"))
		r = e.do(http.MethodPost, "/.search", search(map[string]any{"filter": `nosuch eq "x"`})).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidFilter", r.str("scimType"))
		r = e.do(http.MethodPost, "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.str("scimType"))
		r = e.do(http.MethodPost, "/Users/.search", search(map[string]any{"count": "ten"})).must(t, http.StatusBadRequest)
		require.Contains(t, r.str("detail"), "count")
		e.do(http.MethodPost, "/Users/.search", "not json").must(t, http.StatusBadRequest)
		r = e.do(http.MethodPost, "/Users/.search", search(map[string]any{})+` {}`).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidSyntax", r.str("scimType"), "a search body is one JSON document too")
		e.do(http.MethodGet, "/Users/.search", nil).must(t, http.StatusMethodNotAllowed)
	})
}

// TestTrailingSlash: /Users/ and /Groups/ are the collections.
func TestTrailingSlash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("slash@example.com"))
		e.do(http.MethodPost, "/Groups/", groupBody("Slashed", id)).must(t, http.StatusCreated)
		r := e.do(http.MethodGet, "/Users/?filter="+url.QueryEscape(`userName eq "slash@example.com"`), nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		require.Equal(t, id, r.str("Resources.0.id"))
		r = e.do(http.MethodGet, "/Groups/", nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		r = e.do(http.MethodGet, "/Users/"+id+"/", nil).must(t, http.StatusOK)
		require.Equal(t, id, r.str("id"))
	})
}
