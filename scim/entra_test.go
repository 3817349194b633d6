package scim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

const entraCreate = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
  "active": true,
  "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
  "roles": []
}`

// TestEntraUserLifecycle replays Microsoft Entra ID's user provisioning
// (connection test, create, read, update, disable, delete) with its exact bodies.
func TestEntraUserLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// 2.3 Test Connection: a random GUID must give 200 and an empty list.
		r := e.do(http.MethodGet, "/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22", nil).must(t, http.StatusOK)
		require.Equal(t, float64(0), r.get("totalResults"))

		// 2.4 Create.
		r = e.do(http.MethodPost, "/Users", entraCreate).must(t, http.StatusCreated)
		id := r.str("id")
		require.Equal(t, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", r.str("externalId"))
		require.NotContains(t, r.body, "password")
		require.Equal(t, "test_user_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
			r.str("urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User.bigcommerceEmail"),
			"a GUID userName falls back to the work email as the BigCommerce identity")
		require.Equal(t, "pending", r.str("urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User.syncState"))

		// Matching queries: userName, externalId, and the value path Entra uses.
		for _, f := range []string{
			`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
			`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
			`emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"`,
			`UserName eq "TEST_USER_00AA00AA-BB11-CC22-DD33-44EE44EE44EE"`,
		} {
			r = e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(f), nil).must(t, http.StatusOK)
			require.Equal(t, float64(1), r.get("totalResults"), f)
			require.Equal(t, id, r.str("Resources.0.id"), f)
		}

		// 2.6 (a) multi-valued + sub-attribute replace, default mode.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
			{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}`).must(t, http.StatusOK)
		require.Equal(t, "updatedEmail@microsoft.com", r.str("emails.0.value"))
		require.Equal(t, "updatedFamilyName", r.str("name.familyName"))
		require.Equal(t, "givenName", r.str("name.givenName"))

		// 2.6 (b) path-less replace with dotted and URN keys (aadOptscim062020).
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},
			{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
			 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}`).must(t, http.StatusOK)
		require.Equal(t, "Bjfe", r.str("displayName"))
		require.Equal(t, "Kkom", r.str("name.givenName"))
		require.Equal(t, "Aklq", r.str("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber"))

		// 2.6 (c) Add on a single-valued attribute.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}`).must(t, http.StatusOK)
		require.Equal(t, "Babs", r.str("nickName"))

		// 2.6 (g) manager: raw string, then object, then removal by empty value.
		mgr := e.createUser(userBody("manager@contoso.com"))
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr+`"}]}`).must(t, http.StatusOK)
		require.Equal(t, mgr, r.str("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value"))
		// The old two-clause manager check, unquoted, with attributes=id.
		r = e.do(http.MethodGet, "/Users?filter="+url.QueryEscape("id eq "+id+" and manager eq "+mgr)+"&attributes=id", nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		require.Nil(t, r.get("Resources.0.userName"), "attributes=id returns only id (and schemas/meta)")
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`).must(t, http.StatusOK)
		require.Nil(t, r.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager"))

		// 2.6 (e) userName rename keeps the id; collision gives 409.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`).must(t, http.StatusOK)
		require.Equal(t, id, r.str("id"))
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"MANAGER@contoso.com"}]}`).must(t, http.StatusConflict)
		require.Equal(t, "uniqueness", r.str("scimType"))

		// 2.7 Disable with the string "False"; GET and filter still return it.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).must(t, http.StatusOK)
		require.Equal(t, false, r.get("active"))
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Equal(t, false, r.get("active"))
		r = e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"`), nil).must(t, http.StatusOK)
		require.Equal(t, false, r.get("Resources.0.active"))
		// Re-enable with a real boolean.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":true}]}`).must(t, http.StatusOK)
		require.Equal(t, true, r.get("active"))

		// 2.8 Hard delete: 204, then 404 on GET and on a second DELETE.
		e.do(http.MethodDelete, "/Users/"+id, nil, "Content-Type", "application/scim+json").must(t, http.StatusNoContent)
		e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusNotFound)
		e.do(http.MethodDelete, "/Users/"+id, nil).must(t, http.StatusNotFound)
		e.do(http.MethodDelete, "/Users/does-not-exist", nil).must(t, http.StatusNotFound)
	})
}

// TestEntraGroups replays §2.9: groups created empty, every read with
// excludedAttributes=members, members added and removed in both Entra modes.
func TestEntraGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u1 := e.createUser(userBody("one@contoso.com"))
		u2 := e.createUser(userBody("two@contoso.com"))
		r := e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
			"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}}`).must(t, http.StatusCreated)
		gid := r.str("id")
		require.Equal(t, []any{}, r.get("members"))

		r = e.do(http.MethodGet, "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "DISPLAYNAME"`), nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))
		require.NotContains(t, r.get("Resources.0").(map[string]any), "members")

		e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+u1+`"},{"$ref":null,"value":"`+u2+`"}]}]}`).must(t, http.StatusNoContent)
		r = e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusOK)
		require.Len(t, r.get("members"), 2)
		r = e.do(http.MethodGet, "/Groups/"+gid+"?excludedAttributes=members", nil).must(t, http.StatusOK)
		require.NotContains(t, r.body, "members")

		// Default mode: Remove with a value array removes only those members.
		e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+u1+`"}]}]}`).must(t, http.StatusNoContent)
		r = e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusOK)
		require.Len(t, r.get("members"), 1)
		require.Equal(t, u2, r.str("members.0.value"))
		// Membership check filter (third-party report).
		r = e.do(http.MethodGet, "/Groups?filter="+url.QueryEscape(`id eq "`+gid+`" and members eq "`+u2+`"`)+"&attributes=id", nil).must(t, http.StatusOK)
		require.Equal(t, float64(1), r.get("totalResults"))

		// Flag mode: filter-path removal.
		e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+u2+`\"]"}]}`).must(t, http.StatusNoContent)
		r = e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusOK)
		require.Equal(t, []any{}, r.get("members"))

		// Rename and externalId, then add and remove one member in one request (nets out).
		e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"1879db59updatedDisplayName"},{"op":"Add","path":"externalId","value":"new-ext"}]}`).must(t, http.StatusNoContent)
		e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+u1+`"}]},{"op":"remove","path":"members[value eq \"`+u1+`\"]"}]}`).must(t, http.StatusNoContent)
		r = e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusOK)
		require.Equal(t, "1879db59updatedDisplayName", r.str("displayName"))
		require.Equal(t, "new-ext", r.str("externalId"))
		require.Equal(t, []any{}, r.get("members"))

		// Unknown member: 400, nothing changed.
		r = e.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+u1+`"},{"value":"no-such-user"}]}]}`).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.str("scimType"))
		r = e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusOK)
		require.Equal(t, []any{}, r.get("members"), "a refused PATCH changes nothing")

		// Duplicate displayName (case-insensitive) gives 409; delete then 404.
		e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"1879DB59UPDATEDDISPLAYNAME"}`).must(t, http.StatusConflict)
		e.do(http.MethodDelete, "/Groups/"+gid, nil).must(t, http.StatusNoContent)
		e.do(http.MethodGet, "/Groups/"+gid, nil).must(t, http.StatusNotFound)
		e.do(http.MethodDelete, "/Groups/"+gid, nil).must(t, http.StatusNotFound)
	})
}
