package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/stretchr/testify/require"
)

// TestMain enables elimity's string values for booleans, as the bridge's
// server does at start-up (Entra ID sends "True"/"False").
func TestMain(m *testing.M) {
	schema.SetAllowStringValues(true)
	os.Exit(m.Run())
}

// capture records what elimity hands to a resource handler for one request.
type capture struct {
	called     bool
	attributes scim.ResourceAttributes
	ops        []scim.PatchOperation
}

type captureKey struct{}

// captureHandler is a scim.ResourceHandler that stores its input in the
// request's capture, so one elimity server serves concurrent tests.
type captureHandler struct{}

func captured(r *http.Request) *capture {
	c, _ := r.Context().Value(captureKey{}).(*capture)
	if c == nil {
		c = &capture{}
	}
	return c
}

func (captureHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	c := captured(r)
	c.called, c.attributes = true, attrs
	return scim.Resource{ID: "new", Attributes: attrs}, nil
}

func (captureHandler) Get(_ *http.Request, id string) (scim.Resource, error) {
	return scim.Resource{ID: id, Attributes: scim.ResourceAttributes{"userName": "x"}}, nil
}

func (captureHandler) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{Resources: []scim.Resource{}}, nil
}

func (captureHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	c := captured(r)
	c.called, c.attributes = true, attrs
	return scim.Resource{ID: id, Attributes: attrs}, nil
}

func (captureHandler) Delete(*http.Request, string) error { return nil }

func (captureHandler) Patch(r *http.Request, _ string, ops []scim.PatchOperation) (scim.Resource, error) {
	c := captured(r)
	c.called, c.ops = true, ops
	return scim.Resource{}, nil
}

// newElimity builds an elimity server for the bridge's two resource types,
// configured as the bridge's server is.
func newElimity(tb testing.TB) scim.Server {
	tb.Helper()
	us, gs := UserSchema(), GroupSchema()
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{MaxResults: 100, SupportFiltering: true, SupportPatch: true},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: us.Core(), SchemaExtensions: us.SchemaExtensions(), Handler: captureHandler{}},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: gs.Core(), SchemaExtensions: gs.SchemaExtensions(), Handler: captureHandler{}},
		},
	})
	require.NoError(tb, err)
	return srv
}

// serve sends one request through elimity and returns the status, the
// response body and what the handler received.
func serve(srv scim.Server, method, path string, body []byte) (int, []byte, *capture) {
	c := &capture{}
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/scim+json")
	req = req.WithContext(context.WithValue(req.Context(), captureKey{}, c))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), c
}

// elimityPatch runs a PATCH body through NormalizeBody and elimity and
// returns the operations elimity hands over (nil and the status when elimity
// rejects the body).
func elimityPatch(tb testing.TB, srv scim.Server, s *Schema, body string) ([]scim.PatchOperation, int) {
	tb.Helper()
	norm, err := NormalizeBody(s, http.MethodPatch, []byte(body))
	require.NoError(tb, err)
	endpoint := "/Users/u1"
	if s.Name() == "Group" {
		endpoint = "/Groups/g1"
	}
	status, _, c := serve(srv, http.MethodPatch, endpoint, norm)
	if !c.called {
		return nil, status
	}
	return c.ops, status
}

// mustJSON decodes a JSON document for test tables.
func mustJSON(tb testing.TB, s string) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal([]byte(s), &m))
	return m
}

// roundTrip converts a value to its plain JSON form (float64 numbers, []any),
// so documents compare with require.Equal regardless of Go types.
func roundTrip(tb testing.TB, v any) any {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	var out any
	require.NoError(tb, json.Unmarshal(b, &out))
	return out
}
