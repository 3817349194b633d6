package scim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
	filter "github.com/scim2/filter-parser/v2"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

func op(t *testing.T, name, path string, value any) scim.PatchOperation {
	t.Helper()
	o := scim.PatchOperation{Op: name, Value: value}
	if path != "" {
		p, err := filter.ParsePath([]byte(path))
		require.NoError(t, err)
		o.Path = &p
	}
	return o
}

func members(ids ...string) []any {
	var out []any
	for _, id := range ids {
		out = append(out, map[string]any{"value": id})
	}
	return out
}

func TestMemberDelta(t *testing.T) {
	cases := []struct {
		name   string
		ops    []scim.PatchOperation
		ok     bool
		change bridge.MemberChange
		rest   int
	}{
		{"okta remove then add", []scim.PatchOperation{op(t, "remove", `members[value eq "u1"]`, nil), op(t, "add", "members", members("u2", "u3"))},
			true, bridge.MemberChange{Add: []string{"u2", "u3"}, Remove: []string{"u1"}}, 0},
		{"entra value-list removal", []scim.PatchOperation{op(t, "remove", "members", members("u1", "u2"))},
			true, bridge.MemberChange{Remove: []string{"u1", "u2"}}, 0},
		{"add then remove nets out as a removal", []scim.PatchOperation{op(t, "add", "members", members("u1")), op(t, "remove", `members[value eq "u1"]`, nil)},
			true, bridge.MemberChange{Remove: []string{"u1"}}, 0},
		{"rename alongside", []scim.PatchOperation{op(t, "replace", "", map[string]any{"displayName": "x"}), op(t, "add", "members", members("u1"))},
			true, bridge.MemberChange{Add: []string{"u1"}}, 1},
		{"replace needs the whole list", []scim.PatchOperation{op(t, "replace", "members", members("u1"))}, false, bridge.MemberChange{}, 0},
		{"clear needs the whole list", []scim.PatchOperation{op(t, "remove", "members", nil)}, false, bridge.MemberChange{}, 0},
		{"other filters need the whole list", []scim.PatchOperation{op(t, "remove", `members[display eq "x"]`, nil)}, false, bridge.MemberChange{}, 0},
		{"or needs the whole list", []scim.PatchOperation{op(t, "remove", `members[value eq "u1" or value eq "u2"]`, nil)}, false, bridge.MemberChange{}, 0},
		{"not needs the whole list", []scim.PatchOperation{op(t, "remove", `members[not (value eq "u1")]`, nil)}, false, bridge.MemberChange{}, 0},
		{"escaped value needs the engine", []scim.PatchOperation{op(t, "remove", `members[value eq "u\"1"]`, nil)}, false, bridge.MemberChange{}, 0},
		{"members in a path-less value", []scim.PatchOperation{op(t, "add", "", map[string]any{"members": members("u1")})}, false, bridge.MemberChange{}, 0},
		{"no member operation", []scim.PatchOperation{op(t, "replace", "displayName", "x")}, true, bridge.MemberChange{}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc, rest, ok := memberDelta(tc.ops)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.change, mc)
				require.Len(t, rest, tc.rest)
			}
		})
	}
}

// groupBody is a group with the given members.
func groupBody(name string, memberIDs ...string) string {
	var ms []string
	for _, id := range memberIDs {
		ms = append(ms, `{"value":"`+id+`"}`)
	}
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"` + name + `","members":[` + strings.Join(ms, ",") + `]}`
}

// memberIDsOf returns the member ids of a group as GET shows them.
func (e *env) memberIDsOf(groupID string) []string {
	e.t.Helper()
	r := e.do(http.MethodGet, "/Groups/"+groupID, nil).must(e.t, http.StatusOK)
	var ids []string
	ms, _ := r.get("members").([]any)
	for _, m := range ms {
		ids = append(ids, m.(map[string]any)["value"].(string))
	}
	return ids
}

// TestGroupPatchFilteredRemoval: member removal by any filter the filter
// engine understands works (Okta and third-party suites send or/not), never a 500.
func TestGroupPatchFilteredRemoval(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u1, u2, u3 := e.createUser(userBody("f1@example.com")), e.createUser(userBody("f2@example.com")), e.createUser(userBody("f3@example.com"))
		g := e.do(http.MethodPost, "/Groups", groupBody("Filtered", u1, u2, u3)).must(t, http.StatusCreated).str("id")

		e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"remove","path":"members[value eq \"`+u1+`\" or value eq \"`+u2+`\"]"}`)).must(t, http.StatusNoContent)
		require.Equal(t, []string{u3}, e.memberIDsOf(g))

		e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[{"value":"`+u1+`"},{"value":"`+u2+`"}]}`)).must(t, http.StatusNoContent)
		e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"remove","path":"members[not (value eq \"`+u3+`\")]"}`)).must(t, http.StatusNoContent)
		require.Equal(t, []string{u3}, e.memberIDsOf(g))

		// A filter naming no member changes nothing; an unknown sub-attribute is a 400.
		e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"remove","path":"members[value eq \"nobody\" or value eq \"none\"]"}`)).must(t, http.StatusNoContent)
		require.Equal(t, []string{u3}, e.memberIDsOf(g))
		r := e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"remove","path":"members[bogus eq \"x\" or value eq \"y\"]"}`)).must(t, http.StatusBadRequest)
		require.Contains(t, []string{"invalidPath", "invalidFilter"}, r.str("scimType"))
	})
}
