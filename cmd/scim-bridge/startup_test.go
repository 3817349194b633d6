package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// TestServeStartupCredentialCheck runs "scim-bridge serve" against the
// simulator with a wrong token, an unknown account and a token without the
// account scope: each must stop at start with its own message and exit status
// 1, and never print the token.
func TestServeStartupCredentialCheck(t *testing.T) {
	const limited = "limited-token-without-account-read"
	_, simURL := simServer(t, simulator.Options{
		RateLimit: 100, RateWindow: time.Minute,
		Tokens: map[string][]string{limited: {simulator.ScopeUsersRead, simulator.ScopeUsersWrite, simulator.ScopeUsersDelete, simulator.ScopeStoresRead}},
	})
	cases := []struct {
		name, token, uuid, want string
	}{
		{"wrong token", "wrong-bigcommerce-token", simulator.DefaultAccountUUID,
			"BigCommerce refused the API token (401): check SCIM_BRIDGE_BC_TOKEN / bigcommerce.token"},
		{"unknown account", simulator.DefaultToken, "00000000-0000-4000-8000-0000000009ff",
			"BigCommerce does not know the account (404): check SCIM_BRIDGE_BC_ACCOUNT_UUID / bigcommerce.account_uuid"},
		{"missing scope", limited, simulator.DefaultAccountUUID,
			"the BigCommerce token lacks a scope (403/FORBIDDEN): grant Account (read-only)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, `
listen: "127.0.0.1:0"
telemetry_listen: "127.0.0.1:0"
database: "sqlite:`+filepath.Join(t.TempDir(), "bridge.db")+`"
scim:
  tokens: ["`+e2eToken+`"]
bigcommerce:
  api_url: "`+simURL+`"
  account_uuid: "`+tc.uuid+`"
  token: "`+tc.token+`"
  timeout: 5s
reconcile:
  interval: 0s
log:
  level: info
`)
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
			require.Contains(t, stderr.String(), "scim-bridge serve: "+tc.want)
			require.NotContains(t, stdout.String()+stderr.String(), tc.token, "the BigCommerce token is never printed")
			require.NotContains(t, stdout.String()+stderr.String(), e2eToken)
		})
	}
}
