package resource

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	filter "github.com/scim2/filter-parser/v2"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// filterSeeds returns the filters Okta and Entra ID send (their own filters,
// their validators' and Postman collection's) plus grammar corner cases.
func filterSeeds() []string {
	return []string{
		`userName eq "test.user@okta.local"`,
		`userName eq "RUNSCOPE300HFLUAKLAB151@ATKO.COM"`,
		`userName eq "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"`,
		`displayName eq "Test SCIMv2"`,
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`externalId eq jyoung`,
		`emails[type eq "work"].value eq "user@contoso.com"`,
		`id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646`,
		`id eq "g1" and members eq "u1"`,
		`DisplayName eq "BobIsAmazing"`,
		`username eq "x"`,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
		`userName sw O`,
		`meta.Created gt "2011-05-13T04:42:34Z"`,
		`meta.lastModified ge "2024-01-01T00:00:00Z" and not (active eq false)`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`title pr and userType eq "Employee"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`emails[value ew "x"] or members pr`,
		`externalId ne ""`,
		`displayName le "m"`,
		`active eq "True"`,
		`roles[primary eq "True"].value eq "x"`,
		`not(externalId eq null)`,
		`schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42"`,
		`members[value eq "x" or value eq "X"]`,
		`(((userName eq "x")))`,
		`userName eq "a\"b\\c\u00e9"`,
		`displayName ne "x"`,
		`externalId le "m"`,
		`externalId eq ""`,
		`emails[type eq "work" and primary eq true].value eq "x"`,
		`emails[type eq "work" or type eq "home"].value co "example"`,
		`emails[value eq "x" and value eq "X"]`,
		`emails[not (value eq "x")]`,
		`members[display eq "d" or value eq "x"]`,
		`not (displayName le "m") and externalId ge "x"`,
	}
}

// fuzzUsers are full User representations shaped like store records: every
// one has userName, active and meta times.
func fuzzUsers(tb testing.TB) []map[string]any {
	tb.Helper()
	docs := []string{
		sampleUser,
		`{"id":"x","userName":"X","active":false,"displayName":"x","externalId":"x",
		  "emails":[{"value":"X","type":"Work"},{"value":"","type":"home"},{"type":"other"},{"value":"a@example.com"}],
		  "meta":{"created":"2011-05-13T04:42:34Z","lastModified":"2011-05-13T04:42:34.000001Z"}}`,
		`{"id":"a","userName":"a","active":true,"displayName":"","title":"t","userType":"Employee",
		  "emails":[],"meta":{"created":"2030-01-01T00:00:00Z","lastModified":"2030-01-01T00:00:00Z"}}`,
		`{"id":"O","userName":"Olga@example.org","active":true,"name":{"familyName":"Employee"},
		  "emails":[{"value":"O@EXAMPLE.ORG","type":"WORK","primary":true}],"roles":[{"primary":true,"value":"x"}],
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"42","manager":{"value":"2819c223-7f76-453a-919d-413861904646"}},
		  "meta":{"created":"2024-01-01T00:00:00Z","lastModified":"2024-01-01T00:00:00Z"}}`,
		`{"id":"54D382A4-2050-4C03-94D1-E769F1D15682","userName":"m","active":true,"externalId":"",
		  "emails":{"value":"single@example.com","type":"work"},
		  "meta":{"created":"1999-12-31T23:59:59.999999Z","lastModified":"2000-01-01T00:00:00Z"}}`,
	}
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, mustJSON(tb, d))
	}
	return out
}

func fuzzGroups(tb testing.TB) []map[string]any {
	tb.Helper()
	docs := []string{
		sampleGroup,
		`{"id":"x","displayName":"X","externalId":"x","members":[{"value":"x"},{"value":"X"},{"display":"d"}],
		  "meta":{"created":"2011-05-13T04:42:34Z","lastModified":"2011-05-13T04:42:34Z"}}`,
		`{"id":"g2","displayName":"empty","meta":{"created":"2030-01-01T00:00:00Z","lastModified":"2030-01-01T00:00:00Z"}}`,
	}
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, mustJSON(tb, d))
	}
	return out
}

// FuzzCompileFilter checks that any filter either fails with an
// invalidFilter error or compiles to a filter whose pushdown is valid for the
// store, never excludes a document Match accepts, and agrees with Match
// exactly when Exact is set.
func FuzzCompileFilter(f *testing.F) {
	for _, s := range filterSeeds() {
		f.Add(s)
	}
	type target struct {
		schema *Schema
		docs   []map[string]any
	}
	targets := []target{{UserSchema(), fuzzUsers(f)}, {GroupSchema(), fuzzGroups(f)}}
	check := func(t *testing.T, tg target, filter string) bool {
		flt, err := tg.schema.CompileFilter(filter)
		if err != nil {
			var se *scimerrors.ScimError
			require.True(t, errors.As(err, &se), "error %T is not a *ScimError", err)
			require.Equal(t, scimerrors.ScimTypeInvalidFilter, se.ScimType)
			require.Equal(t, http.StatusBadRequest, se.Status)
			require.Less(t, len(se.Detail), 400, "error detail echoes input")
			return false
		}
		require.NoError(t, store.Validate(flt.Pushdown, tg.schema.Fields()))
		require.False(t, flt.Exact && flt.Pushdown == nil)
		for i, doc := range tg.docs {
			m := flt.Match(doc)
			if flt.Pushdown == nil {
				continue
			}
			p := refEval(flt.Pushdown, tg.schema, doc)
			require.False(t, m && !p, "%s doc %d: pushdown %#v of %q excludes a match", tg.schema.Name(), i, flt.Pushdown, filter)
			if flt.Exact {
				require.Equal(t, m, p, "%s doc %d: exact pushdown %#v of %q disagrees with Match", tg.schema.Name(), i, flt.Pushdown, filter)
			}
		}
		return true
	}
	f.Fuzz(func(t *testing.T, filter string) {
		for _, tg := range targets {
			if !check(t, tg, filter) {
				continue
			}
			// The combinators are where soundness is easiest to lose, and
			// random mutation rarely builds them, so check them explicitly.
			for _, wrapped := range []string{
				"not (" + filter + ")",
				"not (not (" + filter + "))",
				"(" + filter + ") or id pr",
				"not ((" + filter + ") and id pr)",
				"not ((" + filter + ") or meta.created lt \"1000-01-01T00:00:00Z\")",
			} {
				check(t, tg, wrapped)
			}
		}
	})
}

// patchSeeds returns every PATCH body of the tests, for the user (false) or
// group (true) endpoint.
func patchSeeds(tb testing.TB) map[string]bool {
	tb.Helper()
	seeds := map[string]bool{}
	validator, err := os.ReadFile("testdata/entra_validator_patch.json")
	require.NoError(tb, err)
	seeds[string(validator)] = false
	for _, b := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"displayName":"Foo Bar","title":"Bar Foo","name.givenName":"Foo","name.familyName":"Bar","name.formatted":"Foo Bar"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"addresses[type eq \"work\"].formatted","value":"x"},{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"y"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/00aa","value":"00aa"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":""}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[primary eq true].value","value":"new@x.com"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"roles[primary eq \"True\"].value","value":"admin"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"nickName"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"title":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":null,"manager":""}}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"groups","value":[{"value":"g"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"Password","value":"x"},{"op":"add","value":{"password":"y","PASSWORD":"z"}}]}`,
	} {
		seeds[b] = false
	}
	for _, b := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},{"op":"add","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[{"value":"23a35c27","display":"a"},{"value":"89bb1940","display":"b"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"1879db59updatedDisplayName"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"u3"}]},{"op":"remove","path":"members[value eq \"u3\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"externalId","value":"8aa1a0c0"}]}`,
	} {
		seeds[b] = true
	}
	return seeds
}

// FuzzApplyPatch sends PATCH bodies through NormalizeBody and a real elimity
// server, applies what elimity accepts to sample documents, and checks that
// ApplyPatch never panics, fails only with a 4xx *ScimError, leaves its input
// alone, never stores a password and returns JSON-encodable documents.
func FuzzApplyPatch(f *testing.F) {
	for body, group := range patchSeeds(f) {
		f.Add([]byte(body), group)
	}
	srv := newElimity(f)
	us, gs := UserSchema(), GroupSchema()
	users := append(fuzzUsers(f), mustJSON(f, baseManager), mustJSON(f, baseUserTwoEmails))
	groups := fuzzGroups(f)
	f.Fuzz(func(t *testing.T, body []byte, group bool) {
		s, docs, endpoint := us, users, "/Users/u1"
		if group {
			s, docs, endpoint = gs, groups, "/Groups/g1"
		}
		norm, err := NormalizeBody(s, http.MethodPatch, body)
		require.NoError(t, err)
		_, _, c := serve(srv, http.MethodPatch, endpoint, norm)
		if !c.called {
			return
		}
		for _, doc := range docs {
			pristine := deepCopyMap(doc)
			got, changed, err := s.ApplyPatch(doc, c.ops)
			require.Equal(t, pristine, doc, "input document was modified")
			if err != nil {
				var se *scimerrors.ScimError
				require.True(t, errors.As(err, &se), "error %T is not a *ScimError", err)
				require.GreaterOrEqual(t, se.Status, 400)
				require.Less(t, se.Status, 500)
				continue
			}
			require.Equal(t, !jsonEqual(doc, got), changed)
			_, hasPassword := findKeyFold(got, "password")
			require.False(t, hasPassword, "password stored")
			_, err = json.Marshal(got)
			require.NoError(t, err)
			// Applying the same operations again must be just as safe.
			_, _, _ = s.ApplyPatch(got, c.ops)
		}
	})
}

func findKeyFold(m map[string]any, key string) (any, bool) {
	_, v, ok := findKey(m, key)
	return v, ok
}

// FuzzNormalizeBody checks that normalisation never panics, keeps valid JSON
// valid, and is idempotent.
func FuzzNormalizeBody(f *testing.F) {
	for body := range patchSeeds(f) {
		f.Add([]byte(body), http.MethodPatch)
	}
	for _, b := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],"userName":"u","addresses":null,"manager":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"d"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":[{"$ref":null,"value":"m"}],"department":"D"}`,
	} {
		f.Add([]byte(b), http.MethodPost)
	}
	us := UserSchema()
	f.Fuzz(func(t *testing.T, body []byte, method string) {
		out, err := NormalizeBody(us, method, body)
		require.NoError(t, err)
		if json.Valid(body) {
			require.True(t, json.Valid(out))
		}
		again, err := NormalizeBody(us, method, out)
		require.NoError(t, err)
		require.Equal(t, string(out), string(again), "normalisation is not idempotent")
	})
}

// FuzzApplyPatchOps builds operations directly (op, path and a JSON value),
// without elimity's validation, as another caller of ApplyPatch might: values
// of any type reach every branch of the engine.
func FuzzApplyPatchOps(f *testing.F) {
	for _, seed := range []struct{ op, path, value string }{
		{"add", `emails[type eq "work"].value`, `"a@b.c"`},
		{"replace", `emails[primary eq true]`, `{"value":"x","primary":"True"}`},
		{"remove", `members[value eq "u1" or not (display pr)]`, `null`},
		{"add", `roles[primary eq "True" and type eq "x"].display`, `"d"`},
		{"replace", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m1"].value`, `"m2"`},
		{"replace", `manager`, `[{"value":"m"}]`},
		{"add", `name`, `{"givenName":1,"x":null}`},
		{"replace", ``, `{"name.givenName":"g","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":""},"emails[type eq \"work\"].value":"x"}`},
		{"remove", `emails`, `[{"value":"w@x.com"},"x",null,{}]`},
		{"add", `phoneNumbers`, `{"value":"1","primary":true}`},
		{"replace", `addresses[type eq "work" and primary eq true and locality eq "x"]`, `{"region":"r"}`},
		{"Replace", `active`, `"TRUE"`},
		{"add", `emails.type`, `"work"`},
		{"remove", `name.givenName`, `"x"`},
		{"add", `x509Certificates`, `[{"value":"MII="}]`},
		{"replace", `meta.created`, `"2024-01-01T00:00:00Z"`},
		{"add", `password`, `"p"`},
		{"replace", ``, `{"Password":"p","urn:ietf:params:scim:schemas:core:2.0:User:password":"q"}`},
	} {
		f.Add(seed.op, seed.path, seed.value, false)
	}
	us, gs := UserSchema(), GroupSchema()
	users := append(fuzzUsers(f), mustJSON(f, baseManager), mustJSON(f, baseUserTwoEmails))
	groups := fuzzGroups(f)
	f.Fuzz(func(t *testing.T, op, path, value string, group bool) {
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			return
		}
		o := scim.PatchOperation{Op: op, Value: v}
		if path != "" {
			p, err := filter.ParsePath([]byte(path))
			if err != nil {
				return
			}
			o.Path = &p
		}
		s, docs := us, users
		if group {
			s, docs = gs, groups
		}
		for _, doc := range docs {
			pristine := deepCopyMap(doc)
			got, changed, err := s.ApplyPatch(doc, []scim.PatchOperation{o, o})
			require.Equal(t, pristine, doc, "input document was modified")
			if err != nil {
				var se *scimerrors.ScimError
				require.True(t, errors.As(err, &se), "error %T is not a *ScimError", err)
				require.Equal(t, http.StatusBadRequest, se.Status)
				continue
			}
			require.Equal(t, !jsonEqual(doc, got), changed)
			_, hasPassword := findKeyFold(got, "password")
			require.False(t, hasPassword, "password stored")
			_, err = json.Marshal(got)
			require.NoError(t, err)
		}
	})
}
