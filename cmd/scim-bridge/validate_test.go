package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/scim"
)

// writeConfig writes a YAML configuration file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

// noEnv is an empty environment.
var noEnv []string

func TestValidateListsEveryProblem(t *testing.T) {
	path := writeConfig(t, `
listen: "bridge"
scim:
  tokens: ["short"]
  max_result: 10
bigcommerce:
  account_uuid: "12345"
  token: "bc-secret-token-value"
  timeout: 30
log:
  level: loud
`)
	var stdout, stderr bytes.Buffer
	code := validateCommand(t.Context(), []string{"--config", path, "--log-format", "xml"}, &stdout, &stderr,
		[]string{"SCIM_BRIDGE_BC_MAX_BATCH=many", "SCIM_BRIDGE_BC_APIURL=http://127.0.0.1:8090"})
	require.Equal(t, exitUsage, code)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	want := []string{
		"SCIM_BRIDGE_BC_APIURL: unknown variable; did you mean SCIM_BRIDGE_BC_API_URL?",
		"scim.max_result: unknown key; did you mean max_results?",
		"bigcommerce.timeout: want a duration",
		"SCIM_BRIDGE_BC_MAX_BATCH: want a whole number",
		"listen: want HOST:PORT",
		"scim.tokens[0]: a plain token must be at least 16 characters",
		"bigcommerce.account_uuid: must be a UUID",
		"--log-format: must be",
		"log.level: must be",
	}
	require.Len(t, lines, len(want), "one problem per line:\n%s", stdout.String())
	for i, w := range want {
		require.True(t, strings.HasPrefix(lines[i], w), "line %d: %q should start with %q", i, lines[i], w)
	}
	require.Contains(t, stderr.String(), "9 problems")
	require.NotContains(t, stdout.String()+stderr.String(), "bc-secret-token-value")
}

func TestValidateSummarisesWithoutSecrets(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "bc-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("bc-token-from-a-file-0123\n"), 0o600))
	plain := "plain-scim-token-0123456789"
	hashed, err := scim.ParseToken("hashed-scim-token-0123456789")
	require.NoError(t, err)
	path := writeConfig(t, `
database: "postgres://bridge:db-password-0123@db.internal:5432/bridge?sslmode=require"
scim:
  tokens: ["`+plain+`", "`+hashed.String()+`"]
  requests_per_second: 20
  burst: 40
  allow_cidrs: ["203.0.113.0/24"]
  trust_proxy_cidrs: ["10.0.0.0/8"]
bigcommerce:
  account_uuid: "6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f"
  token_file: "`+tokenFile+`"
mapping:
  groups: {"Store Admins": abc123}
`)
	var stdout, stderr bytes.Buffer
	code := validateCommand(t.Context(), []string{"--config", path}, &stdout, &stderr, noEnv)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	out := stdout.String()
	require.True(t, strings.HasPrefix(out, "configuration is valid\n"), out)
	for _, want := range []string{
		"postgres, host db.internal, database bridge",
		"2 (1 as sha256: digests, 1 plain",
		"20 requests/s per token, bursts of 40",
		"203.0.113.0/24; X-Forwarded-For believed from 10.0.0.0/8",
		"https://api.bigcommerce.com/accounts/6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f/graphql (account 6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f), API token from the file " + tokenFile,
		"70/1h",
		"1 explicit entry",
	} {
		require.Contains(t, out, want)
	}
	for _, secret := range []string{plain, "db-password-0123", "bc-token-from-a-file-0123", "bridge:db", hashed.String()} {
		require.NotContains(t, out+stderr.String(), secret)
	}
}

func TestValidateChecksBigCommerce(t *testing.T) {
	_, simURL := apptest.SimServer(t, simulator.Options{
		RateLimit: 100, RateWindow: time.Minute,
		Tokens: map[string][]string{"no-account-scope-token": {simulator.ScopeUsersRead, simulator.ScopeUsersWrite}},
	})
	cases := []struct {
		name, token, uuid, url string
		code                   int
		want                   string
	}{
		{name: "accepted", token: simulator.DefaultToken, uuid: simulator.DefaultAccountUUID, url: simURL, code: exitOK, want: "BigCommerce accepted the token and the account"},
		{name: "wrong token", token: "wrong-token", uuid: simulator.DefaultAccountUUID, url: simURL, code: exitUsage, want: "BigCommerce refused the API token (401)"},
		{name: "unknown account", token: simulator.DefaultToken, uuid: "00000000-0000-4000-8000-0000000009ff", url: simURL, code: exitUsage, want: "BigCommerce answered 404 (not found) for " + simURL + "/accounts/00000000-0000-4000-8000-0000000009ff/graphql: either the account UUID"},
		{name: "the simulator's full URL", token: simulator.DefaultToken, uuid: simulator.DefaultAccountUUID, url: simURL + "/accounts/" + simulator.DefaultAccountUUID + "/graphql", code: exitOK, want: "BigCommerce accepted the token and the account"},
		{name: "missing scope", token: "no-account-scope-token", uuid: simulator.DefaultAccountUUID, url: simURL, code: exitUsage, want: "lacks a scope (403/FORBIDDEN)"},
		{name: "unreachable", token: simulator.DefaultToken, uuid: simulator.DefaultAccountUUID, url: "http://" + freeAddr(t), code: exitError, want: "BigCommerce could not be checked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, `
scim:
  tokens: ["`+e2eToken+`"]
bigcommerce:
  api_url: "`+tc.url+`"
  account_uuid: "`+tc.uuid+`"
  token: "`+tc.token+`"
  timeout: 2s
`)
			var stdout, stderr bytes.Buffer
			code := validateCommand(t.Context(), []string{"--config", path, "--check-bigcommerce"}, &stdout, &stderr, noEnv)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			require.Contains(t, stdout.String()+stderr.String(), tc.want)
			require.NotContains(t, stdout.String()+stderr.String(), tc.token+"\n")
			require.NotContains(t, stdout.String()+stderr.String(), e2eToken)
		})
	}
}

func TestValidateUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitUsage, validateCommand(t.Context(), []string{"extra"}, &stdout, &stderr, noEnv))
	stdout.Reset()
	stderr.Reset()
	require.Equal(t, exitOK, validateCommand(t.Context(), []string{"-h"}, &stdout, &stderr, noEnv))
	require.Contains(t, stdout.String(), "--check-bigcommerce", "help goes to standard output")
	require.Empty(t, stderr.String())
	require.Equal(t, exitUsage, run([]string{"validate", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "read config file")
}

// TestValidateMisspeltVariable: a misspelt SCIM_BRIDGE_* variable is a
// problem, never silently ignored (the bridge would call the real BigCommerce).
func TestValidateMisspeltVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := []string{
		"SCIM_BRIDGE_SCIM_TOKENS=" + e2eToken, "SCIM_BRIDGE_BC_ACCOUNT_UUID=" + simulator.DefaultAccountUUID,
		"SCIM_BRIDGE_BC_TOKEN=" + simulator.DefaultToken, "SCIM_BRIDGE_BC_APIURL=http://127.0.0.1:8090",
		"SCIM_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1/test", "SCIM_BRIDGE_SERVICE_HOST=10.0.0.1",
	}
	require.Equal(t, exitUsage, validateCommand(t.Context(), nil, &stdout, &stderr, env))
	require.Equal(t, "SCIM_BRIDGE_BC_APIURL: unknown variable; did you mean SCIM_BRIDGE_BC_API_URL?\n", stdout.String(),
		"test-suite variables and Kubernetes service links are not problems")
	require.Contains(t, stderr.String(), "1 problem;")
}

// TestValidateWarnings: legal but suspicious values are listed as warnings
// and the configuration is still valid (status 0).
func TestValidateWarnings(t *testing.T) {
	hashed, err := scim.ParseToken(e2eToken)
	require.NoError(t, err)
	path := writeConfig(t, `
scim:
  tokens: ["`+hashed.String()+`"]
  public_url: "http://bridge.example.com/"
bigcommerce:
  account_uuid: "6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f"
  token: "bc-secret-token-value"
`)
	var stdout, stderr bytes.Buffer
	code := validateCommand(t.Context(), []string{"--config", path}, &stdout, &stderr, []string{"SCIM_BRIDGE_BC_RATE_LIMIT=100/1h"})
	require.Equal(t, exitOK, code, stderr.String())
	out := stdout.String()
	require.True(t, strings.HasPrefix(out, "configuration is valid\n"), out)
	require.Contains(t, out, "\n3 warnings:\n")
	require.Contains(t, out, "  - SCIM_BRIDGE_BC_RATE_LIMIT: 100/1h allows about 100 requests in an hour, above BigCommerce's documented 70/1h")
	require.Contains(t, out, "  - scim.public_url: is not https")
	require.Contains(t, out, "  - scim.public_url: does not end in /scim/v2")
	require.NotContains(t, out, "bc-secret-token-value")
}

func TestTokenCommand(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		bytes int
	}{{nil, defaultTokenBytes}, {[]string{"--bytes", "16"}, 16}, {[]string{"-bytes=64"}, 64}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitOK, runToken(t.Context(), tc.args, &stdout, &stderr), "stderr: %s", stderr.String())
		var token, hash string
		for _, line := range strings.Split(stdout.String(), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case hash == "" && strings.HasPrefix(line, "sha256:") && !strings.Contains(line, " "):
				hash = line
			case token == "" && line != "" && !strings.Contains(line, " "):
				token = line
			}
		}
		require.NotEmpty(t, token, stdout.String())
		require.Len(t, token, (tc.bytes*8+5)/6, "base64url without padding of %d bytes", tc.bytes)
		require.Regexp(t, `^[A-Za-z0-9_-]+$`, token)
		require.Equal(t, 1, strings.Count(stdout.String(), token), "the token is printed once")
		parsed, err := scim.ParseToken(token)
		require.NoError(t, err, "the minted token is a valid configured token")
		require.Equal(t, parsed.String(), hash, "the printed sha256: form is the token's digest")
		same, err := scim.ParseToken(hash)
		require.NoError(t, err)
		require.Equal(t, parsed, same)
		require.Contains(t, stdout.String(), "identity provider")
		require.Contains(t, stdout.String(), "rotate")
	}

	var first, second bytes.Buffer
	require.Equal(t, exitOK, runToken(t.Context(), nil, &first, &first))
	require.Equal(t, exitOK, runToken(t.Context(), nil, &second, &second))
	require.NotEqual(t, first.String(), second.String(), "every token is new")

	for _, bad := range [][]string{{"--bytes", "8"}, {"--bytes", "many"}, {"--bytes", "4096"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitUsage, runToken(t.Context(), bad, &stdout, &stderr), "%v", bad)
		require.Empty(t, stdout.String())
	}
}
