package scim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// testToken is the bearer token of the test servers.
const testToken = "test-token-0123456789abcdef"

// env is one bridge SCIM server under test, on a real store.
type env struct {
	t     testing.TB
	url   string // SCIM base URL, ending in /scim/v2
	store store.Store
	svc   *bridge.Service
	logs  *observer.ObservedLogs
}

// forEachBackend runs fn against a fresh server on every store backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, newEnv(t, b.New(t)))
		})
	}
}

// newEnv starts a server on st with the store catalog of the default simulator
// seed (so groups named like its stores map to them).
func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	return newEnvWith(t, st, nil)
}

// newEnvWith is newEnv with handler options adjusted by mod (when not nil).
func newEnvWith(t testing.TB, st store.Store, mod func(*Options)) *env {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	svc, err := bridge.NewService(bridge.Options{Store: st, Logger: log, Mapping: bridge.Mapping{ByName: true}})
	require.NoError(t, err)
	_, err = svc.SetCatalog(t.Context(), []bridge.CatalogStore{
		{Hash: "abc123", Name: "Plant Market"}, {Hash: "def456", Name: "Garden Tools"}, {Hash: "ghi789", Name: "Seed Library"},
	})
	require.NoError(t, err)
	tok, err := ParseToken(testToken)
	require.NoError(t, err)
	opts := Options{Service: svc, Tokens: []TokenHash{tok}, Logger: log, MaxBodyBytes: 64 << 10}
	if mod != nil {
		mod(&opts)
	}
	h, err := NewHandler(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &env{t: t, url: ts.URL + Prefix, store: st, svc: svc, logs: logs}
}

// response is a decoded SCIM response.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a SCIM request with the test token; body may be a string (sent as
// is) or a value (JSON-encoded).
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, r)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out.body), "body: %s", raw)
	}
	require.Equal(e.t, "application/scim+json", strings.Split(res.Header.Get("Content-Type"), ";")[0],
		"%s %s: every response is application/scim+json", method, path)
	return out
}

// must asserts the status and returns the response.
func (r response) must(t testing.TB, status int) response {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.raw)
	return r
}

// str returns the string at a dotted path of the body.
func (r response) str(path string) string {
	v, _ := r.get(path).(string)
	return v
}

func (r response) get(path string) any { return lookup(r.body, path) }

// lookup walks a dotted path; map keys may themselves contain dots (schema
// URNs), so the longest matching key wins.
func lookup(cur any, path string) any {
	if path == "" {
		return cur
	}
	switch c := cur.(type) {
	case map[string]any:
		best := ""
		for k := range c {
			if (path == k || strings.HasPrefix(path, k+".")) && len(k) > len(best) {
				best = k
			}
		}
		if best == "" {
			return nil
		}
		return lookup(c[best], strings.TrimPrefix(strings.TrimPrefix(path, best), "."))
	case []any:
		head, rest, _ := strings.Cut(path, ".")
		i, err := strconv.Atoi(head)
		if err != nil || i >= len(c) {
			return nil
		}
		return lookup(c[i], rest)
	}
	return nil
}

// createUser posts a user and returns its id.
func (e *env) createUser(body string) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/Users", body).must(e.t, http.StatusCreated)
	return r.str("id")
}

// userBody is a minimal Okta-style user.
func userBody(userName string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName +
		`","name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"` + userName +
		`","type":"work"}],"active":true}`
}

// intents returns every intent in the outbox, oldest first.
func (e *env) intents() []store.Intent {
	e.t.Helper()
	var out []store.Intent
	require.NoError(e.t, e.store.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListIntents(e.t.Context(), store.IntentFilter{})
		return err
	}))
	return out
}

// intentsAfter returns the intents appended after the first n.
func (e *env) intentsAfter(n int) []string {
	e.t.Helper()
	var out []string
	for _, in := range e.intents()[n:] {
		s := string(in.Kind) + " " + in.Email
		if in.StoreHash != "" {
			s += " " + in.StoreHash
		}
		out = append(out, s)
	}
	return out
}
