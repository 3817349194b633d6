package apptest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/config"
)

// Token is the SCIM bearer token of [Config].
const Token = "e2e-token-0123456789abcdef"

// SimServer is a simulator behind an httptest server, closed when the test
// ends; it returns the simulator and the server's URL.
func SimServer(tb testing.TB, opts simulator.Options) (*simulator.Server, string) {
	tb.Helper()
	sim, err := simulator.New(opts)
	require.NoError(tb, err)
	ts := httptest.NewServer(sim)
	tb.Cleanup(ts.Close)
	return sim, ts.URL
}

// Config is a bridge configuration for end-to-end tests against the
// simulator at simURL: the SCIM token [Token], the simulator's account and
// token, the given request budget and batch size, fast lingers and retries, a
// short lease, no scheduled reconciliation and warn-level logs.
func Config(database, simURL, rate string, maxBatch int) config.Config {
	cfg := config.Default()
	cfg.Listen, cfg.TelemetryListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Database = config.Secret(database)
	cfg.SCIM.Tokens = []config.Secret{Token}
	cfg.BigCommerce.APIURL = simURL
	cfg.BigCommerce.AccountUUID = simulator.DefaultAccountUUID
	cfg.BigCommerce.Token = simulator.DefaultToken
	cfg.BigCommerce.RateLimit = rate
	cfg.BigCommerce.MaxBatch = maxBatch
	cfg.BigCommerce.Timeout = 5 * time.Second
	cfg.Delivery.RemovalLinger = 200 * time.Millisecond
	cfg.Delivery.AdditionLinger = 500 * time.Millisecond
	cfg.Delivery.LeaseTTL = 3 * time.Second
	cfg.Delivery.RetryBackoff = 200 * time.Millisecond
	cfg.Reconcile.Interval = 0
	cfg.Log.Level = "warn"
	return cfg
}

// ForProfiles runs fn once against each simulator profile: the full
// reconstruction, and the documented minimum (one mutation per document, pages
// of at most 50, no backward paging, no node on stores, no error codes).
//
// With -short only the full profile runs: one mutation per request makes the
// documented run several times slower, and the client's documented-minimum
// paths are covered in -short by the downstream contract suite, which runs
// against both profiles.
func ForProfiles(t *testing.T, fn func(t *testing.T, profile string)) {
	for _, p := range simulator.Profiles() {
		t.Run(p, func(t *testing.T) {
			if testing.Short() && p != simulator.ProfileFull {
				t.Skip("the documented profile's end-to-end run is skipped with -short")
			}
			fn(t, p)
		})
	}
}
