package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// TestServeStartupCredentialCheck runs "scim-bridge serve" against the
// simulator with a wrong token, an unknown account and a token without the
// account scope: each must stop at start with its own message and exit status
// 1, and never print the token.
func TestServeStartupCredentialCheck(t *testing.T) {
	const limited = "limited-token-without-account-read"
	_, simURL := apptest.SimServer(t, simulator.Options{
		RateLimit: 100, RateWindow: time.Minute,
		Tokens: map[string][]string{limited: {simulator.ScopeUsersRead, simulator.ScopeUsersWrite, simulator.ScopeUsersDelete, simulator.ScopeStoresRead}},
	})
	tokenFile := filepath.Join(t.TempDir(), "bc-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("wrong-token-in-a-file\n"), 0o600))
	cases := []struct {
		name, token, uuid string
		env               []string
		want              []string
	}{
		{name: "wrong token", token: "wrong-bigcommerce-token", uuid: simulator.DefaultAccountUUID,
			want: []string{"BigCommerce refused the API token (401): check the token in bigcommerce.token in ", "; it must be an account-level API token"}},
		{name: "wrong token from a file named by a variable", uuid: simulator.DefaultAccountUUID, env: []string{"SCIM_BRIDGE_BC_TOKEN_FILE", tokenFile},
			want: []string{"BigCommerce refused the API token (401): check the token in the file " + tokenFile + " (named by SCIM_BRIDGE_BC_TOKEN_FILE)"}},
		{name: "unknown account", token: simulator.DefaultToken, uuid: "00000000-0000-4000-8000-0000000009ff", env: []string{"SCIM_BRIDGE_BC_API_URL", simURL},
			want: []string{"BigCommerce answered 404 (not found) for " + simURL + "/accounts/00000000-0000-4000-8000-0000000009ff/graphql: " +
				"either the account UUID 00000000-0000-4000-8000-0000000009ff is wrong (check bigcommerce.account_uuid in ",
				"or the API URL " + simURL + " is not the API base (check SCIM_BRIDGE_BC_API_URL: https://api.bigcommerce.com for BigCommerce, or the simulator's http://HOST:PORT)"}},
		{name: "missing scope", token: limited, uuid: simulator.DefaultAccountUUID,
			want: []string{"the BigCommerce token lacks a scope (403/FORBIDDEN): grant Account (read-only)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := ""
			if tc.token != "" {
				token = "\n  token: \"" + tc.token + "\""
			}
			path := writeConfig(t, `
listen: "127.0.0.1:0"
telemetry_listen: "127.0.0.1:0"
database: "sqlite:`+filepath.Join(t.TempDir(), "bridge.db")+`"
scim:
  tokens: ["`+e2eToken+`"]
bigcommerce:
  api_url: "`+simURL+`"
  account_uuid: "`+tc.uuid+`"`+token+`
  timeout: 5s
reconcile:
  interval: 0s
log:
  level: info
`)
			if len(tc.env) == 2 {
				t.Setenv(tc.env[0], tc.env[1])
			}
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run([]string{"serve", "--config", path}, &stdout, &stderr) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop on a failed credential check")
			}
			require.Equal(t, exitError, code, "stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), "scim-bridge serve: "+tc.want[0])
			for _, w := range tc.want[1:] {
				require.Contains(t, stderr.String(), w)
			}
			for _, secret := range []string{"wrong-bigcommerce-token", "wrong-token-in-a-file", limited, e2eToken} {
				require.NotContains(t, stdout.String()+stderr.String(), secret, "a token is never printed")
			}
		})
	}
}

// TestServeStartsWithItsSources: the first log lines name the configuration
// file, the store (without its password) and the BigCommerce endpoint, and
// log each configuration warning.
func TestServeStartsWithItsSources(t *testing.T) {
	_, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 100, RateWindow: time.Minute})
	db := filepath.Join(t.TempDir(), "bridge.db")
	path := writeConfig(t, `
listen: "127.0.0.1:0"
telemetry_listen: "127.0.0.1:0"
database: "sqlite:`+db+`"
scim:
  tokens: ["`+e2eToken+`"]
bigcommerce:
  api_url: "`+simURL+`/accounts/`+simulator.DefaultAccountUUID+`/graphql"
  token: "`+simulator.DefaultToken+`"
  rate_limit: 100/1m
reconcile:
  interval: 0s
`)
	ctx, cancel := context.WithCancel(t.Context())
	var stderr apptest.Buffer
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, []string{"--config", path}, io.Discard, &stderr) }()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "scim-bridge serving") }, 20*time.Second, 20*time.Millisecond, stderr.String())
	cancel()
	require.Equal(t, exitOK, <-done, stderr.String())
	lines := strings.Split(stderr.String(), "\n")
	var starting map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &starting), lines[0])
	require.Equal(t, "scim-bridge starting", starting["msg"])
	require.Equal(t, path, starting["config_file"])
	require.Equal(t, "sqlite, file "+db+" (one replica)", starting["store"])
	require.Equal(t, simURL+"/accounts/"+simulator.DefaultAccountUUID+"/graphql", starting["bigcommerce_api"], "the full URL was split and joined again")
	require.Contains(t, stderr.String(), `"msg":"configuration warning: bigcommerce.rate_limit: 100/1m allows about 6000 requests in an hour`)
	require.Contains(t, stderr.String(), `"store":"sqlite, file `+db)
}
