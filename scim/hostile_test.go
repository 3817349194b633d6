package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// TestPatchLimits: a PATCH may carry at most resource.MaxOperations
// operations (413 beyond) and a multi-valued attribute at most
// bridge.MaxValues values (400 beyond); both are refused before any work.
func TestPatchLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("limits@example.com"))
		many := func(n int, op string) string {
			ops := make([]string, n)
			for i := range ops {
				ops[i] = op
			}
			return patchBody(ops...)
		}
		r := e.do(http.MethodPatch, "/Users/"+id, many(resource.MaxOperations+1, `{"op":"replace","path":"title","value":"x"}`)).must(t, http.StatusRequestEntityTooLarge)
		require.Contains(t, r.get("schemas"), errorSchema)
		require.Contains(t, r.str("detail"), fmt.Sprint(resource.MaxOperations))
		e.do(http.MethodPatch, "/Users/"+id, many(resource.MaxOperations, `{"op":"replace","path":"title","value":"x"}`)).must(t, http.StatusOK)

		// Values per multi-valued attribute, in one operation and across many.
		emails := func(from, n int) string {
			var vs []string
			for i := range n {
				vs = append(vs, fmt.Sprintf(`{"value":"e%d@example.com"}`, from+i))
			}
			return "[" + strings.Join(vs, ",") + "]"
		}
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"add","path":"emails","value":`+emails(0, bridge.MaxValues+1)+`}`)).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.str("scimType"))
		var ops []string
		for i := range 3 {
			ops = append(ops, `{"op":"add","path":"emails","value":`+emails(i*(bridge.MaxValues/2), bridge.MaxValues/2)+`}`)
		}
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(ops...)).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.str("scimType"))
		r = e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"many@example.com","emails":`+emails(0, bridge.MaxValues+1)+`}`).must(t, http.StatusBadRequest)
		require.Equal(t, "invalidValue", r.str("scimType"))

		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Len(t, r.get("emails"), 1, "refused PATCHes changed nothing")

		r = e.do(http.MethodGet, "/ServiceProviderConfig", nil).must(t, http.StatusOK)
		require.Equal(t, float64(resource.MaxOperations), r.get("bulk.maxOperations"))
		require.Equal(t, float64(64<<10), r.get("bulk.maxPayloadSize"))
	})
}

// TestLargeArraysAreRefusedEarly: an array longer than any limit allows is
// refused before the SCIM library validates each element.
func TestLargeArraysAreRefusedEarly(t *testing.T) {
	e := newEnvWith(t, storetest.NewSQLite(t), func(o *Options) { o.MaxBodyBytes = 4 << 20 })
	id := e.createUser(userBody("early@example.com"))
	var vs []string
	for i := range bridge.MaxMembers + 1 {
		vs = append(vs, fmt.Sprintf(`{"value":"e%d@x.io"}`, i))
	}
	start := time.Now()
	r := e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"add","path":"emails","value":[`+strings.Join(vs, ",")+`]}`)).must(t, http.StatusBadRequest)
	require.Equal(t, "invalidValue", r.str("scimType"))
	require.Less(t, time.Since(start), 5*time.Second)
	g := e.do(http.MethodPost, "/Groups", groupBody("Big")).must(t, http.StatusCreated).str("id")
	r = e.do(http.MethodPatch, "/Groups/"+g, patchBody(`{"op":"add","path":"members","value":[`+strings.Join(vs, ",")+`]}`)).must(t, http.StatusBadRequest)
	require.Equal(t, "invalidValue", r.str("scimType"))
}

// hostileIDs are ids no resource can have: NUL, invalid UTF-8 (a lone
// continuation byte, an overlong "/", a UTF-16 surrogate) and an id longer
// than bridge.MaxIDBytes. They are percent-encoded for a URL path.
var hostileIDs = map[string]string{
	"nul":       "jane%00doe",
	"ff":        "jane.leak@example.com%FF",
	"overlong":  "a%C0%AFb",
	"surrogate": "x%ED%A0%80",
	"long":      strings.Repeat("i", bridge.MaxIDBytes+1),
}

// TestHostileStrings: NUL, invalid UTF-8 and over-long strings get a clear
// 4xx on both backends, never a 500 and never a stored value.
func TestHostileStrings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		user := e.createUser(userBody("hostile@example.com"))
		group := e.do(http.MethodPost, "/Groups", groupBody("Hostile", user)).must(t, http.StatusCreated).str("id")

		t.Run("lookups by impossible ids are 404", func(t *testing.T) {
			for name, id := range hostileIDs {
				for _, res := range []string{"/Users/", "/Groups/"} {
					e.do(http.MethodGet, res+id, nil).must(t, http.StatusNotFound)
					e.do(http.MethodDelete, res+id, nil).must(t, http.StatusNotFound)
					e.do(http.MethodPatch, res+id, patchBody(`{"op":"replace","path":"displayName","value":"x"}`)).must(t, http.StatusNotFound)
				}
				e.do(http.MethodPut, "/Users/"+id, userBody("put."+name+"@example.com")).must(t, http.StatusNotFound)
				e.do(http.MethodPut, "/Groups/"+id, groupBody("Put "+name)).must(t, http.StatusNotFound)
			}
		})

		t.Run("filters on impossible values match nothing", func(t *testing.T) {
			for _, v := range []string{"\x00", "a\x00b", "\xff", "jane.leak@example.com\xff", "\xc0\xaf", "\xed\xa0\x80", `\u0000`} {
				for _, f := range []string{`userName eq "%s"`, `id eq "%s"`, `externalId eq "%s"`, `displayName co "%s"`, `emails.value eq "%s"`,
					`emails[type eq "work" and value sw "%s"]`, `userName eq "hostile@example.com" and name.givenName eq "%s"`} {
					r := e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(f, v)), nil).must(t, http.StatusOK)
					require.Equal(t, float64(0), r.get("totalResults"), f)
				}
				for _, f := range []string{`displayName eq "%s"`, `members eq "%s"`, `members[value eq "%s"]`, `externalId sw "%s"`, `id eq "%s"`} {
					r := e.do(http.MethodGet, "/Groups?filter="+url.QueryEscape(fmt.Sprintf(f, v)), nil).must(t, http.StatusOK)
					require.Equal(t, float64(0), r.get("totalResults"), f)
				}
				// The negation matches everything that has the attribute.
				r := e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName ne "%s"`, v)), nil).must(t, http.StatusOK)
				require.Equal(t, float64(1), r.get("totalResults"))
				r = e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`not (emails.value eq "%s")`, v)), nil).must(t, http.StatusOK)
				require.Equal(t, float64(1), r.get("totalResults"))
			}
		})

		t.Run("NUL is refused in every string", func(t *testing.T) {
			for _, body := range []string{
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nul\u0000@example.com"}`,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ok.nul@example.com","externalId":"x\u0000"}`,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ok.nul@example.com","displayName":"\u0000"}`,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ok.nul@example.com","emails":[{"value":"a\u0000@example.com"}]}`,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ok.nul@example.com","title":"CEO\u0000"}`,
			} {
				r := e.do(http.MethodPost, "/Users", body).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"), body)
				e.do(http.MethodPut, "/Users/"+user, body).must(t, http.StatusBadRequest)
			}
			for _, op := range []string{
				`{"op":"replace","path":"userName","value":"x\u0000"}`,
				`{"op":"replace","value":{"externalId":"\u0000"}}`,
				`{"op":"add","path":"emails[type eq \"work\"].value","value":"w\u0000@example.com"}`,
			} {
				r := e.do(http.MethodPatch, "/Users/"+user, patchBody(op)).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"), op)
			}
			for _, body := range []string{groupBody("nul\\u0000group"), groupBody("Nul members", "u\\u0000")} {
				r := e.do(http.MethodPost, "/Groups", body).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"), body)
			}
			r := e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"x\u0000y"}]}`)).must(t, http.StatusBadRequest)
			require.Equal(t, "invalidValue", r.str("scimType"))
			r = e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"replace","path":"displayName","value":"G\u0000"}`)).must(t, http.StatusBadRequest)
			require.Equal(t, "invalidValue", r.str("scimType"))
			require.Equal(t, []string{user}, e.memberIDsOf(group))
		})

		t.Run("invalid UTF-8 in a body is a syntax error", func(t *testing.T) {
			for _, bad := range []string{"\xff", "\xc0\xaf", "\xed\xa0\x80"} {
				body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"utf` + bad + `@example.com"}`
				r := e.do(http.MethodPost, "/Users", body).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidSyntax", r.str("scimType"))
				r = e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"replace","path":"displayName","value":"`+bad+`"}`)).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidSyntax", r.str("scimType"))
			}
		})

		t.Run("indexed strings have length limits", func(t *testing.T) {
			long := func(n int) string { return strings.Repeat("a", n) }
			email := func(n int) string { return long(n-len("@example.com")) + "@example.com" }
			// At the limits: accepted.
			r := e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+long(bridge.MaxUserNameBytes)+
				`","externalId":"`+long(bridge.MaxExternalIDBytes)+`","displayName":"`+long(bridge.MaxDisplayNameBytes)+
				`","emails":[{"value":"`+email(bridge.MaxEmailChars)+`","type":"work"}]}`).must(t, http.StatusCreated)
			require.Len(t, r.str("userName"), bridge.MaxUserNameBytes)
			e.do(http.MethodPost, "/Groups", groupBody(long(bridge.MaxDisplayNameBytes))).must(t, http.StatusCreated)
			// Beyond them (and at the size PostgreSQL's indexes refuse): 400.
			for _, n := range []int{1, 3000} {
				for _, body := range []string{
					`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + long(bridge.MaxUserNameBytes+n) + `"}`,
					`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"len1@example.com","externalId":"` + long(bridge.MaxExternalIDBytes+n) + `"}`,
					`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"len2@example.com","displayName":"` + long(bridge.MaxDisplayNameBytes+n) + `"}`,
					`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"len3","emails":[{"value":"` + email(bridge.MaxEmailChars+n) + `"}]}`,
					`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"len4","emails":[{"value":"a@example.com","type":"` + long(bridge.MaxEmailTypeBytes+n) + `"}]}`,
				} {
					r := e.do(http.MethodPost, "/Users", body).must(t, http.StatusBadRequest)
					require.Equal(t, "invalidValue", r.str("scimType"))
				}
				r := e.do(http.MethodPost, "/Groups", groupBody(long(bridge.MaxDisplayNameBytes+n))).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"))
				r = e.do(http.MethodPatch, "/Users/"+user, patchBody(`{"op":"replace","path":"userName","value":"`+long(bridge.MaxUserNameBytes+n)+`"}`)).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"))
				r = e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"replace","path":"externalId","value":"`+long(bridge.MaxExternalIDBytes+n)+`"}`)).must(t, http.StatusBadRequest)
				require.Equal(t, "invalidValue", r.str("scimType"))
			}
		})

		// Nothing above reached BigCommerce's outbox beyond the first user's add.
		for _, in := range e.intents() {
			require.LessOrEqual(t, len(in.Email), bridge.MaxEmailChars)
		}
	})
}

// TestTrailingContent: a body must be exactly one JSON value (RFC 8259).
func TestTrailingContent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("trail@example.com"))
		for _, c := range []struct{ method, path, body string }{
			{http.MethodPost, "/Users", userBody("trail2@example.com") + ` {"x":1}`},
			{http.MethodPost, "/Users", userBody("trail3@example.com") + `]`},
			{http.MethodPut, "/Users/" + id, userBody("trail@example.com") + ` {}`},
			{http.MethodPatch, "/Users/" + id, patchBody(`{"op":"replace","path":"title","value":"x"}`) + ` 1`},
			{http.MethodPost, "/Groups", groupBody("Trail") + `{"displayName":"other"}`},
		} {
			r := e.do(c.method, c.path, c.body).must(t, http.StatusBadRequest)
			require.Equal(t, "invalidSyntax", r.str("scimType"), c.body)
		}
		// Trailing white space is fine.
		e.do(http.MethodPost, "/Users", userBody("trail4@example.com")+" \r\n\t").must(t, http.StatusCreated)
		r := e.do(http.MethodGet, "/Users", nil).must(t, http.StatusOK)
		require.Equal(t, float64(2), r.get("totalResults"))
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Nil(t, r.get("title"))
	})
}

// TestNoPersonalDataInErrorLogs: hostile values that reach error paths never
// appear in any log entry (ids a client sent, member values, filter values).
func TestNoPersonalDataInErrorLogs(t *testing.T) {
	const marker = "jane.leak"
	forEachBackend(t, func(t *testing.T, e *env) {
		user := e.createUser(userBody("logs@example.com"))
		group := e.do(http.MethodPost, "/Groups", groupBody("Logs", user)).must(t, http.StatusCreated).str("id")
		for _, id := range []string{"jane.leak@example.com%FF", "jane.leak%00x", "jane.leak%C0%AF", "jane.leak" + strings.Repeat("x", 3000)} {
			for _, res := range []string{"/Users/", "/Groups/"} {
				e.do(http.MethodGet, res+id, nil)
				e.do(http.MethodDelete, res+id, nil)
				e.do(http.MethodPatch, res+id, patchBody(`{"op":"replace","path":"displayName","value":"jane.leak"}`))
			}
			e.do(http.MethodPut, "/Users/"+id, userBody("jane.leak@example.com"))
		}
		for _, v := range []string{"jane.leak\\u0000", "jane.leak\xff", "jane.leak" + strings.Repeat("y", 3000)} {
			e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"`+v+`"}]}`))
			e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"remove","path":"members","value":[{"value":"`+v+`"}]}`))
			e.do(http.MethodPatch, "/Groups/"+group, patchBody(`{"op":"remove","path":"members[value eq \"`+v+`\"]"}`))
			e.do(http.MethodPost, "/Groups", groupBody("jane.leak group", v))
			e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+v+`"}`)
			e.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "`+v+`"`), nil)
			e.do(http.MethodGet, "/Groups?filter="+url.QueryEscape(`members eq "`+v+`"`), nil)
		}
		entries := e.logs.All()
		require.NotEmpty(t, entries)
		for _, entry := range entries {
			require.NotContains(t, fmt.Sprint(entry.Message, entry.ContextMap()), marker)
		}
	})
}

// TestAttributesLeaveOutMeta: meta is "returned: default" (RFC 7643 §3.1),
// so an attributes list that does not name it leaves it out; id and schemas
// are "returned: always".
func TestAttributesLeaveOutMeta(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(userBody("meta@example.com"))
		g := e.do(http.MethodPost, "/Groups", groupBody("Meta", id)).must(t, http.StatusCreated).str("id")
		for _, path := range []string{"/Users/" + id + "?attributes=userName", "/Users/" + id + "?attributes=id", "/Groups/" + g + "?attributes=displayName",
			"/Users/" + id + "?excludedAttributes=meta"} {
			r := e.do(http.MethodGet, path, nil).must(t, http.StatusOK)
			require.Nil(t, r.get("meta"), path)
			require.NotEmpty(t, r.str("id"), path)
			require.NotEmpty(t, r.get("schemas"), path)
		}
		r := e.do(http.MethodGet, "/Users/"+id+"?attributes=userName", nil).must(t, http.StatusOK)
		require.Equal(t, id, r.str("id"))
		require.Equal(t, "meta@example.com", r.str("userName"))
		require.Nil(t, r.get("emails"))
		r = e.do(http.MethodGet, "/Users?attributes=id", nil).must(t, http.StatusOK)
		require.Nil(t, r.get("Resources.0.meta"))
		require.Equal(t, id, r.str("Resources.0.id"))
		r = e.do(http.MethodGet, "/Users/"+id+"?attributes=userName,meta.version", nil).must(t, http.StatusOK)
		require.Equal(t, `W/"1"`, r.str("meta.version"))
		require.Nil(t, r.get("meta.location"))
		r = e.do(http.MethodPatch, "/Users/"+id+"?attributes=title", patchBody(`{"op":"replace","path":"title","value":"CFO"}`)).must(t, http.StatusOK)
		require.Nil(t, r.get("meta"))
		require.Equal(t, "CFO", r.str("title"))
		// Without attributes meta is there.
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.NotNil(t, r.get("meta.location"))
	})
}
