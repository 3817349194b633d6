package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// flowClock is a simulated clock the bridge and the simulator share: frozen
// while the test sends SCIM requests (so a request's time is exact), and
// flowing at one simulated second per millisecond while the test waits for
// delivery — except while a request to BigCommerce is in flight and shortly
// after (its answer is read at the instant BigCommerce applied it).
type flowClock struct {
	*simclock.Clock
	mu       sync.Mutex
	inflight int
	lastDone time.Time // real time
}

// hold wraps the simulator: the clock does not flow during its requests.
func (c *flowClock) hold(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.inflight++
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.inflight--
			c.lastDone = time.Now()
			c.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// tick lets one simulated second pass unless BigCommerce is answering.
func (c *flowClock) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == 0 && time.Since(c.lastDone) > 200*time.Millisecond {
		c.Advance(time.Second)
	}
}

// historyJSON is what "scim-bridge history --format json" prints.
type historyJSON struct {
	Changes []struct {
		Email          string   `json:"email"`
		StoreHash      string   `json:"storeHash"`
		Change         string   `json:"change"`
		Outcome        string   `json:"outcome"`
		Cause          string   `json:"cause"`
		RequestID      string   `json:"requestId"`
		LatencySeconds *float64 `json:"latencySeconds"`
	} `json:"changes"`
	Removals removalSummary `json:"removals"`
}

type asOfJSON struct {
	Access []struct {
		StoreHash string `json:"storeHash"`
		Email     string `json:"email"`
		GrantedBy string `json:"grantedBy"`
	} `json:"access"`
	Members []string `json:"accountUsersWithoutStores"`
}

// TestAccessHistoryOfAMonth runs a scripted month of IdP traffic through the
// bridge and the simulator on one simulated clock — joiners, a group move,
// leavers (deactivation, DELETE, group removal), drift repaired by a
// reconciliation, a removal BigCommerce refuses (the account owner: a dead
// letter) — and checks that "history --as-of" at five moments equals what
// BigCommerce had then, and that every leaver's latency in the history is the
// one the test measured on the simulator.
func TestAccessHistoryOfAMonth(t *testing.T) {
	databases := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "bridge.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testAccessHistoryOfAMonth(t, databases[backend](t)) })
	}
}

func testAccessHistoryOfAMonth(t *testing.T, db string) {
	ctx := t.Context()
	clk := &flowClock{Clock: simclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))}
	sim, err := simulator.New(simulator.Options{Now: clk.Now, RateLimit: 5000, RateWindow: time.Hour})
	require.NoError(t, err)
	ts := httptest.NewServer(clk.hold(sim))
	t.Cleanup(ts.Close)
	simURL := ts.URL
	cfg := apptest.Config(db, simURL, "5000/1h", 50)
	cfg.Delivery.RemovalLinger, cfg.Delivery.AdditionLinger = 5*time.Second, 30*time.Second
	cfg.Delivery.RetryBackoff = 10 * time.Second
	require.NoError(t, cfg.Validate())
	b := apptest.Start(t, cfg, apptest.Options{App: app.Options{Version: version, Now: clk.Now}})
	a, c := b.App, b.Client

	// settle lets simulated time flow until nothing is pending in the outbox
	// and ok holds for BigCommerce, then freezes it again.
	settle := func(what string, ok func(map[string][]string) bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			pending, err := a.CountIntents(ctx, store.IntentPending)
			require.NoError(t, err)
			if pending == 0 && ok(sim.StoresByEmail()) {
				return
			}
			require.True(t, time.Now().Before(deadline), "%s: not settled (pending %d, BigCommerce %v)", what, pending, sim.StoresByEmail())
			clk.tick()
			time.Sleep(time.Millisecond)
		}
	}
	// snapshot is a moment to check later, and what BigCommerce had then.
	type moment struct {
		at    time.Time
		state map[string][]string
	}
	var moments []moment
	mark := func() {
		clk.Advance(time.Minute)
		moments = append(moments, moment{clk.Now(), sim.StoresByEmail()})
		clk.Advance(time.Minute)
	}
	day := func(n int) { clk.Advance(time.Duration(n) * 24 * time.Hour) }
	has := func(email string, stores ...string) func(map[string][]string) bool {
		return func(m map[string][]string) bool {
			got, ok := m[email]
			return ok && slices.Equal(got, stores)
		}
	}
	gone := func(email string) func(map[string][]string) bool {
		return func(m map[string][]string) bool { _, ok := m[email]; return !ok }
	}
	all := func(fns ...func(map[string][]string) bool) func(map[string][]string) bool {
		return func(m map[string][]string) bool {
			for _, f := range fns {
				if !f(m) {
					return false
				}
			}
			return true
		}
	}
	reconcileNow := func() {
		t.Helper()
		res, err := a.Runner().RunOnce(ctx, false)
		require.NoError(t, err)
		require.Equal(t, "success", res.Outcome)
	}

	// Day 0: the first reconciliation records everyone BigCommerce already has.
	before := sim.StoresByEmail()
	reconcileNow()

	// Day 1: six joiners, two groups named like stores.
	day(1)
	ids := map[string]string{}
	for _, n := range []string{"ann", "ben", "cat", "dan", "eve", "fay"} {
		u := c.Must(t, "POST", "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s@corp.example","active":true}`, n), 201)
		ids[n] = u["id"].(string)
	}
	fresh := c.Must(t, "POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market","members":[{"value":%q},{"value":%q},{"value":%q}]}`,
		ids["ann"], ids["ben"], ids["cat"]), 201)["id"].(string)
	garden := c.Must(t, "POST", "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools","members":[{"value":%q},{"value":%q}]}`,
		ids["dan"], ids["eve"]), 201)["id"].(string)
	settle("joiners", all(has("ann@corp.example", "abc123"), has("ben@corp.example", "abc123"), has("cat@corp.example", "abc123"),
		has("dan@corp.example", "def456"), has("eve@corp.example", "def456"), has("fay@corp.example")))
	mark()

	// requested records when the IdP asked for each removal (the clock is
	// frozen while the request runs, and whole seconds).
	requested := map[string]time.Time{}
	patch := func(path, ops string) {
		status := http.StatusOK
		if strings.HasPrefix(path, "/Groups/") {
			status = http.StatusNoContent
		}
		c.Must(t, "PATCH", path, `{"schemas":["`+apptest.PatchOp+`"],"Operations":[`+ops+`]}`, status)
	}

	// Day 5: ben moves from Plant Market to Garden Tools.
	day(4)
	requested["ben@corp.example/abc123"] = clk.Now()
	patch("/Groups/"+fresh, fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, ids["ben"]))
	patch("/Groups/"+garden, fmt.Sprintf(`{"op":"add","path":"members","value":[{"value":%q}]}`, ids["ben"]))
	settle("group move", has("ben@corp.example", "def456"))
	mark()

	// Day 10: ann is deactivated, dan deleted, eve leaves Garden Tools.
	day(5)
	requested["ann@corp.example/"] = clk.Now()
	patch("/Users/"+ids["ann"], `{"op":"replace","path":"active","value":false}`)
	clk.Advance(3 * time.Second)
	requested["dan@corp.example/"] = clk.Now()
	c.Must(t, "DELETE", "/Users/"+ids["dan"], "", 204)
	clk.Advance(2 * time.Second)
	requested["eve@corp.example/def456"] = clk.Now()
	patch("/Groups/"+garden, fmt.Sprintf(`{"op":"remove","path":"members[value eq \"%s\"]"}`, ids["eve"]))
	settle("leavers", all(gone("ann@corp.example"), gone("dan@corp.example"), has("eve@corp.example")))
	mark()

	// Day 15: someone removes cat from Plant Market in the control panel; the
	// next reconciliation repairs it.
	day(5)
	var catID string
	for _, u := range sim.Snapshot().Users {
		if u.Email == "cat@corp.example" {
			catID = u.ID
		}
	}
	require.NotEmpty(t, catID)
	raw, err := json.Marshal(map[string]string{"query": fmt.Sprintf(`mutation { user { removeUserFromStore(input: {storeId: "bc/account/store/abc123", userId: %q}) { storeId } } }`, catID)})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, simURL+"/accounts/"+simulator.DefaultAccountUUID+"/graphql", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("X-Auth-Token", simulator.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, string(body), `"errors"`)
	require.True(t, has("cat@corp.example")(sim.StoresByEmail()), "the drift happened")
	clk.Advance(time.Hour)
	reconcileNow()
	settle("repair", has("cat@corp.example", "abc123"))
	mark()

	// Day 20: the IdP deactivates the account owner, whom BigCommerce never
	// removes: a dead letter, and the owner keeps access.
	day(5)
	owner := c.Must(t, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"owner@example.com","active":true}`, 201)["id"].(string)
	settle("owner managed", func(map[string][]string) bool { return true })
	requested["owner@example.com/"] = clk.Now()
	patch("/Users/"+owner, `{"op":"replace","path":"active","value":false}`)
	settle("owner removal refused", func(map[string][]string) bool {
		dead, err := a.CountIntents(ctx, store.IntentDead)
		require.NoError(t, err)
		return dead == 1
	})
	day(10)
	mark()
	require.Len(t, moments, 5)

	// What the test measured: the simulator's time of each removal minus
	// the IdP's request time.
	measured := map[string]time.Duration{}
	for _, e := range sim.Log() {
		if e.Code != "" || (e.Field != "removeUserFromAccount" && e.Field != "removeUserFromStore") {
			continue
		}
		key := e.Email + "/" + e.StoreHash
		if at, ok := requested[key]; ok {
			measured[key] = e.At.Sub(at)
		}
	}
	require.Len(t, measured, 4, "ben's store, ann, dan and eve's store were removed: %v", measured)

	// The history, read by the command from the database alone.
	cfgFile := filepath.Join(t.TempDir(), "bridge.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(yamlConfig(cfg)), 0o600))
	history := func(args ...string) []byte {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(append([]string{"history", "--config", cfgFile, "--format", "json"}, args...), &out, &errb)
		require.Equal(t, exitOK, code, errb.String())
		return out.Bytes()
	}

	for i, m := range moments {
		var got asOfJSON
		require.NoError(t, json.Unmarshal(history("--as-of", m.at.Format(time.RFC3339)), &got))
		state := map[string][]string{}
		for _, e := range got.Members {
			state[e] = []string{}
		}
		for _, r := range got.Access {
			state[r.Email] = append(state[r.Email], r.StoreHash)
		}
		for e := range state {
			slices.Sort(state[e])
		}
		require.Equal(t, m.state, state, "moment %d (%s): history --as-of equals BigCommerce", i+1, m.at)
	}
	for email := range before {
		require.Contains(t, moments[0].state, email, "people BigCommerce had before the bridge are in the history")
	}

	var removals historyJSON
	require.NoError(t, json.Unmarshal(history(), &removals))
	seen := 0
	for _, ch := range removals.Changes {
		key := ch.Email + "/" + ch.StoreHash
		want, ok := measured[key]
		if !ok || (ch.Change != string(store.AccountRemove) && ch.Change != string(store.StoreRemove)) {
			continue
		}
		seen++
		require.Equal(t, store.HistoryApplied, ch.Outcome, key)
		require.NotNil(t, ch.LatencySeconds, key)
		got := time.Duration(*ch.LatencySeconds * float64(time.Second))
		require.InDelta(t, want.Seconds(), got.Seconds(), 1, "%s: latency in the history %s, measured %s", key, got, want)
		require.NotEmpty(t, ch.RequestID, key)
	}
	require.Equal(t, 4, seen)
	require.Equal(t, 5, removals.Removals.Removals)
	require.Equal(t, 1, removals.Removals.Dead, "the owner's removal never happened")

	var causes []string
	var ann historyJSON
	require.NoError(t, json.Unmarshal(history("--email", "ann@corp.example"), &ann))
	for _, ch := range ann.Changes {
		causes = append(causes, ch.Change+" "+ch.Cause)
	}
	require.Equal(t, []string{"account.add user.create", "store.add group.create", "account.remove user.deactivate"}, causes)

	var cat historyJSON
	require.NoError(t, json.Unmarshal(history("--email", "cat@corp.example", "--store", "abc123"), &cat))
	var catCauses []string
	for _, ch := range cat.Changes {
		catCauses = append(catCauses, ch.Change+" "+ch.Outcome+" "+ch.Cause)
	}
	require.Equal(t, []string{"store.add applied group.create", "store.remove observed reconcile.listing", "store.add applied reconcile.repair"}, catCauses)

	// The deprovisioning latency metric saw the same four removals and one
	// breach (the dead letter).
	mfs, err := a.Registry.Gather()
	require.NoError(t, err)
	var count uint64
	var breaches float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "scim_bridge_deprovision_latency_seconds":
			for _, m := range mf.GetMetric() {
				count += histogramCount(m)
			}
		case "scim_bridge_deprovision_slo_breaches_total":
			breaches = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	require.EqualValues(t, 4, count)
	require.EqualValues(t, 1, breaches)
}

func histogramCount(m *dto.Metric) uint64 { return m.GetHistogram().GetSampleCount() }

// TestHistoryCommand: filters, formats, the removal summary and usage errors,
// on a history written directly to the store.
func TestHistoryCommand(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "bridge.db")
	t.Setenv("SCIM_BRIDGE_DATABASE", db)
	t.Setenv("SCIM_BRIDGE_SCIM_TOKENS", e2eToken)
	t.Setenv("SCIM_BRIDGE_BC_ACCOUNT_UUID", simulator.DefaultAccountUUID)
	t.Setenv("SCIM_BRIDGE_BC_TOKEN", simulator.DefaultToken)
	t.Setenv("SCIM_BRIDGE_LOG_LEVEL", "error")
	t.Setenv("SCIM_BRIDGE_DEPROVISION_SLO", "10m")
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	st, err := backend.Open(t.Context(), db, nil)
	require.NoError(t, err)
	e := func(min int, email, hash string, kind store.IntentKind, outcome, cause string, asked int) store.AccessChange {
		c := store.AccessChange{At: t0.Add(time.Duration(min) * time.Minute), Email: email, StoreHash: hash, Change: kind,
			Outcome: outcome, Source: store.SourceSCIM, RequestID: fmt.Sprintf("req-%d", min), Cause: cause}
		if asked >= 0 {
			c.RequestedAt = t0.Add(time.Duration(asked) * time.Minute)
		}
		return c
	}
	require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
		return tx.AppendHistory(t.Context(), []store.AccessChange{
			e(0, "ann@x.io", "", store.AccountAdd, store.HistoryApplied, "user.create", 0),
			e(1, "ann@x.io", "abc123", store.StoreAdd, store.HistoryApplied, "group.update", 0),
			e(2, "=bob@x.io", "", store.AccountAdd, store.HistoryApplied, "user.create", 2),
			e(2, "=bob@x.io", "def456", store.StoreAdd, store.HistoryApplied, "group.update", 2),
			e(60, "ann@x.io", "", store.AccountRemove, store.HistoryApplied, "user.deactivate", 30),
			e(61, "=bob@x.io", "def456", store.StoreRemove, store.HistoryApplied, "group.update", 60),
			e(70, "cy@x.io", "", store.AccountRemove, store.HistoryDead, "user.delete", 65),
		})
	}))
	require.NoError(t, st.Close())

	code, out, errOut := runCLI("history")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, errOut, "no complete listing of the account is recorded yet")
	require.Contains(t, out, "3 removals asked for by the IdP: 2 confirmed, 1 dead (access kept); latency p50 30m0s, p95 30m0s, max 30m0s; 2 over the SLO of 10m0s")

	code, out, errOut = runCLI("history", "--store", "abc123", "--format", "csv")
	require.Equal(t, exitOK, code, errOut)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, historyHeader, rows[0])
	require.Len(t, rows, 3, "ann's grant and the account removal that took abc123 from her")
	require.Equal(t, []string{"store.add", "account.remove"}, []string{rows[1][4], rows[2][4]})
	require.Equal(t, "1800.000", rows[2][11], "latency in seconds")

	code, out, errOut = runCLI("history", "--email", "=BOB@x.io", "--since", "2026-04-01T09:30:00Z", "--format", "csv")
	require.Equal(t, exitOK, code, errOut)
	rows, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "'=bob@x.io", rows[1][2], "a cell that starts with = is defused")

	code, out, errOut = runCLI("history", "--as-of", "2026-04-01T09:30:00Z", "--format", "json")
	require.Equal(t, exitOK, code, errOut)
	var asOf asOfJSON
	require.NoError(t, json.Unmarshal([]byte(out), &asOf))
	require.Len(t, asOf.Access, 2)
	require.Equal(t, "req-1", asOf.Access[0].GrantedBy)
	code, out, _ = runCLI("history", "--as-of", "2026-04-01")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "0 accesses to 0 stores; 0 users in the account without store access")

	for _, args := range [][]string{
		{"--format", "xml"}, {"--since", "yesterday"}, {"--since", "2026-04-02", "--until", "2026-04-01"},
		{"--as-of", "2026-04-01", "--since", "2026-03-01"}, {"--output", ""}, {"extra"},
	} {
		code, _, errOut := runCLI(append([]string{"history"}, args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		require.Contains(t, errOut, "scim-bridge history")
	}
}
