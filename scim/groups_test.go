package scim

import (
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
