package resource

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// TestImpossibleFilterValues: comparisons with strings no store keeps (NUL,
// invalid UTF-8) match nothing, are never sent to the store, and their
// negation matches what has the attribute.
func TestImpossibleFilterValues(t *testing.T) {
	u := UserSchema()
	doc := map[string]any{"userName": "\ufffd", "emails": []any{map[string]any{"value": "\ufffd@x.io"}}}
	for _, v := range []string{"\xff", "a\x00", `\u0000`} {
		for _, tc := range []struct {
			filter string
			push   store.Expr
			match  bool
		}{
			{`userName eq "%s"`, store.Or{}, false},
			{`userName co "%s"`, store.Or{}, false},
			{`id sw "%s"`, store.Or{}, false},
			{`emails[value ew "%s"]`, store.Or{}, false},
			{`emails.value eq "%s"`, store.Or{}, false},
			{`userName ne "%s"`, store.Cond{Field: store.FieldUserName, Op: store.OpPr}, true},
			{`not (userName eq "%s")`, store.Not{X: store.Or{}}, true},
		} {
			f, err := u.CompileFilter(fmt.Sprintf(tc.filter, v))
			require.NoError(t, err)
			require.Equal(t, tc.push, f.Pushdown, tc.filter)
			require.True(t, f.Exact, tc.filter)
			require.Equal(t, tc.match, f.Match(doc), tc.filter)
		}
		f, err := u.CompileFilter(fmt.Sprintf(`userName gt "%s"`, v))
		require.NoError(t, err)
		require.Nil(t, f.Pushdown, "an ordering with such a value is left to Match")
	}
}
