package apptest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Client talks SCIM to one bridge.
type Client struct {
	// Base is the SCIM base URL, ending in /scim/v2.
	Base string
	// Token is the bearer token of every request.
	Token string
	// HTTP sends the requests.
	HTTP *http.Client
}

// NewClient is a client of the bridge at base with token, whose requests
// time out after 10 seconds.
func NewClient(base, token string) Client {
	return Client{Base: base, Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// WithTimeout is c with requests that time out after d.
func (c Client) WithTimeout(d time.Duration) Client {
	c.HTTP = &http.Client{Timeout: d}
	return c
}

// Do sends a SCIM request (body may be empty) and returns the status and the
// decoded JSON answer (nil when the answer is not a JSON object).
func (c Client) Do(ctx context.Context, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, nil
}

// Must sends a SCIM request and fails the test unless it is answered with
// status; it returns the decoded answer.
func (c Client) Must(tb testing.TB, method, path, body string, status int) map[string]any {
	tb.Helper()
	got, out, err := c.Do(tb.Context(), method, path, body)
	require.NoError(tb, err)
	require.Equal(tb, status, got, "%s %s: %v", method, path, out)
	return out
}
