package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/config"
)

// version is the build version the bridges of these tests report.
const version = "e2e-test"

// e2eToken is the SCIM token of apptest.Config.
const e2eToken = apptest.Token

// startApp runs the bridge in-process and returns its SCIM client and
// telemetry URL.
func startApp(t *testing.T, cfg config.Config) (apptest.Client, string) {
	t.Helper()
	b := apptest.Start(t, cfg, apptest.Options{App: app.Options{Version: version}})
	return b.Client, b.TelemetryURL
}

// TestServeEndToEnd drives every row of the mapping table through the whole
// bridge (SCIM over HTTP in, BigCommerce simulator out) while the simulator
// fails a quarter of the requests and then rate-limits hard.
func TestServeEndToEnd(t *testing.T) { apptest.ForProfiles(t, testServeEndToEnd) }

func testServeEndToEnd(t *testing.T, profile string) {
	sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute, Profile: profile})
	cfg := apptest.Config("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
	c, tel := startApp(t, cfg)
	converge := func(want map[string][]string, absent ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			bc := apptest.BCState(sim)
			for email, stores := range want {
				got, ok := bc[email]
				if !ok || !apptest.SameSet(got, stores) {
					return false
				}
			}
			for _, email := range absent {
				if _, ok := bc[email]; ok {
					return false
				}
			}
			return true
		}, 30*time.Second, 50*time.Millisecond, "BigCommerce should become %v without %v; has %v", want, absent, apptest.BCState(sim))
	}

	sim.SetFailRate(0.25, 503)
	ann := c.Must(t, http.MethodPost, "/Users", apptest.UserJSON("ann@corp.example", true), 201)["id"].(string)
	bea := c.Must(t, http.MethodPost, "/Users", apptest.UserJSON("bea@corp.example", false), 201)["id"].(string)
	plant := c.Must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`, 201)["id"].(string)
	c.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.AddMembersJSON(ann, bea), 204)
	converge(map[string][]string{"ann@corp.example": {"abc123"}}, "bea@corp.example")

	// Activation brings the store access of the groups.
	c.Must(t, http.MethodPatch, "/Users/"+bea, apptest.ActiveJSON(true), 200)
	converge(map[string][]string{"bea@corp.example": {"abc123"}})

	// A 429 storm: for three seconds another client drains the account's quota
	// (2 requests per second) behind the bridge's back; the bridge pauses on
	// each 429 and delivers once the storm is over.
	sim.SetFailRate(0, 503)
	sim.SetRateLimit(2, time.Second)
	stopHog := hog(t, simURL)
	// Email change: old identity removed, new one added with its store.
	c.Must(t, http.MethodPatch, "/Users/"+ann, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","path":"userName","value":"ann.new@corp.example"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann.new@corp.example"}]}`, apptest.PatchOp), 200)
	// Group renamed to an unmapped name: store access revoked.
	c.Must(t, http.MethodPatch, "/Groups/"+plant, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"displayName":"Plant Crew"}}]}`, apptest.PatchOp), 204)
	time.Sleep(3 * time.Second)
	stopHog()
	require.Positive(t, sim.Stats().RateLimited, "the storm happened")
	converge(map[string][]string{"ann.new@corp.example": {}, "bea@corp.example": {}}, "ann@corp.example")
	sim.SetRateLimit(1000, time.Minute)

	// Mapped group deleted; deactivation; DELETE.
	garden := c.Must(t, http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools","members":[{"value":%q}]}`, ann), 201)["id"].(string)
	converge(map[string][]string{"ann.new@corp.example": {"def456"}})
	c.Must(t, http.MethodDelete, "/Groups/"+garden, "", 204)
	converge(map[string][]string{"ann.new@corp.example": {}})
	c.Must(t, http.MethodPatch, "/Users/"+bea, apptest.ActiveJSON(false), 200)
	c.Must(t, http.MethodDelete, "/Users/"+ann, "", 204)
	converge(nil, "ann.new@corp.example", "bea@corp.example")

	// The deactivated user is still readable, synced.
	require.Eventually(t, func() bool {
		u := c.Must(t, http.MethodGet, "/Users/"+bea, "", 200)
		sync := u["urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User"].(map[string]any)
		return u["active"] == false && sync["syncState"] == "synced"
	}, 10*time.Second, 50*time.Millisecond)

	// /status and /metrics report the deliveries.
	res, err := http.Get(tel + "/status")
	require.NoError(t, err)
	var status map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&status))
	res.Body.Close()
	require.Equal(t, true, status["leader"].(map[string]any)["isLeader"])
	require.Equal(t, float64(0), status["deadLetters"])
	res, err = http.Get(tel + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"scim_bridge_scim_requests_total", "scim_bridge_outbox_pending_operations", "scim_bridge_budget_available_requests", "scim_bridge_leader 1"} {
		require.Contains(t, string(metrics), m)
	}
}

// hog spends the simulated account's quota from another client until stopped.
func hog(t *testing.T, simURL string) func() { return hogWith(t, simURL, simulator.DefaultToken) }

// hogWith spends the simulated account's quota with token until stopped.
func hogWith(t *testing.T, simURL, token string) func() {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	client := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, simURL+"/accounts/"+simulator.DefaultAccountUUID+"/graphql",
				strings.NewReader(`{"query":"{ account { id } }"}`))
			req.Header.Set("X-Auth-Token", token)
			if res, err := client.Do(req); err == nil {
				res.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

// TestDefaultConfigurationDeliversALoneJoinerAtOnce: with the default
// configuration (70 requests per hour, a 2-minute addition linger), one user
// created by SCIM on an idle budget is in BigCommerce within seconds, on both
// simulator profiles.
func TestDefaultConfigurationDeliversALoneJoinerAtOnce(t *testing.T) {
	apptest.ForProfiles(t, func(t *testing.T, profile string) {
		sim, simURL := apptest.SimServer(t, simulator.Options{Profile: profile})
		cfg := config.Default()
		cfg.Listen, cfg.TelemetryListen = "127.0.0.1:0", "127.0.0.1:0"
		cfg.Database = config.Secret("sqlite:" + filepath.Join(t.TempDir(), "bridge.db"))
		cfg.SCIM.Tokens = []config.Secret{e2eToken}
		cfg.BigCommerce.APIURL = simURL
		cfg.BigCommerce.AccountUUID = simulator.DefaultAccountUUID
		cfg.BigCommerce.Token = simulator.DefaultToken
		cfg.Log.Level = "warn"
		c, _ := startApp(t, cfg)
		start := time.Now()
		c.Must(t, http.MethodPost, "/Users", apptest.UserJSON("first@corp.example", true), 201)
		require.Eventually(t, func() bool { _, in := apptest.BCState(sim)["first@corp.example"]; return in },
			10*time.Second, 20*time.Millisecond, "the joiner did not reach BigCommerce within 10 s")
		t.Logf("%s: in BigCommerce %s after the SCIM create", profile, time.Since(start).Round(time.Millisecond))
	})
}
