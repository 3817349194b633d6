package resource

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// TestApplyPatchAddsAreLinear: adding many values, in one operation or in
// many, is matched through an index; comparing each value with every element
// (as before) took minutes for tens of thousands of values.
func TestApplyPatchAddsAreLinear(t *testing.T) {
	const n = 20000
	g := GroupSchema()
	existing := make([]any, n)
	added := make([]any, n)
	for i := range n {
		existing[i] = map[string]any{"value": fmt.Sprintf("u%d", i)}
		added[i] = map[string]any{"value": fmt.Sprintf("u%d", i+n/2), "display": "x"}
	}
	doc := map[string]any{"displayName": "big", "members": existing}
	start := time.Now()
	out, changed, err := g.ApplyPatch(doc, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "members"), Value: added}})
	require.NoError(t, err)
	require.True(t, changed)
	require.Len(t, out["members"], n+n/2, "half of the added members were members already")

	// Many operations adding one value each, to one attribute.
	var ops []scim.PatchOperation
	for i := range MaxOperations {
		ops = append(ops, scim.PatchOperation{Op: "add", Path: pathOf(t, "members"), Value: []any{map[string]any{"value": fmt.Sprintf("new%d", i%(MaxOperations/2))}}})
	}
	out, _, err = g.ApplyPatch(out, ops)
	require.NoError(t, err)
	require.Len(t, out["members"], n+n/2+MaxOperations/2)
	require.Less(t, time.Since(start), 10*time.Second, "quadratic matching takes minutes here")

	// Removal by a value list is indexed too.
	out, _, err = g.ApplyPatch(out, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, "members"), Value: added}})
	require.NoError(t, err)
	require.Len(t, out["members"], n/2+MaxOperations/2)
}

// TestApplyPatchValueLimit: no multi-valued attribute but a group's members
// grows beyond bridge.MaxValues values.
func TestApplyPatchValueLimit(t *testing.T) {
	u := UserSchema()
	emails := func(from, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"value": fmt.Sprintf("e%d@x.io", from+i)}
		}
		return out
	}
	_, _, err := u.ApplyPatch(map[string]any{"userName": "u"}, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "emails"), Value: emails(0, bridge.MaxValues)}})
	require.NoError(t, err)
	_, _, err = u.ApplyPatch(map[string]any{"userName": "u"}, []scim.PatchOperation{
		{Op: "add", Path: pathOf(t, "emails"), Value: emails(0, bridge.MaxValues)},
		{Op: "add", Path: pathOf(t, "emails"), Value: emails(bridge.MaxValues, 1)},
	})
	var se *scimerrors.ScimError
	require.ErrorAs(t, err, &se)
	require.Equal(t, scimerrors.ScimTypeInvalidValue, se.ScimType)
	require.Contains(t, se.Detail, "Operations[1]")
}

// TestApplyPatchIndexStaysCorrect: the element index cached across adds
// follows every other change to the attribute.
func TestApplyPatchIndexStaysCorrect(t *testing.T) {
	u := UserSchema()
	doc := map[string]any{"userName": "u", "emails": []any{map[string]any{"value": "a@x.io", "type": "work"}}}
	out, _, err := u.ApplyPatch(doc, []scim.PatchOperation{
		{Op: "add", Path: pathOf(t, "emails"), Value: []any{map[string]any{"value": "b@x.io", "type": "home"}}},
		{Op: "replace", Path: pathOf(t, `emails[type eq "home"].value`), Value: "c@x.io"},
		{Op: "add", Path: pathOf(t, "emails"), Value: []any{map[string]any{"value": "C@x.io", "type": "HOME", "primary": true}}},
		{Op: "add", Path: pathOf(t, "emails"), Value: []any{map[string]any{"value": "b@x.io", "type": "home"}}},
		{Op: "remove", Path: pathOf(t, `emails[value eq "a@x.io"]`)},
		{Op: "add", Path: pathOf(t, "emails"), Value: []any{map[string]any{"value": "a@x.io", "type": "work"}}},
	})
	require.NoError(t, err)
	require.Equal(t, []any{
		map[string]any{"value": "C@x.io", "type": "HOME", "primary": true},
		map[string]any{"value": "b@x.io", "type": "home"},
		map[string]any{"value": "a@x.io", "type": "work"},
	}, out["emails"])
}

func TestApplyPatchStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := UserSchema().ApplyPatchContext(ctx, map[string]any{"userName": "u"},
		[]scim.PatchOperation{{Op: "replace", Path: pathOf(t, "title"), Value: "x"}})
	require.ErrorIs(t, err, context.Canceled)
}

func TestApplyPatchExtensionPath(t *testing.T) {
	u := UserSchema()
	doc := map[string]any{"userName": "u", EnterpriseURN: map[string]any{"department": "D", "employeeNumber": "1"}}
	out, changed, err := u.ApplyPatch(doc, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, EnterpriseURN), Value: map[string]any{"department": "E", "manager": map[string]any{"value": "m"}}}})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, map[string]any{"department": "E", "employeeNumber": "1", "manager": map[string]any{"value": "m"}}, out[EnterpriseURN])
	out, _, err = u.ApplyPatch(out, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, EnterpriseURN)}})
	require.NoError(t, err)
	require.NotContains(t, out, EnterpriseURN)
}
