package scim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// TestMemberDisplayIsReadOnly: the bridge shows each member's current
// userName as display and says so in /Schemas (mutability readOnly); a
// client's display is ignored, never an error.
func TestMemberDisplayIsReadOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("display@example.com"))
		g := e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Display","members":[{"value":"`+id+`","display":"Client Name"}]}`).
			must(t, http.StatusCreated)
		require.Equal(t, "display@example.com", g.str("members.0.display"))
		id2 := e.createUser(userBody("display2@example.com"))
		e.do(http.MethodPatch, "/Groups/"+g.str("id"), patchBody(`{"op":"add","path":"members","value":[{"value":"`+id2+`","display":"Okta Display"}]}`)).must(t, http.StatusNoContent)
		r := e.do(http.MethodGet, "/Groups/"+g.str("id"), nil).must(t, http.StatusOK)
		require.Equal(t, "display2@example.com", r.str("members.1.display"))
		require.NotContains(t, string(r.raw), "Okta Display")

		members := schemaAttribute(t, e, resource.GroupURN, "members")
		var display map[string]any
		for _, sub := range members["subAttributes"].([]any) {
			if s := sub.(map[string]any); s["name"] == "display" {
				display = s
			}
		}
		require.Equal(t, "readOnly", display["mutability"])
		require.Contains(t, display["description"], "userName")
	})
}

// schemaAttribute returns an attribute definition from GET /Schemas/{urn}.
func schemaAttribute(t *testing.T, e *env, urn, name string) map[string]any {
	t.Helper()
	r := e.do(http.MethodGet, "/Schemas/"+urn, nil).must(t, http.StatusOK)
	for _, a := range r.get("attributes").([]any) {
		if m := a.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no attribute %s in %s", name, urn)
	return nil
}

// TestSchemasTellTheTruth: /Schemas describes what the bridge enforces: the
// BigCommerce email is unique among active users, and an absent active
// never grants access.
func TestSchemasTellTheTruth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		emails := schemaAttribute(t, e, resource.UserURN, "emails")
		require.Contains(t, emails["description"], "BigCommerce")
		for _, sub := range emails["subAttributes"].([]any) {
			if s := sub.(map[string]any); s["name"] == "value" {
				require.Equal(t, "server", s["uniqueness"])
				require.Contains(t, s["description"], "active")
			}
		}
		userName := schemaAttribute(t, e, resource.UserURN, "userName")
		require.Equal(t, "server", userName["uniqueness"])
		require.Contains(t, userName["description"], "BigCommerce")
		active := schemaAttribute(t, e, resource.UserURN, "active")
		require.Contains(t, active["description"], "absent")

		// What the schema says is what happens: a second active user with the
		// same BigCommerce email is refused with 409 uniqueness.
		e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first","emails":[{"value":"same@example.com","primary":true}]}`)
		r := e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"second","emails":[{"value":"SAME@example.com","primary":true}]}`).must(t, http.StatusConflict)
		require.Equal(t, "uniqueness", r.str("scimType"))
		require.True(t, strings.Contains(r.str("detail"), "emails"))
	})
}

// TestPatchExtensionObject: a PATCH path that is a bare extension URN with an
// object value adds, replaces and removes that extension's attributes.
func TestPatchExtensionObject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("ext@example.com"))
		ent := resource.EnterpriseURN
		r := e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"add","path":"`+ent+`","value":{"department":"R&D","employeeNumber":"42","manager":{"value":"m1"}}}`)).must(t, http.StatusOK)
		require.Equal(t, "R&D", r.str(ent+".department"))
		require.Equal(t, "m1", r.str(ent+".manager.value"))
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","path":"`+ent+`","value":{"department":"Ops"}}`)).must(t, http.StatusOK)
		require.Equal(t, "Ops", r.str(ent+".department"))
		require.Equal(t, "42", r.str(ent+".employeeNumber"), "replace of a complex target keeps sub-attributes it does not name")
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Equal(t, "Ops", r.str(ent+".department"))
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"remove","path":"`+ent+`"}`)).must(t, http.StatusOK)
		require.Nil(t, r.get(ent))
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Nil(t, r.get(ent))
		// A value that is not an object is refused.
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"add","path":"`+ent+`","value":"x"}`)).must(t, http.StatusBadRequest)
		require.NotEmpty(t, r.str("scimType"))
	})
}
