package scim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// FuzzRequests sends arbitrary filters and PATCH bodies through the whole HTTP
// stack on a real SQLite store: no input may produce a 5xx or a panic.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{
		`userName eq "a@b.c"`, `emails[type eq "work"].value eq "x@y.com"`, `id eq 1 and manager eq 2`,
		`name.familyName eq "E" and (emails.value co "a" or not (active eq false))`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`members eq "u1"`, `((((`, `userName eq "\u0000"`,
	} {
		f.Add(s, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	}
	f.Add(`displayName pr`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"v@x.io"},{"op":"remove","path":"members[value eq \"x\"]"}]}`)
	f.Add(`x`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"$ref":null,"value":""}]}]}`)

	f.Add(`members[value eq "U1" or value eq "U2"]`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"U1\" or value eq \"U2\"]"}]}`)
	f.Add(`userName eq "\u0000" or id eq "\u00ff"`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[not (value eq \"x\")]"}]}`)
	f.Add(`externalId sw "x"`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"\u0000"}}]} {}`)

	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, filter, patch string) {
		for _, path := range []string{"/Users?filter=", "/Groups?filter="} {
			check(t, e, http.MethodGet, path+url.QueryEscape(filter), "")
		}
		check(t, e, http.MethodPatch, "/Users/"+e.user, patch)
		check(t, e, http.MethodPatch, "/Groups/"+e.group, patch)
		check(t, e, http.MethodPost, "/Users", patch)
	})
}

type fuzzTarget struct {
	h           http.Handler
	user, group string
}

func fuzzEnv(t testing.TB) fuzzTarget {
	st := storetest.NewSQLite(t)
	e := newEnv(t, st)
	user := e.createUser(userBody("fuzz@example.com"))
	g := e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market","members":[{"value":"`+user+`"}]}`).must(t, http.StatusCreated)
	tok, _ := ParseToken(testToken)
	h, err := NewHandler(Options{Service: e.svc, Tokens: []TokenHash{tok}})
	if err != nil {
		t.Fatal(err)
	}
	return fuzzTarget{h: h, user: user, group: g.str("id")}
}

func check(t testing.TB, e fuzzTarget, method, path, body string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, "http://bridge"+Prefix+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s with body %q: status %d: %s", method, path, body, rec.Code, rec.Body.String())
	}
}
