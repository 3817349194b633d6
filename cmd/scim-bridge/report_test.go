package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/reconcile"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func TestReportCommandCSV(t *testing.T) {
	seed := simulator.DefaultSeed()
	seed.Users = append(seed.Users, simulator.SeedUser{Email: "mallory@example.com", FirstName: "=HYPERLINK(\"x\")", Stores: []string{"def456"}})
	a := newCLIAccount(t, simulator.Options{Seed: seed})
	var ann, alice string
	granted := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	a.withStore(t, func(st store.Store, svc *bridge.Service) {
		require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
			return tx.AppendHistory(t.Context(), []store.AccessChange{
				{At: granted.Add(-time.Minute), Email: "alice@example.com", Change: store.AccountAdd, Outcome: store.HistoryApplied, Source: store.SourceSCIM, RequestID: "req-alice", Cause: "user.create"},
				{At: granted, Email: "alice@example.com", StoreHash: "abc123", Change: store.StoreAdd, Outcome: store.HistoryApplied, Source: store.SourceSCIM, RequestID: "req-alice-store", Cause: "group.update"},
			})
		}))
		v, err := svc.CreateUser(t.Context(), map[string]any{"userName": "ann@example.com", "externalId": "okta-ann"})
		require.NoError(t, err)
		ann = v.ID
		v, err = svc.CreateUser(t.Context(), map[string]any{"userName": "alice@example.com", "externalId": "okta-alice"})
		require.NoError(t, err)
		alice = v.ID
	})
	before := a.intents(t)

	code, out, errOut := runCLI("report", "--format", "csv")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, errOut, "reading BigCommerce will spend at least 2 requests")
	require.Contains(t, errOut, "4 BigCommerce users (1 managed, 3 unmanaged) in 3 stores; 1 active IdP user missing from BigCommerce; 2 requests spent")
	require.NotContains(t, errOut, "\r", "no progress line when stderr is not a terminal")

	rows, err := csv.NewReader(bytes.NewReader([]byte(out))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, reportHeader, rows[0])
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	byUser := map[string][][]string{}
	for _, r := range rows[1:] {
		require.Len(t, r, len(reportHeader))
		byUser[r[col["email"]]] = append(byUser[r[col["email"]]], r)
	}
	require.Len(t, byUser["owner@example.com"], 3, "one row per store the owner reaches")
	owner := byUser["owner@example.com"][0]
	require.Equal(t, "abc123", owner[col["store_hash"]])
	require.Equal(t, "Plant Market", owner[col["store_name"]])
	require.Contains(t, owner[col["store_permissions"]], "Manage_Users;")
	require.Equal(t, "2024-01-15T09:30:00Z", owner[col["last_login_at"]])
	require.Equal(t, "false", owner[col["managed"]])

	require.Len(t, byUser["alice@example.com"], 1)
	al := byUser["alice@example.com"][0]
	require.Equal(t, "true", al[col["managed"]])
	require.Equal(t, alice, al[col["scim_id"]])
	require.Equal(t, "okta-alice", al[col["external_id"]])
	require.Equal(t, reconcile.IdPActive, al[col["idp_state"]])
	require.Equal(t, "Manage_Orders;Manage_Products;View_Customers", al[col["store_permissions"]], "sorted")
	require.Equal(t, "ACTIVE", al[col["status"]])
	require.Equal(t, "en-GB", al[col["locale"]])
	require.Equal(t, "2024-02-02T14:05:00Z", al[col["store_last_login_at"]])
	require.Equal(t, "2026-02-03T10:00:00Z", al[col["granted_at"]], "from the access history")
	require.Equal(t, "req-alice-store", al[col["granted_by"]])
	require.Empty(t, owner[col["granted_at"]], "the history does not know when the owner's access began")

	require.Len(t, byUser["ann@example.com"], 1, "the IdP knows ann; BigCommerce does not")
	an := byUser["ann@example.com"][0]
	require.Equal(t, "false", an[col["in_bigcommerce"]])
	require.Equal(t, ann, an[col["scim_id"]])
	require.Empty(t, an[col["store_hash"]])

	require.Equal(t, `'=HYPERLINK("x")`, byUser["mallory@example.com"][0][col["first_name"]], "formulas are defused")

	require.Equal(t, before, a.intents(t), "the report changes nothing")
}

func TestReportCommandJSONFile(t *testing.T) {
	newCLIAccount(t, simulator.Options{})
	path := filepath.Join(t.TempDir(), "report.json")
	code, out, errOut := runCLI("report", "--format", "json", "--output", path)
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, out)
	require.Contains(t, errOut, "written to "+path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the report holds personal data")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep reconcile.Report
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Equal(t, reconcile.ReportSummary{BigCommerceUsers: 3, Unmanaged: 3}, rep.Summary)
	require.Len(t, rep.Stores, 3)
	require.Equal(t, "bob@example.com", rep.Users[1].Email)
	require.Len(t, rep.Users[1].Stores, 2)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.ElementsMatch(t, []string{"generatedAt", "stores", "users", "summary"}, keysOf(doc))
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// fastRetries shortens the report's retry waits for a test.
func fastRetries(t *testing.T) {
	t.Helper()
	saved := reportRetry
	reportRetry.first, reportRetry.maxWait = 10*time.Millisecond, time.Second
	t.Cleanup(func() { reportRetry = saved })
}

func TestReportCommandFailures(t *testing.T) {
	t.Run("a read that keeps failing writes nothing", func(t *testing.T) {
		fastRetries(t)
		a := newCLIAccount(t, simulator.Options{})
		a.sim.FailNext(10, 503)
		path := filepath.Join(t.TempDir(), "report.csv")
		code, out, errOut := runCLI("report", "--output", path)
		require.Equal(t, exitError, code, "no report is an error")
		require.Empty(t, out)
		require.Contains(t, errOut, "retrying in 10ms (attempt 2 of 4)")
		require.Contains(t, errOut, "retrying in 40ms (attempt 4 of 4)", "the wait doubles")
		require.Contains(t, errOut, "No report was written (4 requests spent)")
		require.NoFileExists(t, path)
	})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad format", []string{"--format", "xml"}, exitUsage, `--format "xml": want csv or json`},
		{"empty output", []string{"--output", ""}, exitUsage, "--output needs a file name"},
		{"argument", []string{"all"}, exitUsage, `unexpected argument "all"`},
		{"unknown flag", []string{"--fromat", "csv"}, exitUsage, "flag provided but not defined: -fromat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			newCLIAccount(t, simulator.Options{})
			code, out, errOut := runCLI(append([]string{"report"}, tc.args...)...)
			require.Equal(t, tc.code, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
		})
	}
	t.Run("help", func(t *testing.T) {
		code, out, errOut := runCLI("report", "-h")
		require.Equal(t, exitOK, code)
		require.Empty(t, errOut)
		require.Contains(t, out, "one row per (user, store) access")
	})
}

// TestReportRetriesPassingFailures: a 5xx, a dropped connection or a 429 in
// the middle of the read is retried, and the report is written.
func TestReportRetriesPassingFailures(t *testing.T) {
	for name, fail := range map[string]func(sim *simulator.Server){
		"5xx on the first listing": func(sim *simulator.Server) { sim.FailNext(1, 502) },
		"two 5xx in a row":         func(sim *simulator.Server) { sim.FailNext(2, 500) },
		"a dropped connection":     func(sim *simulator.Server) { sim.DropNext(1) },
	} {
		t.Run(name, func(t *testing.T) {
			fastRetries(t)
			a := newCLIAccount(t, simulator.Options{})
			fail(a.sim)
			code, out, errOut := runCLI("report", "--format", "json")
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, errOut, "listing the account's users failed")
			require.Contains(t, errOut, "retrying in 10ms (attempt 2 of 4)")
			var rep reconcile.Report
			require.NoError(t, json.Unmarshal([]byte(out), &rep))
			require.Equal(t, 3, rep.Summary.BigCommerceUsers)
		})
	}
	t.Run("a permanent refusal is not retried", func(t *testing.T) {
		fastRetries(t)
		newCLIAccount(t, simulator.Options{})
		t.Setenv("SCIM_BRIDGE_BC_TOKEN", "wrong-token")
		code, _, errOut := runCLI("report")
		require.Equal(t, exitError, code)
		require.NotContains(t, errOut, "retrying")
		require.Contains(t, errOut, "No report was written (1 request spent)")
	})
}

// TestReportDeactivatedUsers: a user the IdP deactivated is not "missing"
// from BigCommerce, and its row lists no granted stores.
func TestReportDeactivatedUsers(t *testing.T) {
	a := newCLIAccount(t, simulator.Options{})
	a.withStore(t, func(_ store.Store, svc *bridge.Service) {
		var members []string
		for _, u := range []struct {
			name   string
			active bool
		}{{"gone@example.com", false}, {"left@example.com", false}, {"new@example.com", true}, {"bob@example.com", false}} {
			v, err := svc.CreateUser(t.Context(), map[string]any{"userName": u.name, "active": u.active})
			require.NoError(t, err)
			members = append(members, v.ID)
		}
		_, err := svc.CreateGroup(t.Context(), map[string]any{"displayName": "Plant Market"}, members)
		require.NoError(t, err)
	})
	t.Setenv("SCIM_BRIDGE_PROTECTED_EMAILS", "")
	code, out, errOut := runCLI("report")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, errOut, "3 BigCommerce users (1 managed, 2 unmanaged) in 3 stores; 1 active IdP user missing from BigCommerce; "+
		"1 deactivated IdP user still in BigCommerce (delivery or reconciliation removes it); 2 deactivated IdP users absent from BigCommerce, as intended")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["idp_state"]] == reconcile.IdPDeactivated {
			require.Empty(t, r[col["granted_stores"]], "%s is deactivated: granted nothing", r[col["email"]])
		}
	}
}

func TestProgressOnlyOnTerminals(t *testing.T) {
	var buf bytes.Buffer
	require.False(t, app.IsTerminal(&buf))
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	require.False(t, app.IsTerminal(f), "a regular file is not a terminal")

	g := &progressGate{inner: nopGate{}, cmd: "report", w: &buf}
	g.expect(3)
	require.NoError(t, g.Acquire(t.Context(), readPriority))
	require.NoError(t, g.Acquire(t.Context(), readPriority))
	g.done()
	require.Contains(t, buf.String(), "\rscim-bridge report: request 2 of about 3 sent")
	require.True(t, bytes.HasSuffix(buf.Bytes(), []byte("\n")))
}

// nopGate is a downstream.Gate that never waits.
type nopGate struct{}

func (nopGate) Acquire(context.Context, downstream.Priority) error { return nil }
func (nopGate) Observe(downstream.RateInfo)                        {}
