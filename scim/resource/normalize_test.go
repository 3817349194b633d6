package resource

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/stretchr/testify/require"
)

// opView is a PatchOperation in comparable form.
type opView struct {
	Op    string
	Path  string
	Value any
}

func viewOps(t *testing.T, ops []scim.PatchOperation) []opView {
	t.Helper()
	out := make([]opView, 0, len(ops))
	for _, o := range ops {
		v := opView{Op: o.Op, Value: roundTrip(t, o.Value)}
		if o.Path != nil {
			v.Path = o.Path.String()
		}
		out = append(out, v)
	}
	return out
}

func TestNormalizeBodyResources(t *testing.T) {
	us, gs := UserSchema(), GroupSchema()
	srv := newElimity(t)
	tests := []struct {
		name     string
		schema   *Schema
		method   string
		body     string
		rawCode  int    // status elimity gives the body as sent
		received string // attributes the handler receives after normalisation
	}{
		{
			name:     "manager as raw string in the extension",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1","department":"D"}}`,
			rawCode:  http.StatusBadRequest,
			received: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"department":"D"}}`,
		},
		{
			name:     "manager as array with $ref",
			schema:   us,
			method:   http.MethodPut,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":[{"$ref":"https://x/Users/m1","value":"m1"}]}}`,
			rawCode:  http.StatusBadRequest,
			received: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"$ref":"https://x/Users/m1","value":"m1"}}}`,
		},
		{
			name:     "empty manager object is dropped",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":""},"department":"D"}}`,
			rawCode:  http.StatusCreated,
			received: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
		},
		{
			name:     "empty manager string is dropped",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}`,
			rawCode:  http.StatusBadRequest,
			received: `{"userName":"u"}`,
		},
		{
			name:     "flat URN keys move into the extension",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"42"}`,
			rawCode:  http.StatusCreated, // but both attributes are silently dropped
			received: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"},"employeeNumber":"42"}}`,
		},
		{
			name:     "unqualified extension attributes move into the extension",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","department":"Sales","manager":"m1"}`,
			rawCode:  http.StatusCreated, // both dropped
			received: `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m1"}}}`,
		},
		{
			name:   "entra create with nulls and a malformed URN",
			schema: us,
			method: http.MethodPost,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
			  "externalId":"e1","userName":"u","active":true,"addresses":null,"displayName":"D",
			  "emails":[{"primary":true,"type":"work","value":"u@x.com"},null],"meta":{"resourceType":"User"},
			  "name":{"familyName":"F","givenName":"G","middleName":null},"phoneNumbers":null,"preferredLanguage":null,
			  "title":null,"department":null,"manager":null,"roles":[]}`,
			rawCode: http.StatusBadRequest, // the null array element
			received: `{"externalId":"e1","userName":"u","active":true,"displayName":"D","emails":[{"primary":true,"type":"work","value":"u@x.com"}],
			  "name":{"familyName":"F","givenName":"G"},"roles":null}`,
		},
		{
			name:     "string booleans and mixed-case names pass through",
			schema:   us,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:okta:custom:1.0"],"UserName":"u","active":"True","roles":[{"primary":"True","value":"r"}],"password":"p","groups":[]}`,
			rawCode:  http.StatusCreated,
			received: `{"userName":"u","active":true,"roles":[{"primary":true,"value":"r"}],"password":"p"}`,
		},
		{
			name:     "entra group with a Microsoft schema URN",
			schema:   gs,
			method:   http.MethodPost,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}}`,
			rawCode:  http.StatusCreated,
			received: `{"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName"}`,
		},
		{
			name:     "okta put with meta, id, groups and password",
			schema:   us,
			method:   http.MethodPut,
			body:     `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"23a35c27","userName":"u","name":{"givenName":"Another","middleName":"Excited","familyName":"User"},"active":true,"groups":[],"password":"x","meta":{"resourceType":"User","created":"04-12-2018 00:00:00","version":"v1.0"}}`,
			rawCode:  http.StatusOK,
			received: `{"userName":"u","name":{"givenName":"Another","middleName":"Excited","familyName":"User"},"active":true,"password":"x"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := "/Users"
			if tc.schema == gs {
				endpoint = "/Groups"
			}
			if tc.method == http.MethodPut {
				endpoint += "/x1"
			}
			code, _, _ := serve(srv, tc.method, endpoint, []byte(tc.body))
			require.Equal(t, tc.rawCode, code, "status for the body as sent")

			norm, err := NormalizeBody(tc.schema, tc.method, []byte(tc.body))
			require.NoError(t, err)
			code, resp, c := serve(srv, tc.method, endpoint, norm)
			require.True(t, c.called, "elimity rejected the normalised body: %d %s", code, resp)
			require.Equal(t, roundTrip(t, mustJSON(t, tc.received)), roundTrip(t, map[string]any(c.attributes)))
		})
	}
}

func TestNormalizeBodyPatch(t *testing.T) {
	us := UserSchema()
	srv := newElimity(t)
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name    string
		body    string
		rawCode int
		want    []opView
	}{
		{
			name:    "tutorial manager array on an unqualified path",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/00aa","value":"00aa"}]}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "add", Path: ent + ":manager", Value: map[string]any{"$ref": "http://.../scim/Users/00aa", "value": "00aa"}}},
		},
		{
			name:    "remove of an unqualified extension path",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"manager"},{"op":"remove","path":"department"}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "remove", Path: ent + ":manager"}, {Op: "remove", Path: ent + ":department"}},
		},
		{
			name:    "manager raw string",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2c2f6fb8"}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "add", Path: ent + ":manager", Value: map[string]any{"value": "2c2f6fb8"}}},
		},
		{
			name:    "manager removal with an empty object",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`,
			rawCode: http.StatusNoContent, // accepted, but as an update to an empty manager
			want:    []opView{{Op: "remove", Path: ent + ":manager"}},
		},
		{
			name:    "manager removal with an empty string",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":""}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "remove", Path: ent + ":manager"}},
		},
		{
			name:    "manager string in a path-less value",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","value":{"externalId":"e1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m1"}}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "add", Value: map[string]any{"externalId": "e1", ent + ":manager": map[string]any{"value": "m1"}}}},
		},
		{
			name:    "empty manager in a nested extension object",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"","department":"D"}}}]}`,
			rawCode: http.StatusBadRequest,
			want: []opView{
				{Op: "replace", Value: map[string]any{ent: map[string]any{"department": "D"}}},
				{Op: "remove", Path: ent + ":manager"},
			},
		},
		{
			name:    "unqualified extension key in a path-less value",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"department":"D","manager":"m1"}}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "replace", Value: map[string]any{ent + ":department": "D", ent + ":manager": map[string]any{"value": "m1"}}}},
		},
		{
			name:    "null value becomes remove",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":null}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "remove", Path: "title"}},
		},
		{
			name:    "null keys of a path-less value become removes",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"title":null,"displayName":"D","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":null}}}]}`,
			rawCode: http.StatusBadRequest,
			want: []opView{
				{Op: "replace", Value: map[string]any{"displayName": "D"}},
				{Op: "remove", Path: "title"},
				{Op: "remove", Path: ent + ":department"},
			},
		},
		{
			name:    "only null keys",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"nickName":null}}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "remove", Path: "nickName"}},
		},
		{
			name:    "null sub-attributes of a complex value",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name","value":{"givenName":"G","middleName":null}}]}`,
			rawCode: http.StatusNoContent, // accepted, but the null is silently dropped
			want: []opView{
				{Op: "replace", Path: "name", Value: map[string]any{"givenName": "G"}},
				{Op: "remove", Path: "name.middleName"},
			},
		},
		{
			name:    "read-only meta and schemas keys in a path-less value are dropped",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"x","Meta":{"version":"v"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"D"}}]}`,
			rawCode: http.StatusBadRequest,
			want:    []opView{{Op: "replace", Value: map[string]any{"displayName": "D"}}},
		},
		{
			name:    "string booleans pass through",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
			rawCode: http.StatusNoContent,
			want:    []opView{{Op: "replace", Path: "active", Value: false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, _ := serve(srv, http.MethodPatch, "/Users/u1", []byte(tc.body))
			require.Equal(t, tc.rawCode, code, "status for the body as sent")
			ops, status := elimityPatch(t, srv, us, tc.body)
			require.NotNil(t, ops, "elimity rejected the normalised body with %d", status)
			require.Equal(t, roundTrip(t, tc.want), roundTrip(t, viewOps(t, ops)))
		})
	}
}

func TestNormalizeBodyUnchanged(t *testing.T) {
	us := UserSchema()
	tests := []struct {
		name, method, body string
	}{
		{"invalid JSON", http.MethodPost, `{"userName":`},
		{"not an object", http.MethodPost, `[1,2]`},
		{"trailing data", http.MethodPost, `{"userName":null} {}`},
		{"JSON null", http.MethodPatch, `null`},
		{"nothing to fix", http.MethodPost, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u",  "active":true}`},
		{"nothing to fix in a patch", http.MethodPatch, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title","value":null}]}`},
		{"other method", http.MethodGet, `{"userName":null}`},
		{"empty body", http.MethodPatch, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeBody(us, tc.method, []byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.body, string(got))
		})
	}
}

func TestNormalizeBodyPreservesNumbersAndText(t *testing.T) {
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a<b>&c","x":12345678901234567890,"title":null}`
	got, err := NormalizeBody(UserSchema(), http.MethodPost, []byte(body))
	require.NoError(t, err)
	require.JSONEq(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a<b>&c","x":12345678901234567890}`, string(got))
	require.Contains(t, string(got), "12345678901234567890")
	require.Contains(t, string(got), "a<b>&c")
	require.True(t, json.Valid(got))
}

func TestNormalizeBodyMissingCoreURNLeftToElimity(t *testing.T) {
	srv := newElimity(t)
	body := `{"schemas":["urn:okta:custom:1.0"],"userName":"u"}`
	norm, err := NormalizeBody(UserSchema(), http.MethodPost, []byte(body))
	require.NoError(t, err)
	require.JSONEq(t, `{"schemas":[],"userName":"u"}`, string(norm))
	code, _, c := serve(srv, http.MethodPost, "/Users", norm)
	require.Equal(t, http.StatusBadRequest, code)
	require.False(t, c.called)
}
