package resource

import (
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	filter "github.com/scim2/filter-parser/v2"
	"github.com/stretchr/testify/require"
)

const (
	baseUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"test.user@okta.local",
	  "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
	  "displayName":"Test User","active":true,"meta":{"resourceType":"User"}}`
	baseUserTwoEmails = `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"},{"value":"h@x.com","type":"home"}]}`
	baseManager       = `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D",
	  "manager":{"value":"m1","$ref":"https://x/Users/m1","displayName":"Boss"}}}`
	baseGroup = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Test SCIMv2",
	  "members":[{"value":"u1","display":"one"},{"value":"u2","display":"two"}]}`
)

type patchCase struct {
	name    string
	before  string
	body    string
	want    string
	changed bool
}

func runPatchCases(t *testing.T, s *Schema, cases []patchCase) {
	t.Helper()
	srv := newElimity(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, status := elimityPatch(t, srv, s, tc.body)
			require.NotNil(t, ops, "elimity rejected the body with %d", status)
			before := mustJSON(t, tc.before)
			pristine := deepCopyMap(before)
			got, changed, err := s.ApplyPatch(before, ops)
			require.NoError(t, err)
			require.Equal(t, roundTrip(t, mustJSON(t, tc.want)), roundTrip(t, got))
			require.Equal(t, tc.changed, changed)
			require.Equal(t, pristine, before, "input document was modified")
		})
	}
}

func TestApplyPatchOkta(t *testing.T) {
	runPatchCases(t, UserSchema(), []patchCase{
		{
			name:   "1.7 deactivate",
			before: baseUser,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"test.user@okta.local",
			  "name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
			  "displayName":"Test User","active":false,"meta":{"resourceType":"User"}}`,
			changed: true,
		},
		{
			name:    "1.7 reactivate",
			before:  `{"userName":"u","active":false}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`,
			want:    `{"userName":"u","active":true}`,
			changed: true,
		},
		{
			name:   "1.7 deactivate twice changes nothing",
			before: `{"userName":"u","active":false}`,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
			want:   `{"userName":"u","active":false}`,
		},
		{
			name:    "password is discarded",
			before:  `{"userName":"u","active":true}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"password":"1mz050nq","active":false}},{"op":"replace","path":"password","value":"x"}]}`,
			want:    `{"userName":"u","active":false}`,
			changed: true,
		},
		{
			name:   "password alone changes nothing",
			before: `{"userName":"u"}`,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"password":"1mz050nq"}}]}`,
			want:   `{"userName":"u"}`,
		},
	})
}

func TestApplyPatchEntraUser(t *testing.T) {
	runPatchCases(t, UserSchema(), []patchCase{
		{
			name:   "2.6a filtered email and family name",
			before: baseUser,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
			  {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"test.user@okta.local",
			  "name":{"givenName":"Test","familyName":"updatedFamilyName"},"emails":[{"primary":true,"value":"updatedEmail@microsoft.com","type":"work"}],
			  "displayName":"Test User","active":true,"meta":{"resourceType":"User"}}`,
			changed: true,
		},
		{
			name:   "2.6b default replace of several attributes",
			before: `{"userName":"u","emails":[{"value":"old@x.com","type":"work"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"Replace","path":"displayName","value":"Pvlo"},
			  {"op":"Replace","path":"emails[type eq \"work\"].value","value":"TestBcwqnm@test.microsoft.com"},
			  {"op":"Replace","path":"name.givenName","value":"Gtfd"},
			  {"op":"Replace","path":"name.familyName","value":"Pkqf"},
			  {"op":"Replace","path":"externalId","value":"Eqpj"},
			  {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]}`,
			want: `{"userName":"u","displayName":"Pvlo","emails":[{"value":"TestBcwqnm@test.microsoft.com","type":"work"}],
			  "name":{"givenName":"Gtfd","familyName":"Pkqf"},"externalId":"Eqpj",
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"Eqpj"}}`,
			changed: true,
		},
		{
			name:   "2.6b flag: path-less replace with dotted and URN keys",
			before: `{"userName":"u","name":{"givenName":"A","familyName":"B","formatted":"A B"}}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},
			  {"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
			    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}`,
			want: `{"userName":"u","name":{"givenName":"Kkom","familyName":"Unua","formatted":"A B"},"displayName":"Bjfe",
			  "emails":[{"type":"work","value":"TestMhvaes@test.microsoft.com"}],
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"Aklq"}}`,
			changed: true,
		},
		{
			name:    "2.6c add a single-valued attribute",
			before:  `{"userName":"u"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}`,
			want:    `{"userName":"u","nickName":"Babs"}`,
			changed: true,
		},
		{
			name:    "2.6c add on a set single-valued attribute replaces it",
			before:  `{"userName":"u","nickName":"Old"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":"Babs"}]}`,
			want:    `{"userName":"u","nickName":"Babs"}`,
			changed: true,
		},
		{
			name:   "2.6d path-less add with dotted keys",
			before: `{"userName":"u"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{
			  "displayName":"Foo Bar","title":"Bar Foo","name.givenName":"Foo","name.familyName":"Bar","name.formatted":"Foo Bar"}}]}`,
			want:    `{"userName":"u","displayName":"Foo Bar","title":"Bar Foo","name":{"givenName":"Foo","familyName":"Bar","formatted":"Foo Bar"}}`,
			changed: true,
		},
		{
			name:   "2.6d path-less add with an extension key",
			before: `{"userName":"u"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division":"division"}}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"division":"division"}}`,
			changed: true,
		},
		{
			name:   "path-less add with a nested extension object",
			before: baseManager,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"m2"}}}}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","manager":{"value":"m2"}}}`,
			changed: true,
		},
		{
			name:    "2.6e userName rename",
			before:  `{"id":"u1","userName":"old@testuser.com"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`,
			want:    `{"id":"u1","userName":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}`,
			changed: true,
		},
		{
			name:    "2.6f filtered path creates the missing element",
			before:  `{"userName":"u"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@b.com"}]}`,
			want:    `{"userName":"u","emails":[{"type":"work","value":"a@b.com"}]}`,
			changed: true,
		},
		{
			name:   "2.6f several adds with one filter land in one element",
			before: `{"userName":"u","addresses":[{"type":"home","locality":"X"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"Add","path":"addresses[type eq \"work\"].formatted","value":"1 Main St, Town"},
			  {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Town"},
			  {"op":"Add","path":"addresses[type eq \"work\"].region","value":"WA"}]}`,
			want: `{"userName":"u","addresses":[{"type":"home","locality":"X"},
			  {"type":"work","formatted":"1 Main St, Town","locality":"Town","region":"WA"}]}`,
			changed: true,
		},
		{
			name:   "2.6f email element built by several ops keeps its value",
			before: `{"userName":"u"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"Add","path":"emails[type eq \"work\"].display","value":"Work"},
			  {"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b.com"}]}`,
			want:    `{"userName":"u","emails":[{"type":"work","display":"Work","value":"a@b.com"}]}`,
			changed: true,
		},
		{
			name:    "2.6g manager as array with $ref on an unqualified path",
			before:  `{"userName":"u"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee","value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"$ref":"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee","value":"00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}}}`,
			changed: true,
		},
		{
			name:    "2.6g manager as raw string",
			before:  `{"userName":"u"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}}}`,
			changed: true,
		},
		{
			name:    "4.6 replace manager with a string replaces the whole reference",
			before:  baseManager,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m2"}}}`,
			changed: true,
		},
		{
			name:    "2.6g remove manager with {\"value\":\"\"}",
			before:  baseManager,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:    "2.6g remove manager with an empty string",
			before:  baseManager,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":""}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:    "clearing manager.value removes the manager",
			before:  baseManager,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":""}]}`,
			want:    `{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			changed: true,
		},
		{
			name:   "removing the last extension attribute removes the extension",
			before: baseManager,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
			  {"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]}`,
			want:    `{"userName":"u"}`,
			changed: true,
		},
		{
			name:   "2.6h roles by string boolean filter build one element",
			before: `{"userName":"u"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"add","path":"roles[primary eq \"True\"].display","value":"Admin"},
			  {"op":"add","path":"roles[primary eq \"True\"].value","value":"admin"},
			  {"op":"add","path":"roles[primary eq \"True\"].type","value":"WindowsAzureActiveDirectoryRole"}]}`,
			want:    `{"userName":"u","roles":[{"primary":true,"display":"Admin","value":"admin","type":"WindowsAzureActiveDirectoryRole"}]}`,
			changed: true,
		},
		{
			name:    "2.7 disable with string False",
			before:  `{"userName":"u","active":true}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
			want:    `{"userName":"u","active":false}`,
			changed: true,
		},
		{
			name:    "2.7 enable with string True",
			before:  `{"userName":"u","active":false}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`,
			want:    `{"userName":"u","active":true}`,
			changed: true,
		},
		{
			name:    "2.7 disable with flag",
			before:  `{"userName":"u","active":true}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`,
			want:    `{"userName":"u","active":false}`,
			changed: true,
		},
		{
			name:    "2.7 tutorial disable",
			before:  `{"userName":"u","active":true}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false}]}`,
			want:    `{"userName":"u","active":false}`,
			changed: true,
		},
		{
			name:    "4.6 primary email by filter",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[primary eq true].value","value":"new@x.com"}]}`,
			want:    `{"userName":"u","emails":[{"primary":true,"value":"new@x.com","type":"work"},{"value":"h@x.com","type":"home"}]}`,
			changed: true,
		},
		{
			name:    "4.6 primary email by filter creates a primary element",
			before:  `{"userName":"u","emails":[{"value":"h@x.com","type":"home"}]}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[primary eq true].value","value":"new@x.com"}]}`,
			want:    `{"userName":"u","emails":[{"value":"h@x.com","type":"home"},{"primary":true,"value":"new@x.com"}]}`,
			changed: true,
		},
		{
			name:    "setting primary on one element clears the others",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"home\"].primary","value":"True"}]}`,
			want:    `{"userName":"u","emails":[{"primary":false,"value":"w@x.com","type":"work"},{"primary":true,"value":"h@x.com","type":"home"}]}`,
			changed: true,
		},
		{
			name:    "adding a primary email clears the others",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"o@x.com","type":"other","primary":true}]}]}`,
			want:    `{"userName":"u","emails":[{"primary":false,"value":"w@x.com","type":"work"},{"value":"h@x.com","type":"home"},{"value":"o@x.com","type":"other","primary":true}]}`,
			changed: true,
		},
		{
			name:   "adding an existing email merges it",
			before: baseUserTwoEmails,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"H@X.COM","type":"home"}]}]}`,
			want:   `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"},{"value":"H@X.COM","type":"home"}]}`,
			// The value's spelling changed (case), which is a change.
			changed: true,
		},
		{
			name:    "replace of a multi-valued attribute replaces it",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails","value":[{"value":"n@x.com","type":"work"}]}]}`,
			want:    `{"userName":"u","emails":[{"value":"n@x.com","type":"work"}]}`,
			changed: true,
		},
		{
			name:    "remove by filter",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}`,
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"}]}`,
			changed: true,
		},
		{
			name:   "remove matching nothing succeeds without change",
			before: baseUserTwoEmails,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"other\"]"}]}`,
			want:   baseUserTwoEmails,
		},
		{
			name:    "remove a sub-attribute through a filter",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"work\"].primary"}]}`,
			want:    `{"userName":"u","emails":[{"value":"w@x.com","type":"work"},{"value":"h@x.com","type":"home"}]}`,
			changed: true,
		},
		{
			name:    "4.6 remove of a single-valued attribute",
			before:  `{"userName":"u","nickName":"Babs"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"nickName"}]}`,
			want:    `{"userName":"u"}`,
			changed: true,
		},
		{
			name:    "replace of a complex attribute merges sub-attributes",
			before:  `{"userName":"u","name":{"givenName":"A","familyName":"B"}}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name","value":{"givenName":"C"}}]}`,
			want:    `{"userName":"u","name":{"givenName":"C","familyName":"B"}}`,
			changed: true,
		},
		{
			name:    "remove a sub-attribute",
			before:  `{"userName":"u","name":{"givenName":"A","familyName":"B"}}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"name.givenName"}]}`,
			want:    `{"userName":"u","name":{"familyName":"B"}}`,
			changed: true,
		},
		{
			name:    "SCIM_Null_Update with empty strings",
			before:  `{"userName":"u","title":"T","nickName":"N","name":{"givenName":"A","middleName":"M"}}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":""},{"op":"replace","value":{"nickName":"","name.middleName":""}}]}`,
			want:    `{"userName":"u","name":{"givenName":"A"}}`,
			changed: true,
		},
		{
			name:    "SCIM_Null_Update with nulls",
			before:  `{"userName":"u","title":"T","nickName":"N","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":null},{"op":"replace","value":{"nickName":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":null}}]}`,
			want:    `{"userName":"u"}`,
			changed: true,
		},
		{
			name:    "clearing a filtered email value drops the element",
			before:  baseUserTwoEmails,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"home\"].value","value":""}]}`,
			want:    `{"userName":"u","emails":[{"primary":true,"value":"w@x.com","type":"work"}]}`,
			changed: true,
		},
		{
			name:   "op names in any case",
			before: `{"userName":"u","title":"T"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"ADD","path":"nickName","value":"N"},{"op":"REPLACE","path":"displayName","value":"D"},{"op":"Remove","path":"title"}]}`,
			want:    `{"userName":"u","nickName":"N","displayName":"D"}`,
			changed: true,
		},
		{
			name:    "read-only keys in a path-less value are ignored",
			before:  `{"userName":"u"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"other","groups":[{"value":"g9"}],"displayName":"D","urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User":{"syncState":"synced"}}}]}`,
			want:    `{"userName":"u","displayName":"D"}`,
			changed: true,
		},
	})
}

func TestApplyPatchGroups(t *testing.T) {
	runPatchCases(t, GroupSchema(), []patchCase{
		{
			name:   "1.10 okta rename with id in the value",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{
			  "id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"New Name"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"New Name",
			  "members":[{"value":"u1","display":"one"},{"value":"u2","display":"two"}]}`,
			changed: true,
		},
		{
			name:   "1.10 okta rename to the same name",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{
			  "id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]}`,
			want: baseGroup,
		},
		{
			name:   "1.10 okta membership: remove then add",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{
			    "op":"remove","path":"members[value eq \"u2\"]"},
			  {"op":"add","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Test SCIMv2",
			  "members":[{"value":"u1","display":"one"},{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173"}]}`,
			// members.display is readOnly: the bridge fills it in itself.
			changed: true,
		},
		{
			name:   "1.10 okta push now replaces members",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[
			  {"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"},
			  {"value":"89bb1940-b905-4575-9e7f-6f887cfb368e","display":"test.user@okta.local"}]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Test SCIMv2",
			  "members":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173"},{"value":"89bb1940-b905-4575-9e7f-6f887cfb368e"}]}`,
			changed: true,
		},
		{
			name:    "2.9 entra rename",
			before:  `{"displayName":"displayName"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}`,
			want:    `{"displayName":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`,
			changed: true,
		},
		{
			name:    "2.9 entra add member with null $ref",
			before:  `{"displayName":"G"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`,
			want:    `{"displayName":"G","members":[{"value":"f648f8d5ea4e4cd38e9c"}]}`,
			changed: true,
		},
		{
			name:    "2.9 entra remove with a value array removes only those",
			before:  `{"displayName":"G","members":[{"value":"f648f8d5ea4e4cd38e9c"},{"value":"u2"}]}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`,
			want:    `{"displayName":"G","members":[{"value":"u2"}]}`,
			changed: true,
		},
		{
			name:   "entra remove with an empty value array removes nothing",
			before: `{"displayName":"G","members":[{"value":"u2"}]}`,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[]}]}`,
			want:   `{"displayName":"G","members":[{"value":"u2"}]}`,
		},
		{
			name:    "2.9 entra flag remove by filter",
			before:  `{"displayName":"G","members":[{"value":"7f4bc1a3-285e-48ae-8202-5accb43efb0e"},{"value":"u2"}]}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}`,
			want:    `{"displayName":"G","members":[{"value":"u2"}]}`,
			changed: true,
		},
		{
			name:   "adding an existing member changes nothing",
			before: baseGroup,
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"u1","display":"one"}]}]}`,
			want:   baseGroup,
		},
		{
			name:   "4.7 add then remove the same member nets out",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"add","path":"members","value":[{"value":"u3"}]},
			  {"op":"remove","path":"members[value eq \"u3\"]"}]}`,
			want: baseGroup,
		},
		{
			name:   "remove then add the same member keeps it",
			before: baseGroup,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			  {"op":"remove","path":"members[value eq \"u1\"]"},
			  {"op":"add","path":"members","value":[{"value":"u1","display":"one"}]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Test SCIMv2",
			  "members":[{"value":"u2","display":"two"},{"value":"u1"}]}`,
			// Same members, new order: a change in the document, not in membership.
			changed: true,
		},
		{
			name:    "validator add member with replace",
			before:  `{"displayName":"G"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[{"value":"u9"}]}]}`,
			want:    `{"displayName":"G","members":[{"value":"u9"}]}`,
			changed: true,
		},
		{
			name:    "remove members without value clears",
			before:  baseGroup,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members"}]}`,
			want:    `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Test SCIMv2"}`,
			changed: true,
		},
		{
			name:    "entra add externalId",
			before:  `{"displayName":"G","externalId":"old"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"externalId","value":"8aa1a0c0"}]}`,
			want:    `{"displayName":"G","externalId":"8aa1a0c0"}`,
			changed: true,
		},
		{
			name:    "validator replace externalId and displayName without path",
			before:  `{"displayName":"G"}`,
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"externalId":"e1"}},{"op":"replace","value":{"displayName":"H"}}]}`,
			want:    `{"displayName":"H","externalId":"e1"}`,
			changed: true,
		},
	})
}

// TestApplyPatchValidatorVerbose replays the 36-operation "Patch User –
// Replace Attributes (Verbose)" request and checks every value reads back.
func TestApplyPatchValidatorVerbose(t *testing.T) {
	body, err := os.ReadFile("testdata/entra_validator_patch.json")
	require.NoError(t, err)
	s := UserSchema()
	ops, status := elimityPatch(t, newElimity(t), s, string(body))
	require.NotNil(t, ops, "elimity rejected the body with %d", status)
	require.Len(t, ops, 36)
	got, changed, err := s.ApplyPatch(mustJSON(t, `{"userName":"v@contoso.com","active":true}`), ops)
	require.NoError(t, err)
	require.True(t, changed)
	want := mustJSON(t, `{
	  "userName":"v@contoso.com","active":false,"externalId":"Ext-1","displayName":"Val Idator","nickName":"Val",
	  "profileUrl":"https://contoso.com/val","title":"Tester","userType":"Employee","preferredLanguage":"en-GB",
	  "locale":"en-GB","timezone":"Europe/London",
	  "name":{"givenName":"Val","familyName":"Idator","formatted":"Val Idator","middleName":"M","honorificPrefix":"Dr","honorificSuffix":"III"},
	  "emails":[{"type":"work","value":"val@contoso.com","primary":true}],
	  "phoneNumbers":[{"type":"work","value":"+1 425 555 0100","primary":true},{"type":"mobile","value":"+1 425 555 0101"},{"type":"fax","value":"+1 425 555 0102"}],
	  "addresses":[{"type":"work","formatted":"1 Microsoft Way, Redmond, WA 98052, US","streetAddress":"1 Microsoft Way","locality":"Redmond","region":"WA","postalCode":"98052","country":"US","primary":true}],
	  "roles":[{"primary":true,"value":"admin","display":"Admin","type":"WindowsAzureActiveDirectoryRole"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E42","department":"QA","costCenter":"CC1","organization":"Contoso","division":"Cloud","manager":{"value":"m-1"}}
	}`)
	require.Equal(t, roundTrip(t, want), roundTrip(t, got))
}

func pathOf(t *testing.T, p string) *filter.Path {
	t.Helper()
	fp, err := filter.ParsePath([]byte(p))
	require.NoError(t, err)
	return &fp
}

func TestApplyPatchErrors(t *testing.T) {
	us, gs := UserSchema(), GroupSchema()
	tests := []struct {
		name     string
		schema   *Schema
		ops      []scim.PatchOperation
		scimType scimerrors.ScimType
	}{
		{"groups is read-only", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "groups"), Value: []any{map[string]any{"value": "g1"}}}}, scimerrors.ScimTypeMutability},
		{"id is read-only", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "id"), Value: "x"}}, scimerrors.ScimTypeMutability},
		{"meta is read-only", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "meta.version"), Value: "x"}}, scimerrors.ScimTypeMutability},
		{"schemas are read-only", us, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, "schemas")}}, scimerrors.ScimTypeMutability},
		{"sync extension is read-only", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, SyncExtensionURN+":syncState"), Value: "synced"}}, scimerrors.ScimTypeMutability},
		{"manager displayName is read-only", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, EnterpriseURN+":manager.displayName"), Value: "x"}}, scimerrors.ScimTypeMutability},
		{"group members' display through a filter", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `groups[value eq "g"].display`), Value: "x"}}, scimerrors.ScimTypeMutability},
		{"remove without path", us, []scim.PatchOperation{{Op: "remove", Value: map[string]any{"title": "x"}}}, scimerrors.ScimTypeNoTarget},
		{"unknown op", us, []scim.PatchOperation{{Op: "move", Path: pathOf(t, "title"), Value: "x"}}, scimerrors.ScimTypeInvalidValue},
		{"unknown attribute", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "favouriteColour"), Value: "x"}}, scimerrors.ScimTypeInvalidPath},
		{"unknown sub-attribute", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "name.nick"), Value: "x"}}, scimerrors.ScimTypeInvalidPath},
		{"filter on a simple attribute", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, `title[value eq "x"]`), Value: "x"}}, scimerrors.ScimTypeInvalidPath},
		{"unknown sub-attribute in filter", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, `emails[kind eq "x"].value`), Value: "x"}}, scimerrors.ScimTypeInvalidPath},
		{"extension itself with a value that is not an object", us, []scim.PatchOperation{{Op: "add", Path: pathOf(t, EnterpriseURN), Value: "x"}}, scimerrors.ScimTypeInvalidValue},
		{"read-only extension itself", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, SyncExtensionURN), Value: map[string]any{"syncState": "synced"}}}, scimerrors.ScimTypeMutability},
		{"path-less value that is not an object", us, []scim.PatchOperation{{Op: "replace", Value: "x"}}, scimerrors.ScimTypeInvalidValue},
		{"unknown key in a path-less value", us, []scim.PatchOperation{{Op: "replace", Value: map[string]any{"bogus": "x"}}}, scimerrors.ScimTypeInvalidValue},
		{"wrong value type", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "active"), Value: "maybe"}}, scimerrors.ScimTypeInvalidValue},
		{"object for a string", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "title"), Value: map[string]any{"a": "b"}}}, scimerrors.ScimTypeInvalidValue},
		{"string for a complex attribute", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "name"), Value: "x"}}, scimerrors.ScimTypeInvalidValue},
		{"userName cannot be removed", us, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, "userName")}}, scimerrors.ScimTypeInvalidValue},
		{"userName cannot be cleared", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, "userName"), Value: ""}}, scimerrors.ScimTypeInvalidValue},
		{"group displayName cannot be removed", gs, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, "displayName")}}, scimerrors.ScimTypeInvalidValue},
		{"filter that describes no element", us, []scim.PatchOperation{{Op: "replace", Path: pathOf(t, `emails[value co "x"].type`), Value: "work"}}, scimerrors.ScimTypeNoTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustJSON(t, `{"userName":"u","displayName":"G"}`)
			_, _, err := tc.schema.ApplyPatch(doc, tc.ops)
			var se *scimerrors.ScimError
			require.True(t, errors.As(err, &se), "error %v is not a *ScimError", err)
			require.Equal(t, tc.scimType, se.ScimType)
			require.Equal(t, http.StatusBadRequest, se.Status)
			require.Contains(t, se.Detail, "Operations[0]")
		})
	}
}

// TestApplyPatchIgnoresReadOnlyKeys covers path-less values elimity itself
// would reject (meta, schemas), as they may reach ApplyPatch from other
// callers.
func TestApplyPatchIgnoresReadOnlyKeys(t *testing.T) {
	s := UserSchema()
	doc := mustJSON(t, `{"id":"u1","userName":"u","meta":{"version":"W/\"1\""}}`)
	got, changed, err := s.ApplyPatch(doc, []scim.PatchOperation{{Op: "replace", Value: map[string]any{
		"id": "u2", "meta": map[string]any{"version": "x"}, "schemas": []any{"x"}, "password": "p", "nickName": "N",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": map[string]any{"value": "m", "displayName": "ro"}},
	}}})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, map[string]any{"id": "u1", "userName": "u", "nickName": "N", "meta": map[string]any{"version": `W/"1"`},
		EnterpriseURN: map[string]any{"manager": map[string]any{"value": "m"}}}, got)
}

func TestApplyPatchNilDocument(t *testing.T) {
	s := GroupSchema()
	got, changed, err := s.ApplyPatch(nil, []scim.PatchOperation{{Op: "add", Path: pathOf(t, "displayName"), Value: "G"}})
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, map[string]any{"displayName": "G"}, got)
	_, changed, err = s.ApplyPatch(nil, []scim.PatchOperation{{Op: "remove", Path: pathOf(t, "members")}})
	require.NoError(t, err)
	require.False(t, changed)
}
