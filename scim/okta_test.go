package scim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOktaSpecSuite replays Okta's SCIM 2.0 spec test (Okta-SCIM-20-SPEC-Test)
// with its exact requests and asserts each of its assertions.
func TestOktaSpecSuite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Precondition: at least one user exists.
		e.createUser(userBody("existing.user@atko.com"))

		// 1 Required: Test Users endpoint.
		r := e.do(http.MethodGet, "/Users?count=1&startIndex=1", nil).must(t, http.StatusOK)
		require.Contains(t, r.get("schemas"), "urn:ietf:params:scim:api:messages:2.0:ListResponse")
		for _, k := range []string{"itemsPerPage", "startIndex", "totalResults"} {
			require.IsType(t, float64(0), r.get(k), k+" is a JSON number")
		}
		require.Len(t, r.get("Resources"), 1)
		for _, k := range []string{"id", "name.familyName", "name.givenName", "userName", "emails.0.value"} {
			require.NotEmpty(t, r.get("Resources.0."+k), k)
		}
		require.Equal(t, true, r.get("Resources.0.active"))
		isvID := r.str("Resources.0.id")

		// 2 Required: Get Users/{{id}}.
		r = e.do(http.MethodGet, "/Users/"+isvID, nil).must(t, http.StatusOK)
		require.Equal(t, isvID, r.str("id"))
		require.Equal(t, "existing.user@atko.com", r.str("userName"))

		// 3 Required: Test invalid User by username (the test's "+"-free encoding).
		r = e.do(http.MethodGet, `/Users?filter=userName%20eq%20%22abcdefgh%40atko.com%22`, nil).must(t, http.StatusOK)
		require.Equal(t, float64(0), r.get("totalResults"))
		require.Contains(t, r.get("schemas"), "urn:ietf:params:scim:api:messages:2.0:ListResponse")

		// 4 Required: Test invalid User by ID.
		r = e.do(http.MethodGet, "/Users/010101001010101011001010101011", nil).must(t, http.StatusNotFound)
		require.NotEmpty(t, r.str("detail"))
		require.Contains(t, r.get("schemas"), errorSchema)

		// 5 Required: Make sure random user doesn't exist ('+' for spaces, as Okta's 2018 capture).
		r = e.do(http.MethodGet, `/Users?filter=userName+eq+%22Runscope123Abcdefghi456%40atko.com%22&startIndex=1&count=100`, nil).must(t, http.StatusOK)
		require.Equal(t, float64(0), r.get("totalResults"))
		require.Equal(t, float64(0), r.get("itemsPerPage"))
		require.Equal(t, []any{}, r.get("Resources"))

		// 6 Required: Create Okta user with realistic values (Content-Type application/json).
		body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Runscope123Abcdefghi456@atko.com","name":{"givenName":"Runscope123","familyName":"Abcdefghi456"},"emails":[{"primary":true,"value":"Runscope123Abcdefghi456@atko.com","type":"work"}],"displayName":"Runscope123 Abcdefghi456","active":true}`
		r = e.do(http.MethodPost, "/Users", body, "Content-Type", "application/json").must(t, http.StatusCreated)
		require.Equal(t, true, r.get("active"))
		require.NotEmpty(t, r.str("id"))
		require.Equal(t, "Abcdefghi456", r.str("name.familyName"))
		require.Equal(t, "Runscope123", r.str("name.givenName"))
		require.Contains(t, r.get("schemas"), "urn:ietf:params:scim:schemas:core:2.0:User")
		require.Equal(t, "Runscope123Abcdefghi456@atko.com", r.str("userName"), "userName kept exactly as sent")
		require.True(t, strings.HasPrefix(r.header.Get("Location"), "http://"), "absolute Location")
		require.Equal(t, r.header.Get("Location"), r.str("meta.location"))
		idUserOne := r.str("id")

		// 7 Required: Verify that user was created.
		r = e.do(http.MethodGet, "/Users/"+idUserOne, nil).must(t, http.StatusOK)
		require.Equal(t, "Runscope123Abcdefghi456@atko.com", r.str("userName"))
		require.Equal(t, "Abcdefghi456", r.str("name.familyName"))

		// 8 Required: Expect failure when recreating user with same values.
		r = e.do(http.MethodPost, "/Users", body, "Content-Type", "application/json").must(t, http.StatusConflict)
		require.Equal(t, "uniqueness", r.str("scimType"))

		// 9 Required: Username Case Sensitivity Check.
		r = e.do(http.MethodGet, `/Users?filter=userName%20eq%20%22RUNSCOPE123ABCDEFGHI456%40ATKO.COM%22`, nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"), "userName compares case-insensitively")
		require.Equal(t, idUserOne, r.str("Resources.0.id"))

		// 10 Optional: Verify Groups endpoint.
		r = e.do(http.MethodGet, "/Groups", nil).must(t, http.StatusOK)
		require.IsType(t, []any{}, r.get("Resources"))

		// 11 Required: Check status 401.
		r = e.do(http.MethodGet, `/Users?filter=userName%20eq%20%22RUNSCOPE123ABCDEFGHI456%40ATKO.COM%22`, nil, "Authorization", "non-token").must(t, http.StatusUnauthorized)
		require.NotEmpty(t, r.str("detail"))
		require.Equal(t, "401", r.str("status"))
		require.Contains(t, r.get("schemas"), errorSchema)

		// 12 Required: Check status 404.
		r = e.do(http.MethodGet, "/Users/00919288221112222", nil).must(t, http.StatusNotFound)
		require.Equal(t, "404", r.str("status"))
	})
}
