package resource

import (
	"errors"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// TestApplyPatchDirect covers operation shapes elimity lets through but no
// IdP example uses, with operations built the way elimity builds them.
func TestApplyPatchDirect(t *testing.T) {
	us := UserSchema()
	tests := []struct {
		name    string
		before  string
		ops     []scim.PatchOperation
		want    string
		changed bool
	}{
		{
			name:    "or in a path filter",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails[type eq "home" or type eq "work"].display`), Value: "E"}},
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work","display":"E"},{"value":"h@x.com","type":"home","display":"E"}]}`,
			changed: true,
		},
		{
			name:    "not in a path filter",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `emails[not (type eq "work")]`)}},
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"}]}`,
			changed: true,
		},
		{
			name:    "null comparison in a path filter",
			before:  `{"userName":"u","emails":[{"value":"a@x.com"},{"value":"b@x.com","type":"home"}]}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `emails[type eq null].type`), Value: "other"}},
			want:    `{"userName":"u","emails":[{"value":"a@x.com","type":"other"},{"value":"b@x.com","type":"home"}]}`,
			changed: true,
		},
		{
			name:    "ne null in a path filter",
			before:  `{"userName":"u","emails":[{"value":"a@x.com"},{"value":"b@x.com","type":"home"}]}`,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `emails[type ne null]`)}},
			want:    `{"userName":"u","emails":[{"value":"a@x.com"}]}`,
			changed: true,
		},
		{
			name:    "escaped quote in a path filter",
			before:  `{"userName":"u","emails":[{"value":"a\"b@x.com"},{"value":"c@x.com"}]}`,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `emails[value eq "A\"B@x.com"]`)}},
			want:    `{"userName":"u","emails":[{"value":"c@x.com"}]}`,
			changed: true,
		},
		{
			name:    "number compared with a string sub-attribute",
			before:  `{"userName":"u","phoneNumbers":[{"value":"1"}]}`,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `phoneNumbers[value eq 1].type`), Value: "work"}},
			want:    `{"userName":"u","phoneNumbers":[{"value":"1","type":"work"}]}`,
			changed: true,
		},
		{
			name:    "an and of eq comparisons seeds the new element",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `addresses[type eq "work" and primary eq true].locality`), Value: "Town"}},
			want:    `{"userName":"u","addresses":[{"type":"work","primary":true,"locality":"Town"}]}`,
			changed: true,
		},
		{
			name:    "filtered path without sub-attribute merges into the element",
			before:  `{"userName":"u","addresses":[{"type":"work","locality":"A","region":"R"}]}`,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `addresses[type eq "work"]`), Value: map[string]any{"locality": "B", "region": ""}}},
			want:    `{"userName":"u","addresses":[{"type":"work","locality":"B"}]}`,
			changed: true,
		},
		{
			name:    "filtered path without sub-attribute creates the element",
			before:  `{"userName":"u","emails":[{"value":"w@x.com","type":"work","primary":true}]}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `emails[type eq "home"]`), Value: map[string]any{"value": "h@x.com", "primary": true}}},
			want:    `{"userName":"u","emails":[{"value":"w@x.com","type":"work","primary":false},{"type":"home","value":"h@x.com","primary":true}]}`,
			changed: true,
		},
		{
			name:    "empty value on a missing element does nothing",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails[type eq "work"].value`), Value: ""}},
			want:    `{"userName":"u"}`,
			changed: false,
		},
		{
			name:    "filter on a single-valued complex attribute",
			before:  baseManager,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, EnterpriseURN+`:manager[value eq "m1"].value`), Value: "m2"}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m2","$ref":"https://x/Users/m1","displayName":"Boss"}}}`,
			changed: true,
		},
		{
			name:    "remove through a filter on a single-valued complex attribute",
			before:  baseManager,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, EnterpriseURN+`:manager[value eq "m1"]`)}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:    "remove manager.value removes the manager",
			before:  baseManager,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, EnterpriseURN+`:manager.value`)}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:    "set manager.value creates the manager",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, EnterpriseURN+`:manager.value`), Value: "m9"}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m9"}}}`,
			changed: true,
		},
		{
			name:    "sub-attribute of every element",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails.display`), Value: "E"}},
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work","display":"E"},{"value":"h@x.com","type":"home","display":"E"}]}`,
			changed: true,
		},
		{
			name:    "primary on every element keeps the first",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails.primary`), Value: true}},
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"},{"primary":false,"value":"h@x.com","type":"home"}]}`,
			changed: true, // the second element now says primary false
		},
		{
			name:    "sub-attribute of a missing multi-valued attribute",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `emails.value`), Value: "a@x.com"}},
			want:    `{"userName":"u","emails":[{"value":"a@x.com"}]}`,
			changed: true,
		},
		{
			name:    "remove a sub-attribute of every element",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `emails.type`)}},
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com"},{"value":"h@x.com"}]}`,
			changed: true,
		},
		{
			name:    "remove listed emails case-insensitively",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `emails`), Value: []any{map[string]any{"value": "W@X.COM"}}}},
			want:    `{"userName":"u","emails":[{"value":"h@x.com","type":"home"}]}`,
			changed: true,
		},
		{
			name:    "remove listed elements without value by equality",
			before:  `{"userName":"u","addresses":[{"type":"work","locality":"A"},{"type":"home"}]}`,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, `addresses`), Value: map[string]any{"type": "home"}}},
			want:    `{"userName":"u","addresses":[{"type":"work","locality":"A"}]}`,
			changed: true,
		},
		{
			name:    "add a single object to a multi-valued attribute",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `phoneNumbers`), Value: map[string]any{"value": "1", "type": "work"}}},
			want:    `{"userName":"u","phoneNumbers":[{"value":"1","type":"work"}]}`,
			changed: true,
		},
		{
			name:    "replace with an empty list removes the attribute",
			before:  baseUserTwoEmails,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails`), Value: []any{}}},
			want:    `{"userName":"u"}`,
			changed: true,
		},
		{
			name:    "string booleans and empty values in complex values",
			before:  `{"userName":"u","name":{"givenName":"A","familyName":"B"}}`,
			ops:     []scim.PatchOperation{{Op: "add", Path: pathOf(t, `name`), Value: map[string]any{"givenName": "", "familyName": nil, "middleName": "M"}}},
			want:    `{"userName":"u","name":{"middleName":"M"}}`,
			changed: true,
		},
		{
			name:    "clearing the last sub-attribute removes the attribute",
			before:  `{"userName":"u","name":{"givenName":"A"}}`,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `name.givenName`), Value: ""}},
			want:    `{"userName":"u"}`,
			changed: true,
		},
		{
			name:    "manager object without value clears it",
			before:  baseManager,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, EnterpriseURN+`:manager`), Value: map[string]any{"$ref": "https://x"}}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:    "remove of an absent attribute does nothing",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "remove", Path: pathOf(t, EnterpriseURN+`:department`)}, {Op: "remove", Path: pathOf(t, `nickName`)}},
			want:    `{"userName":"u"}`,
			changed: false,
		},
		{
			name:    "extension key in another case is canonicalised",
			before:  `{"userName":"u","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"department":"D"}}`,
			ops:     []scim.PatchOperation{{Op: "replace", Path: pathOf(t, EnterpriseURN+`:costCenter`), Value: "C"}},
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","costCenter":"C"}}`,
			changed: true,
		},
		{
			name:    "dateTime values are checked and kept",
			before:  `{"userName":"u"}`,
			ops:     []scim.PatchOperation{{Op: "replace", Value: map[string]any{"nickName": "N", "name": map[string]any{"givenName": "G"}}}},
			want:    `{"userName":"u","nickName":"N","name":{"givenName":"G"}}`,
			changed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustJSON(t, tc.before)
			pristine := deepCopyMap(before)
			got, changed, err := us.ApplyPatch(before, tc.ops)
			require.NoError(t, err)
			require.Equal(t, roundTrip(t, mustJSON(t, tc.want)), roundTrip(t, got))
			require.Equal(t, tc.changed, changed)
			require.Equal(t, pristine, before)
		})
	}
}

func TestApplyPatchPathFilterErrors(t *testing.T) {
	us := UserSchema()
	for _, p := range []string{
		`emails[type eq "work" or value co "x"].display`,
		`emails[not (type eq "work")].display`,
		`emails[type ne "work"].display`,
		`emails[type eq "a" and type eq "b"].display`,
		`emails[type eq ""].display`,
	} {
		t.Run(p, func(t *testing.T) {
			_, _, err := us.ApplyPatch(map[string]any{"userName": "u"}, []scim.PatchOperation{{Op: "add", Path: pathOf(t, p), Value: "x"}})
			var se *scimerrors.ScimError
			require.True(t, errors.As(err, &se))
			require.Equal(t, scimerrors.ScimTypeNoTarget, se.ScimType)
		})
	}
	for _, p := range []string{
		`emails[primary gt true].value`,
		`emails[primary eq "maybe"].value`,
		`emails[type gt null].value`,
		`emails[urn:x:type eq "x"].value`,
		`emails[type.x eq "x"].value`,
	} {
		t.Run(p, func(t *testing.T) {
			_, _, err := us.ApplyPatch(map[string]any{"userName": "u"}, []scim.PatchOperation{{Op: "add", Path: pathOf(t, p), Value: "x"}})
			var se *scimerrors.ScimError
			require.True(t, errors.As(err, &se))
			require.Equal(t, scimerrors.ScimTypeInvalidPath, se.ScimType)
		})
	}
}

func TestCoerceSimple(t *testing.T) {
	us := UserSchema()
	attr := func(p string) *Attribute {
		a, ok := us.Lookup(p)
		require.True(t, ok)
		return a
	}
	ok := []struct {
		path string
		in   any
		want any
	}{
		{"title", "x", "x"},
		{"title", "", nil},
		{"title", nil, nil},
		{"active", "TRUE", true},
		{"active", false, false},
		{"meta.created", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
		{"emails.primary", "false", false},
	}
	for _, tc := range ok {
		got, err := coerceSimple(attr(tc.path), tc.in)
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
	bad := []struct {
		path string
		in   any
	}{
		{"title", 1.0},
		{"title", true},
		{"active", "yes"},
		{"active", 1.0},
		{"meta.created", "yesterday"},
		{"name", "x"},
	}
	for _, tc := range bad {
		_, err := coerceSimple(attr(tc.path), tc.in)
		require.Error(t, err, tc.path)
	}
}

// numberSchema is a resource type with numeric attributes, to exercise the
// number paths of filters and PATCH that the bridge's schemas do not use.
func numberSchema() *Schema {
	core := schema.Schema{
		ID: "urn:example:Thing",
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "name", Required: true})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "count", Type: schema.AttributeTypeInteger()})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "ratio", Type: schema.AttributeTypeDecimal(), MultiValued: true})),
			schema.SimpleCoreAttribute(schema.SimpleBinaryParams(schema.BinaryParams{Name: "blob", Description: optional.NewString("b")})),
		},
	}
	return newSchema("Thing", core, nil, nil)
}

func TestNumbers(t *testing.T) {
	s := numberSchema()
	doc := map[string]any{"name": "n", "count": int64(3), "ratio": []any{0.5, 2.5}, "blob": "QUJD"}
	for f, want := range map[string]bool{
		`count eq 3`: true, `count gt 2.5`: true, `count le "3"`: true, `count lt 3`: false, `count ne 4`: true,
		`ratio ge 2.5`: true, `ratio lt 0.5`: false, `ratio eq 0.5`: true,
		`blob eq "QUJD"`: true, `blob eq "qujd"`: false,
	} {
		flt, err := s.CompileFilter(f)
		require.NoError(t, err, f)
		require.Equal(t, want, flt.Match(doc), f)
		require.Nil(t, flt.Pushdown)
	}
	for _, f := range []string{`count eq "three"`, `count co 3`, `blob gt "a"`} {
		_, err := s.CompileFilter(f)
		require.Error(t, err, f)
	}
	got, changed, err := s.ApplyPatch(doc, []scim.PatchOperation{
		{Op: "replace", Path: pathOf(t, "count"), Value: int64(4)},
		{Op: "add", Path: pathOf(t, "ratio"), Value: []any{0.5, "7"}},
	})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, map[string]any{"name": "n", "count": 4.0, "ratio": []any{0.5, 2.5, 7.0}, "blob": "QUJD"}, got)
	_, _, err = s.ApplyPatch(doc, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "count"), Value: "x"}})
	require.Error(t, err)
	require.Equal(t, "urn:example:Thing", s.URN())
	require.Len(t, s.Attributes(), 4+4)
	require.Nil(t, s.ExtensionAttributes("urn:none"))
	require.Empty(t, s.SchemaExtensions())
	require.Nil(t, s.Fields())
}

func TestJSONEqual(t *testing.T) {
	require.True(t, jsonEqual(1.0, int64(1)))
	require.True(t, jsonEqual(nil, map[string]any{}))
	require.True(t, jsonEqual(map[string]any{}, nil))
	require.False(t, jsonEqual(map[string]any{"a": 1.0}, nil))
	require.False(t, jsonEqual([]any{1.0}, []any{2.0}))
	require.False(t, jsonEqual("1", 1.0))
	require.False(t, jsonEqual(true, "true"))
	require.False(t, jsonEqual(map[string]any{"a": 1.0}, map[string]any{"b": 1.0}))
	require.Equal(t, store.OpEq, mustOp(t, "EQ"))
}

func mustOp(t *testing.T, w string) store.Op {
	t.Helper()
	op, ok := compareOp(w)
	require.True(t, ok)
	return op
}
