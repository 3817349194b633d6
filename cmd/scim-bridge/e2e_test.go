package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
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

// e2eToken is the SCIM token of apptest.Config.
const e2eToken = apptest.Token

// child is a "scim-bridge serve" process.
type child struct {
	cmd       *exec.Cmd
	base      string
	telemetry string
	stderr    *apptest.Buffer
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
	var stderr apptest.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, base: "http://" + cfg.Listen + "/scim/v2", telemetry: "http://" + cfg.TelemetryListen, stderr: &stderr}
	t.Cleanup(func() { c.kill() })
	cl := apptest.NewClient(c.base, e2eToken).WithTimeout(2 * time.Second)
	require.Eventually(t, func() bool {
		s, _, err := cl.Do(t.Context(), http.MethodGet, "/ServiceProviderConfig", "")
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
	apptest.ForProfiles(t, testCrashSafetySIGKILL)
}

func testCrashSafetySIGKILL(t *testing.T, profile string) {
	sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 10000, RateWindow: time.Minute, Profile: profile})
	sim.SetLatency(20 * time.Millisecond) // keep deliveries in flight when the kill lands
	cfg := apptest.Config("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "10000/1m", 7)
	rng := rand.New(rand.NewPCG(1, 2))

	// want is what the IdP was told: email -> active (only acknowledged writes).
	want := map[string]bool{}
	ids := map[string]string{}
	var order []string
	var groupID string
	for round := range 4 {
		ch := startChild(t, cfg)
		cl := apptest.NewClient(ch.base, e2eToken).WithTimeout(5 * time.Second)
		if groupID == "" {
			_, out, err := cl.Do(t.Context(), http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`)
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
			status, out, err := cl.Do(t.Context(), http.MethodPost, "/Users", apptest.UserJSON(email, true))
			if err != nil || status != 201 {
				break
			}
			want[email], ids[email] = true, out["id"].(string)
			order = append(order, email)
			if s, _, err := cl.Do(t.Context(), http.MethodPatch, "/Groups/"+groupID, apptest.AddMembersJSON(ids[email])); err != nil || s != 204 {
				break
			}
			if len(order) > 3 && rng.IntN(3) == 0 { // deactivate an earlier user
				victim := order[rng.IntN(len(order)-1)]
				if s, _, err := cl.Do(t.Context(), http.MethodPatch, "/Users/"+ids[victim], apptest.ActiveJSON(false)); err == nil && s == 200 {
					want[victim] = false
				}
			}
		}
		ch.kill()
	}
	// A final run converges.
	startChild(t, cfg)
	require.Eventually(t, func() bool {
		bc := apptest.BCState(sim)
		for email, active := range want {
			stores, in := bc[email]
			if in != active || (active && !apptest.SameSet(stores, []string{"abc123"})) {
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
	apptest.ForProfiles(t, testTwoReplicasShareOneBudget)
}

func testTwoReplicasShareOneBudget(t *testing.T, profile string) {
	dsn := storetest.PostgresDSN(t)
	// One mutation per request on the documented API: a budget that still
	// delivers 80 operations in well under the test's patience.
	rate, window := 12, 20*time.Second
	if profile == simulator.ProfileDocumented {
		rate = 60
	}
	sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: rate, RateWindow: window, Profile: profile})
	cfg := apptest.Config(dsn, simURL, fmt.Sprintf("%d/20s", rate), 20)
	replicas := []*child{startChild(t, cfg), startChild(t, cfg)}
	client := func(c *child) apptest.Client {
		return apptest.NewClient(c.base, e2eToken)
	}
	g := client(replicas[0]).Must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools"}`, 201)["id"].(string)
	var emails []string
	send := func(from, to int, targets []*child) {
		for i := from; i < to; i++ {
			cl := client(targets[i%len(targets)])
			email := fmt.Sprintf("replica%d@corp.example", i)
			id := cl.Must(t, http.MethodPost, "/Users", apptest.UserJSON(email, true), 201)["id"].(string)
			cl.Must(t, http.MethodPatch, "/Groups/"+g, apptest.AddMembersJSON(id), 204)
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
		bc := apptest.BCState(sim)
		for _, e := range emails {
			if !apptest.SameSet(bc[e], []string{"def456"}) {
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
	sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})
	cfg := apptest.Config("sqlite:"+filepath.Join(t.TempDir(), "bridge.db"), simURL, "1000/1m", 50)
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
