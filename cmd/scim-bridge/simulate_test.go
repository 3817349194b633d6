package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
)

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		window  time.Duration
		wantErr string
	}{
		{in: "70/1h", n: 70, window: time.Hour},
		{in: "5/1m", n: 5, window: time.Minute},
		{in: "10/90s", n: 10, window: 90 * time.Second},
		{in: "70/h", n: 70, window: time.Hour},
		{in: " 3 / 2m ", n: 3, window: 2 * time.Minute},
		{in: "70", wantErr: `missing "/"`},
		{in: "0/1h", wantErr: "positive whole number"},
		{in: "-1/1h", wantErr: "positive whole number"},
		{in: "x/1h", wantErr: "positive whole number"},
		{in: "5/soon", wantErr: "Go duration"},
		{in: "5/", wantErr: "Go duration"},
		{in: "5/-1m", wantErr: "positive"},
		{in: "5/1ns", wantErr: "at least 1ms"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, w, err := parseRateLimit(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "70/1h", "the message shows the expected form")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.n, n)
			require.Equal(t, tc.window, w)
		})
	}
}

func TestSimulateBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"bad rate limit", []string{"--rate-limit", "fast"}, `--rate-limit "fast"`},
		{"fail rate above 1", []string{"--fail-rate", "1.5"}, "outside 0..1"},
		{"fail status not 5xx", []string{"--fail-status", "404"}, "not a 5xx"},
		{"negative latency", []string{"--latency", "-1s"}, "negative"},
		{"bad latency", []string{"--latency", "soon"}, "invalid value"},
		{"zero complexity", []string{"--max-complexity", "0"}, "must be positive"},
		{"negative mutations", []string{"--max-mutations", "-1"}, "0 (no limit) or positive"},
		{"zero page size", []string{"--max-page-size", "0"}, "must be positive"},
		{"unknown profile", []string{"--profile", "generous"}, `--profile "generous" is not a profile; choose one of: full, documented`},
		{"empty profile", []string{"--profile", ""}, "choose one of: full, documented"},
		{"negative hold", []string{"--hold-response", "-1s"}, "--hold-response -1s is negative"},
		{"bad hold", []string{"--hold-response", "later"}, "invalid value"},
		{"empty token", []string{"--token", ""}, "must not be empty"},
		{"positional argument", []string{"extra"}, "takes only flags"},
		{"bad account uuid", []string{"--account-uuid", "a/b", "--listen", "127.0.0.1:0"}, "account UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSimulate(t.Context(), tc.args, &stdout, &stderr)
			require.Equal(t, exitUsage, code)
			require.Contains(t, stderr.String(), tc.want)
			require.Empty(t, stdout.String())
		})
	}

	t.Run("several problems are reported together", func(t *testing.T) {
		var stderr bytes.Buffer
		code := runSimulate(t.Context(), []string{"--fail-rate", "2", "--max-page-size", "-3"}, io.Discard, &stderr)
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr.String(), "--fail-rate")
		require.Contains(t, stderr.String(), "--max-page-size")
		require.Contains(t, stderr.String(), `Run "scim-bridge simulate -h"`)
	})

	t.Run("help", func(t *testing.T) {
		var stderr bytes.Buffer
		require.Equal(t, exitOK, runSimulate(t.Context(), []string{"-h"}, io.Discard, &stderr))
		require.Contains(t, stderr.String(), "-rate-limit N/DURATION")
		require.Contains(t, stderr.String(), "Seed file")
		require.Contains(t, stderr.String(), "-profile profile")
		require.Contains(t, stderr.String(), "-hold-response duration")
		require.Contains(t, stderr.String(), "documented  only what BigCommerce documents")
	})

	t.Run("bad seed file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seed.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"account":{"name":"A"},"stores":[],"users":[],"extra":1}`), 0o600))
		var stderr bytes.Buffer
		require.Equal(t, exitError, runSimulate(t.Context(), []string{"--seed", path}, io.Discard, &stderr))
		require.Contains(t, stderr.String(), `unknown field "extra"`)
		require.Contains(t, stderr.String(), "Fix the seed file")

		stderr.Reset()
		require.Equal(t, exitError, runSimulate(t.Context(), []string{"--seed", filepath.Join(t.TempDir(), "missing.json")}, io.Discard, &stderr))
		require.Contains(t, stderr.String(), "open seed")
	})
}

func TestSimulateServesUntilCancelled(t *testing.T) {
	seedPath := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(seedPath, []byte(`{"account":{"uuid":"seed-uuid","name":"Seeded Shop"},
	  "stores":[{"hash":"abc123","name":"Plant Market"}],
	  "users":[{"email":"a@example.com","firstName":"A","lastName":"B","stores":["abc123"]}]}`), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &apptest.Buffer{}, &apptest.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- runSimulate(ctx, []string{
			"--listen", "127.0.0.1:0", "--token", "tok-1", "--rate-limit", "5/1m", "--seed", seedPath,
			"--max-mutations", "1", "--max-page-size", "50",
		}, stdout, stderr)
	}()

	var url string
	require.Eventually(t, func() bool {
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "GraphQL URL:"); ok {
				url = strings.TrimSpace(rest)
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "stderr: %s", stderr.String())
	require.True(t, strings.HasSuffix(url, "/accounts/seed-uuid/graphql"), url)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "SCIM_BRIDGE_BC_RATE_LIMIT=") }, 5*time.Second, 10*time.Millisecond)
	banner := stdout.String()
	// Ready-to-paste settings for the bridge, and what the account holds.
	require.Contains(t, banner, "export SCIM_BRIDGE_BC_API_URL="+strings.TrimSuffix(url, "/accounts/seed-uuid/graphql")+"\n")
	require.Contains(t, banner, "export SCIM_BRIDGE_BC_ACCOUNT_UUID=seed-uuid\n")
	require.Contains(t, banner, "export SCIM_BRIDGE_BC_TOKEN=tok-1\n")
	require.Contains(t, banner, "export SCIM_BRIDGE_BC_RATE_LIMIT=5/1m\n")
	require.Contains(t, banner, "Users already in the account")
	require.Contains(t, banner, "Profile:        full (the generous reconstruction)")
	require.Contains(t, banner, "hold response 0s")
	require.Contains(t, banner, "Account UUID:   seed-uuid")
	require.Contains(t, banner, "Token:          tok-1")
	require.Contains(t, banner, "Rate limit:     5 requests per 1m0s (5/1m)")
	require.Contains(t, banner, "Max complexity: 10000")
	require.Contains(t, banner, "Max mutations:  1 per document")
	require.Contains(t, banner, "Max page size:  50")

	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"query":"{ account { accountInfo { name } } }"}`))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", "tok-1")
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"data":{"account":{"accountInfo":{"name":"Seeded Shop"}}}}`, string(body))
	require.Equal(t, "5", resp.Header.Get("X-Rate-Limit-Requests-Quota"))
	require.Equal(t, "60000", resp.Header.Get("X-Rate-Limit-Time-Window-Ms"))

	statsURL := strings.TrimSuffix(url, "/accounts/seed-uuid/graphql") + "/_simulator/stats"
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	var stats struct {
		Requests int `json:"requests"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	require.Equal(t, 1, stats.Requests)

	cancel()
	select {
	case code := <-done:
		require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("simulate did not stop after the context was cancelled")
	}
	require.Contains(t, stdout.String(), "simulator stopped")
	require.Empty(t, stderr.String())
}

// startSimulate runs "simulate" with args until the test ends and returns the
// GraphQL URL and the banner.
func startSimulate(t *testing.T, args ...string) (url, banner string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &apptest.Buffer{}, &apptest.Buffer{}
	done := make(chan int, 1)
	go func() { done <- runSimulate(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
		case <-time.After(10 * time.Second):
			t.Error("simulate did not stop after the context was cancelled")
		}
	})
	require.Eventually(t, func() bool {
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "GraphQL URL:"); ok {
				url = strings.TrimSpace(rest)
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "stderr: %s", stderr.String())
	return url, stdout.String()
}

// postSimulate sends one GraphQL query with the default token.
func postSimulate(t *testing.T, url, query string) (int, string, time.Duration) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", "sim-token")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), time.Since(start)
}

func TestSimulateDocumentedProfile(t *testing.T) {
	url, banner := startSimulate(t, "--profile", "documented", "--hold-response", "150ms")
	require.Contains(t, banner, "Profile:        documented (only what BigCommerce documents, the pessimistic choice where it is silent)")
	require.Contains(t, banner, "Max mutations:  1 per document (documented profile)")
	require.Contains(t, banner, "Max page size:  50")
	require.Contains(t, banner, "hold response 150ms")

	status, body, took := postSimulate(t, url, `mutation {
	  a: account { addUserToAccount(input: {email: "one@example.com"}) { __typename } }
	  b: account { addUserToAccount(input: {email: "two@example.com"}) { __typename } } }`)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"errors":[{"message":"This request is not supported."}]}`, body)
	require.GreaterOrEqual(t, took, 150*time.Millisecond, "the response was held")

	status, body, _ = postSimulate(t, url, `{ account { users(last: 1) { edges { cursor } } } }`)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `Unknown argument \"last\"`)
}

func TestSimulateFullProfileByDefault(t *testing.T) {
	url, banner := startSimulate(t)
	require.Contains(t, banner, "Max page size:  100")
	require.Contains(t, banner, "hold response 0s")
	status, body, _ := postSimulate(t, url, `{ account { users(last: 1) { edges { node { email } } } } }`)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"data":{"account":{"users":{"edges":[{"node":{"email":"bob@example.com"}}]}}}}`, body)
}
