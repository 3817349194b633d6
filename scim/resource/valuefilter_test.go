package resource

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValueFilterOneParser checks (on paths the library's parser accepts:
// it refuses some that RFC 7644 allows, such as chains of three "or") that a PATCH value path, parsed by the
// library and rendered back to text, compiles to the same filter as the same
// value path in a SCIM filter: one parser decides both.
func TestValueFilterOneParser(t *testing.T) {
	us, gs := UserSchema(), GroupSchema()
	for _, tc := range []struct {
		schema *Schema
		path   string
	}{
		{gs, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`},
		{us, `emails[type eq "work"]`},
		{us, `emails[TYPE Eq "Work" and primary eq true]`},
		{us, `emails[type eq "work" or value co "x"]`},
		{us, `emails[not (type eq "a" or primary eq false)]`},
		{us, `emails[type eq "a" and value ew "@x"]`},
		{us, `emails[value eq "quote \" and backslash \\"]`},
		{us, `emails[value eq 2.5 or value eq 7]`},
		{us, `emails[display ne null]`},
		{us, `phoneNumbers[value gt "+1"]`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, err := tc.schema.CompileFilter(tc.path)
			require.NoError(t, err)
			require.Equal(t, kindValuePath, f.root.kind)

			p := pathOf(t, tc.path)
			text, err := valueFilterText(p.ValueExpression, 0)
			require.NoError(t, err)
			got, err := tc.schema.compileValueFilter(f.root.top, text)
			require.NoError(t, err)
			require.Equal(t, flattenLogic(f.root.kids[0]), flattenLogic(got), "rendered as %s", text)
		})
	}
}

// flattenLogic merges nested and/or nodes of the same kind, so that a chain
// parsed as nested pairs compares equal to the same chain parsed flat.
func flattenLogic(n *node) *node {
	c := *n
	c.kids = nil
	for _, k := range n.kids {
		k = flattenLogic(k)
		if (n.kind == kindAnd || n.kind == kindOr) && k.kind == n.kind {
			c.kids = append(c.kids, k.kids...)
		} else {
			c.kids = append(c.kids, k)
		}
	}
	return &c
}
