package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/simclock"
)

// testUserAgent is the User-Agent every harness request sends.
const testUserAgent = "simulator-test/1.0"

// harness runs a Server behind a real HTTP listener.
type harness struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *simclock.Clock // Options.Now unless the test set its own
	url   string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := simclock.New(time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv, err := New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{t: t, srv: srv, ts: ts, clock: clock, url: srv.URL(ts.URL)}
}

// response is one HTTP answer, body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r *response) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r *response) errors() []map[string]any {
	list, _ := r.body["errors"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}

// codes lists extensions.code of every error, in order.
func (r *response) codes() []string {
	var out []string
	for _, e := range r.errors() {
		ext, _ := e["extensions"].(map[string]any)
		c, _ := ext["code"].(string)
		out = append(out, c)
	}
	return out
}

func (r *response) headerInt(t *testing.T, name string) int {
	t.Helper()
	v := r.header.Get(name)
	require.NotEmpty(t, v, "header %s missing", name)
	n, err := strconv.Atoi(v)
	require.NoError(t, err)
	return n
}

// send posts raw bytes with the given token (no header when token is "").
func (h *harness) send(method, url, token string, body []byte) *response {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, url, bytes.NewReader(body))
	require.NoError(h.t, err)
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", testUserAgent)
	resp, err := h.ts.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &out.body), "body: %s", raw)
	}
	return out
}

// gql posts a GraphQL request with the default token.
func (h *harness) gql(query string, vars map[string]any) *response {
	h.t.Helper()
	return h.gqlAs(DefaultToken, query, vars, "")
}

func (h *harness) gqlAs(token, query string, vars map[string]any, opName string) *response {
	h.t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	if opName != "" {
		body["operationName"] = opName
	}
	b, err := json.Marshal(body)
	require.NoError(h.t, err)
	return h.send(http.MethodPost, h.url, token, b)
}

// ok asserts a 200 without errors and returns data.
func (h *harness) ok(query string, vars map[string]any) map[string]any {
	h.t.Helper()
	r := h.gql(query, vars)
	require.Equal(h.t, http.StatusOK, r.status, "body: %s", r.raw)
	require.Empty(h.t, r.errors(), "body: %s", r.raw)
	return r.data()
}

// dig follows map keys (string) and list indexes (int) through decoded JSON.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "at %q: not an object: %v", k, v)
			v = m[k]
		case int:
			l, ok := v.([]any)
			require.True(t, ok, "at [%d]: not a list: %v", k, v)
			require.Less(t, k, len(l))
			v = l[k]
		default:
			panic(fmt.Sprintf("bad path element %v", p))
		}
	}
	return v
}

// userByEmail finds a user in a snapshot.
func userByEmail(st State, email string) (User, bool) {
	for _, u := range st.Users {
		if u.Email == email {
			return u, true
		}
	}
	return User{}, false
}

// addUserMutation is one aliased addUserToAccount.
func addUserMutation(alias, email string) string {
	return fmt.Sprintf(`%s: account { addUserToAccount(input: {email: %q}) { account { id } } } `, alias, email)
}
