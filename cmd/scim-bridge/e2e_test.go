package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
	"github.com/scim-bridge/scim-bridge/config"
)

// childEnv makes the test binary act as "scim-bridge serve" (see TestMain), so
// tests can run the real command in a separate process and SIGKILL it.
const childEnv = "SCIM_BRIDGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "serve" {
		os.Exit(run([]string{"serve", "--config", os.Getenv("SCIM_BRIDGE_TEST_CONFIG")}, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const e2eToken = "e2e-token-0123456789abcdef"

// forProfiles runs fn once against each simulator profile: the full
// reconstruction, and the documented minimum (one mutation per document, pages
// of at most 50, no backward paging, no node on stores, no error codes).
//
// With -short only the full profile runs: one mutation per request makes the
// documented run several times slower, and the client's documented-minimum
// paths are covered in -short by the downstream contract suite, which runs
// against both profiles.
func forProfiles(t *testing.T, fn func(t *testing.T, profile string)) {
	for _, p := range simulator.Profiles() {
		t.Run(p, func(t *testing.T) {
			if testing.Short() && p != simulator.ProfileFull {
				t.Skip("the documented profile's end-to-end run is skipped with -short")
			}
			fn(t, p)
		})
	}
}

// simServer is a simulator behind an httptest server.
func simServer(t *testing.T, opts simulator.Options) (*simulator.Server, string) {
	t.Helper()
	sim, err := simulator.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

// e2eConfig is a bridge configuration for tests: fast lingers, short lease.
func e2eConfig(database, simURL string, rate string, maxBatch int) config.Config {
	cfg := config.Default()
	cfg.Listen, cfg.TelemetryListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Database = config.Secret(database)
	cfg.SCIM.Tokens = []config.Secret{e2eToken}
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

// scimClient talks SCIM to one bridge.
type scimClient struct {
	base string
	http *http.Client
}

func (c scimClient) do(ctx context.Context, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, nil
}

func (c scimClient) must(t *testing.T, method, path, body string, status int) map[string]any {
	t.Helper()
	got, out, err := c.do(t.Context(), method, path, body)
	require.NoError(t, err)
	require.Equal(t, status, got, "%s %s: %v", method, path, out)
	return out
}

func addMembersJSON(ids ...string) string {
	var m []string
	for _, id := range ids {
		m = append(m, fmt.Sprintf(`{"value":%q}`, id))
	}
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"add","path":"members","value":[%s]}]}`, patchOp, strings.Join(m, ","))
}

// startApp runs the bridge in-process and returns its SCIM client.
func startApp(t *testing.T, cfg config.Config) (scimClient, string) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	ctx, cancel := context.WithCancel(t.Context())
	a, err := app.New(ctx, cfg, zaptest.NewLogger(t), app.Options{Version: version})
	require.NoError(t, err)
	scimLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	telLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, scimLn, telLn) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return scimClient{base: "http://" + scimLn.Addr().String() + "/scim/v2", http: &http.Client{Timeout: 10 * time.Second}},
		"http://" + telLn.Addr().String()
}

// TestServeEndToEnd drives every row of the mapping table through the whole
// bridge (SCIM over HTTP in, BigCommerce simulator out) while the simulator
// fails a quarter of the requests and then rate-limits hard.
func TestServeEndToEnd(t *testing.T) { forProfiles(t, testServeEndToEnd) }

func testServeEndToEnd(t *testing.T, profile string) {
	sim, simURL := simServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute, Profile: profile})
	cfg := e2eConfig("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
	c, tel := startApp(t, cfg)
	converge := func(want map[string][]string, absent ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			bc := bcState(sim)
			for email, stores := range want {
				got, ok := bc[email]
				if !ok || !sameSet(got, stores) {
					return false
				}
			}
			for _, email := range absent {
				if _, ok := bc[email]; ok {
					return false
				}
			}
			return true
		}, 30*time.Second, 50*time.Millisecond, "BigCommerce should become %v without %v; has %v", want, absent, bcState(sim))
	}

	sim.SetFailRate(0.25, 503)
	ann := c.must(t, http.MethodPost, "/Users", userJSON("ann@corp.example", true), 201)["id"].(string)
	bea := c.must(t, http.MethodPost, "/Users", userJSON("bea@corp.example", false), 201)["id"].(string)
	plant := c.must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`, 201)["id"].(string)
	c.must(t, http.MethodPatch, "/Groups/"+plant, addMembersJSON(ann, bea), 204)
	converge(map[string][]string{"ann@corp.example": {"abc123"}}, "bea@corp.example")

	// Activation brings the store access of the groups.
	c.must(t, http.MethodPatch, "/Users/"+bea, activeJSON(true), 200)
	converge(map[string][]string{"bea@corp.example": {"abc123"}})

	// A 429 storm: for three seconds another client drains the account's quota
	// (2 requests per second) behind the bridge's back; the bridge pauses on
	// each 429 and delivers once the storm is over.
	sim.SetFailRate(0, 503)
	sim.SetRateLimit(2, time.Second)
	stopHog := hog(t, simURL)
	// Email change: old identity removed, new one added with its store.
	c.must(t, http.MethodPatch, "/Users/"+ann, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","path":"userName","value":"ann.new@corp.example"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"ann.new@corp.example"}]}`, patchOp), 200)
	// Group renamed to an unmapped name: store access revoked.
	c.must(t, http.MethodPatch, "/Groups/"+plant, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"displayName":"Plant Crew"}}]}`, patchOp), 204)
	time.Sleep(3 * time.Second)
	stopHog()
	require.Positive(t, sim.Stats().RateLimited, "the storm happened")
	converge(map[string][]string{"ann.new@corp.example": {}, "bea@corp.example": {}}, "ann@corp.example")
	sim.SetRateLimit(1000, time.Minute)

	// Mapped group deleted; deactivation; DELETE.
	garden := c.must(t, http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools","members":[{"value":%q}]}`, ann), 201)["id"].(string)
	converge(map[string][]string{"ann.new@corp.example": {"def456"}})
	c.must(t, http.MethodDelete, "/Groups/"+garden, "", 204)
	converge(map[string][]string{"ann.new@corp.example": {}})
	c.must(t, http.MethodPatch, "/Users/"+bea, activeJSON(false), 200)
	c.must(t, http.MethodDelete, "/Users/"+ann, "", 204)
	converge(nil, "ann.new@corp.example", "bea@corp.example")

	// The deactivated user is still readable, synced.
	require.Eventually(t, func() bool {
		u := c.must(t, http.MethodGet, "/Users/"+bea, "", 200)
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

// child is a "scim-bridge serve" process.
type child struct {
	cmd       *exec.Cmd
	base      string
	telemetry string
	stderr    *bytes.Buffer
}

// isLeader asks the child's /status whether it holds the delivery lease.
func (c *child) isLeader() bool {
	res, err := http.Get(c.telemetry + "/status")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var st struct {
		Leader struct {
			IsLeader bool `json:"isLeader"`
		} `json:"leader"`
	}
	return json.NewDecoder(res.Body).Decode(&st) == nil && st.Leader.IsLeader
}

// startChild starts serve with cfg in a new process and waits until it answers.
func startChild(t *testing.T, cfg config.Config) *child {
	t.Helper()
	cfg.Listen = freeAddr(t)
	cfg.TelemetryListen = freeAddr(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yamlConfig(cfg)), 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=serve", "SCIM_BRIDGE_TEST_CONFIG="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr}
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, base: "http://" + cfg.Listen + "/scim/v2", telemetry: "http://" + cfg.TelemetryListen, stderr: &stderr}
	t.Cleanup(func() { c.kill() })
	cl := scimClient{base: c.base, http: &http.Client{Timeout: 2 * time.Second}}
	require.Eventually(t, func() bool {
		s, _, err := cl.do(t.Context(), http.MethodGet, "/ServiceProviderConfig", "")
		return err == nil && s == 200
	}, 20*time.Second, 50*time.Millisecond, "serve did not start: %s", &stderr)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// yamlConfig renders the settings a child needs as the YAML file format.
func yamlConfig(c config.Config) string {
	return fmt.Sprintf(`listen: %q
telemetry_listen: %q
database: %q
scim:
  tokens: [%q]
bigcommerce:
  api_url: %q
  account_uuid: %q
  token: %q
  rate_limit: %q
  max_batch: %d
  timeout: 5s
delivery:
  removal_linger: 200ms
  addition_linger: 500ms
  retry_backoff: 200ms
  lease_ttl: 3s
reconcile:
  interval: 0s
log:
  level: warn
`, c.Listen, c.TelemetryListen, c.Database.Value(), e2eToken, c.BigCommerce.APIURL, c.BigCommerce.AccountUUID,
		c.BigCommerce.Token.Value(), c.BigCommerce.RateLimit, c.BigCommerce.MaxBatch)
}

// TestCrashSafetySIGKILL kills serve with SIGKILL at random moments, while SCIM
// writes and deliveries are in flight, and restarts it on the same store: every
// change answered with success reaches BigCommerce, and nothing is applied
// twice in a way that changes the outcome.
func TestCrashSafetySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; skipped with -short")
	}
	forProfiles(t, testCrashSafetySIGKILL)
}

func testCrashSafetySIGKILL(t *testing.T, profile string) {
	sim, simURL := simServer(t, simulator.Options{RateLimit: 10000, RateWindow: time.Minute, Profile: profile})
	sim.SetLatency(20 * time.Millisecond) // keep deliveries in flight when the kill lands
	cfg := e2eConfig("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "10000/1m", 7)
	rng := rand.New(rand.NewPCG(1, 2))

	// want is what the IdP was told: email -> active (only acknowledged writes).
	want := map[string]bool{}
	ids := map[string]string{}
	var order []string
	var groupID string
	for round := range 4 {
		ch := startChild(t, cfg)
		cl := scimClient{base: ch.base, http: &http.Client{Timeout: 5 * time.Second}}
		if groupID == "" {
			_, out, err := cl.do(t.Context(), http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`)
			require.NoError(t, err)
			groupID = out["id"].(string)
		}
		killAt := time.Now().Add(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		// At most perRound users a round: the kill lands at a random moment,
		// but a faster bridge must not make the final convergence (one
		// mutation per request in the documented profile) outgrow its limit.
		const perRound = 150
		for i := 0; i < perRound && time.Now().Before(killAt); i++ {
			email := fmt.Sprintf("r%d-u%d@corp.example", round, i)
			status, out, err := cl.do(t.Context(), http.MethodPost, "/Users", userJSON(email, true))
			if err != nil || status != 201 {
				break
			}
			want[email], ids[email] = true, out["id"].(string)
			order = append(order, email)
			if s, _, err := cl.do(t.Context(), http.MethodPatch, "/Groups/"+groupID, addMembersJSON(ids[email])); err != nil || s != 204 {
				break
			}
			if len(order) > 3 && rng.IntN(3) == 0 { // deactivate an earlier user
				victim := order[rng.IntN(len(order)-1)]
				if s, _, err := cl.do(t.Context(), http.MethodPatch, "/Users/"+ids[victim], activeJSON(false)); err == nil && s == 200 {
					want[victim] = false
				}
			}
		}
		ch.kill()
	}
	// A final run converges.
	startChild(t, cfg)
	require.Eventually(t, func() bool {
		bc := bcState(sim)
		for email, active := range want {
			stores, in := bc[email]
			if in != active || (active && !sameSet(stores, []string{"abc123"})) {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "BigCommerce did not converge to the acknowledged changes")

	// Applied events per email alternate add/remove: a duplicate add would have
	// been "already exists", never a second applied add without a removal between.
	balance := map[string]int{}
	for _, ev := range sim.Log() {
		if ev.Code != "" {
			continue
		}
		switch ev.Field {
		case "addUserToAccount":
			balance[ev.Email]++
			require.LessOrEqual(t, balance[ev.Email], 1, "%s added twice", ev.Email)
		case "removeUserFromAccount":
			balance[ev.Email]--
			require.GreaterOrEqual(t, balance[ev.Email], 0)
		}
	}
	t.Logf("%d users, %d deactivated, %d simulator requests, %d mutations logged", len(want), countFalse(want), sim.Stats().Requests, len(sim.Log()))
}

func countFalse(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if !v {
			n++
		}
	}
	return n
}

// TestTwoReplicasShareOneBudget runs two serve processes on one PostgreSQL and
// one simulator whose limit equals the configured budget: SCIM traffic goes to
// both, only the leader delivers; halfway the leader is SIGKILLed and the other
// replica takes over with the persisted budget. The simulator never answers
// 429, and every change is applied exactly once.
func TestTwoReplicasShareOneBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	forProfiles(t, testTwoReplicasShareOneBudget)
}

func testTwoReplicasShareOneBudget(t *testing.T, profile string) {
	dsn := storetest.PostgresDSN(t)
	// One mutation per request on the documented API: a budget that still
	// delivers 80 operations in well under the test's patience.
	rate, window := 12, 20*time.Second
	if profile == simulator.ProfileDocumented {
		rate = 60
	}
	sim, simURL := simServer(t, simulator.Options{RateLimit: rate, RateWindow: window, Profile: profile})
	cfg := e2eConfig(dsn, simURL, fmt.Sprintf("%d/20s", rate), 20)
	replicas := []*child{startChild(t, cfg), startChild(t, cfg)}
	client := func(c *child) scimClient {
		return scimClient{base: c.base, http: &http.Client{Timeout: 10 * time.Second}}
	}
	g := client(replicas[0]).must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools"}`, 201)["id"].(string)
	var emails []string
	send := func(from, to int, targets []*child) {
		for i := from; i < to; i++ {
			cl := client(targets[i%len(targets)])
			email := fmt.Sprintf("replica%d@corp.example", i)
			id := cl.must(t, http.MethodPost, "/Users", userJSON(email, true), 201)["id"].(string)
			cl.must(t, http.MethodPatch, "/Groups/"+g, addMembersJSON(id), 204)
			emails = append(emails, email)
		}
	}
	send(0, 20, replicas)
	var leader, survivor *child
	require.Eventually(t, func() bool {
		for i, r := range replicas {
			if r.isLeader() {
				leader, survivor = r, replicas[1-i]
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return len(sim.Log()) > 0 }, 30*time.Second, 50*time.Millisecond, "the leader delivers")
	leader.kill()
	send(20, 40, []*child{survivor})
	require.Eventually(t, func() bool {
		bc := bcState(sim)
		for _, e := range emails {
			if !sameSet(bc[e], []string{"def456"}) {
				return false
			}
		}
		return true
	}, 120*time.Second, 200*time.Millisecond, "not delivered; survivor log:\n%s", survivor.stderr)
	require.True(t, survivor.isLeader(), "the survivor took the lease over")
	st := sim.Stats()
	require.Zero(t, st.RateLimited, "the replicas shared one budget and never overspent it")
	applied := map[string]int{}
	for _, ev := range sim.Log() {
		if ev.Code == "" && (ev.Field == "addUserToAccount" || ev.Field == "addUserToStore") {
			applied[ev.Field+" "+ev.Email]++
		}
	}
	for _, e := range emails {
		require.Equal(t, 1, applied["addUserToAccount "+e], "%s added to the account once", e)
		require.Equal(t, 1, applied["addUserToStore "+e], "%s added to the store once", e)
	}
	t.Logf("40 users over 2 replicas, leader killed halfway: %d counted requests, %d mutations", st.Counted, len(sim.Log()))
}

// TestSecondServeOnOneSQLiteFileRefuses: SQLite mode runs one process; a
// second serve on the same file must not start (it would answer SCIM and
// spend BigCommerce requests of its own).
func TestSecondServeOnOneSQLiteFileRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	sim, simURL := simServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})
	cfg := e2eConfig("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
	first := startChild(t, cfg)
	require.Eventually(t, first.isLeader, 10*time.Second, 50*time.Millisecond)
	// The first process's own start-up reads (credentials, capabilities, the
	// store catalog) go on after it leads: wait until it has gone quiet.
	before, quietSince := sim.Stats().Counted, time.Now()
	require.Eventually(t, func() bool {
		if n := sim.Stats().Counted; n != before {
			before, quietSince = n, time.Now()
		}
		return time.Since(quietSince) > 2*time.Second
	}, 30*time.Second, 100*time.Millisecond, "the first bridge should stop sending once started")

	cfg.Listen, cfg.TelemetryListen = freeAddr(t), freeAddr(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yamlConfig(cfg)), 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=serve", "SCIM_BRIDGE_TEST_CONFIG="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the second serve kept running: %s", out)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the second serve must fail: %s", out)
	require.Contains(t, string(out), "already in use by another scim-bridge process")
	require.Contains(t, string(out), "PostgreSQL")
	require.Equal(t, before, sim.Stats().Counted, "the second process sent nothing to BigCommerce")

	// Operator commands still work next to the running bridge.
	t.Setenv("SCIM_BRIDGE_DATABASE", cfg.Database.Value())
	t.Setenv("SCIM_BRIDGE_SCIM_TOKENS", e2eToken)
	t.Setenv("SCIM_BRIDGE_BC_API_URL", simURL)
	t.Setenv("SCIM_BRIDGE_BC_ACCOUNT_UUID", simulator.DefaultAccountUUID)
	t.Setenv("SCIM_BRIDGE_BC_TOKEN", simulator.DefaultToken)
	code, _, errOut := runCLI("dead-letters")
	require.Equal(t, exitOK, code, errOut)
}

// TestDefaultConfigurationDeliversALoneJoinerAtOnce: with the default
// configuration (70 requests per hour, a 2-minute addition linger), one user
// created by SCIM on an idle budget is in BigCommerce within seconds, on both
// simulator profiles.
func TestDefaultConfigurationDeliversALoneJoinerAtOnce(t *testing.T) {
	forProfiles(t, func(t *testing.T, profile string) {
		sim, simURL := simServer(t, simulator.Options{Profile: profile})
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
		c.must(t, http.MethodPost, "/Users", userJSON("first@corp.example", true), 201)
		require.Eventually(t, func() bool { _, in := bcState(sim)["first@corp.example"]; return in },
			10*time.Second, 20*time.Millisecond, "the joiner did not reach BigCommerce within 10 s")
		t.Logf("%s: in BigCommerce %s after the SCIM create", profile, time.Since(start).Round(time.Millisecond))
	})
}
