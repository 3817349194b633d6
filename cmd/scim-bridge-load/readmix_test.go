package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/config"
)

// TestReadmixAgainstAnEmbeddedBridge runs readmix briefly against a whole
// bridge (built by bridge/app, SQLite, the simulator downstream): the seeded
// users are created, every kind of request is answered, and none fails.
func TestReadmixAgainstAnEmbeddedBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a bridge and load for seconds; skipped with -short")
	}
	_, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})

	const token = "readmix-test-token-0123456789"
	cfg := config.Default()
	cfg.Database = config.Secret("sqlite:" + filepath.Join(t.TempDir(), "bridge.db"))
	cfg.SCIM.Tokens = []config.Secret{token}
	cfg.BigCommerce.APIURL = simURL
	cfg.BigCommerce.AccountUUID = simulator.DefaultAccountUUID
	cfg.BigCommerce.Token = simulator.DefaultToken
	cfg.BigCommerce.RateLimit = "1000/1m"
	cfg.Reconcile.Interval = 0
	require.NoError(t, cfg.Validate())
	b := apptest.Start(t, cfg, apptest.Options{App: app.Options{Version: "test"}, Logger: zap.NewNop()})

	var stdout, stderr bytes.Buffer
	code := runReadmix(t.Context(), []string{"--url", b.SCIMURL, "--token", token,
		"--seed-users", "40", "--seed-clients", "4", "--clients", "2", "--duration", "1s", "--sample", "40"}, &stdout, &stderr)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	require.Contains(t, stdout.String(), "seed: 40 users created, 0 failed")
	// One row per client count: clients, rps, requests, 5xx, errors, ...
	row := regexp.MustCompile(`(?m)^\s*2\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s`).FindStringSubmatch(stdout.String())
	require.NotNil(t, row, "no result row for 2 clients:\n%s", &stdout)
	requests, _ := strconv.Atoi(row[2])
	require.Positive(t, requests, "requests answered")
	require.Equal(t, "0", row[3], "5xx")
	require.Equal(t, "0", row[4], "errors")
}
