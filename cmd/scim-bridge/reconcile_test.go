package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
)

// cliAccount is a simulator (default seed: owner@, alice@ and bob@example.com
// in stores abc123, def456, ghi789) and a temporary SQLite database, with the
// SCIM_BRIDGE_* environment pointing a command at both.
type cliAccount struct {
	sim *simulator.Server
	db  string
}

func newCLIAccount(t *testing.T, opts simulator.Options) cliAccount {
	t.Helper()
	sim, url := apptest.SimServer(t, opts)
	db := "sqlite:" + filepath.Join(t.TempDir(), "bridge.db")
	t.Setenv("SCIM_BRIDGE_DATABASE", db)
	t.Setenv("SCIM_BRIDGE_SCIM_TOKENS", e2eToken)
	t.Setenv("SCIM_BRIDGE_BC_API_URL", url)
	t.Setenv("SCIM_BRIDGE_BC_ACCOUNT_UUID", simulator.DefaultAccountUUID)
	t.Setenv("SCIM_BRIDGE_BC_TOKEN", simulator.DefaultToken)
	t.Setenv("SCIM_BRIDGE_LOG_LEVEL", "warn")
	t.Setenv("SCIM_BRIDGE_PROTECTED_EMAILS", "owner@example.com")
	return cliAccount{sim: sim, db: db}
}

// withStore opens the account's database for fn (the commands open and close
// it themselves, so it must not stay open).
func (a cliAccount) withStore(t *testing.T, fn func(st store.Store, svc *bridge.Service)) {
	t.Helper()
	st, err := backend.Open(t.Context(), a.db, zap.NewNop())
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	svc, err := bridge.NewService(bridge.Options{Store: st, Mapping: bridge.Mapping{ByName: true}})
	require.NoError(t, err)
	fn(st, svc)
}

func (a cliAccount) intents(t *testing.T) []store.Intent {
	t.Helper()
	var out []store.Intent
	a.withStore(t, func(st store.Store, _ *bridge.Service) {
		require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
			var err error
			out, err = tx.ListIntents(t.Context(), store.IntentFilter{})
			return err
		}))
	})
	return out
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestReconcileCommandExitStatuses(t *testing.T) {
	t.Run("unmanaged users in a dry run are drift", func(t *testing.T) {
		a := newCLIAccount(t, simulator.Options{})
		code, out, errOut := runCLI("reconcile", "--dry-run")
		require.Equal(t, exitDrift, code, errOut)
		require.Contains(t, out, "Reconciliation (dry run)")
		require.Regexp(t, `unmanaged\s+alice@example\.com\s+-\s+-\s+none \(reconcile\.unmanaged is "report"\)`, out)
		require.Regexp(t, `protected\s+owner@example\.com`, out)
		require.Contains(t, out, "Drift: 2 (unmanaged 2)")
		require.Contains(t, errOut, "reading BigCommerce will spend at least 2 requests", "the cost is announced before fetching")
		require.Less(t, strings.Index(errOut, "will spend"), strings.Index(errOut, "requests spent"))
		require.Contains(t, errOut, "2 requests spent")
		require.NotContains(t, errOut, "\r", "no progress line when stderr is not a terminal")
		require.Empty(t, a.intents(t), "a dry run queues nothing")
	})

	t.Run("in sync", func(t *testing.T) {
		newCLIAccount(t, simulator.Options{})
		t.Setenv("SCIM_BRIDGE_PROTECTED_EMAILS", "owner@example.com,alice@example.com,BOB@example.com")
		code, out, errOut := runCLI("reconcile", "--dry-run")
		require.Equal(t, exitOK, code, errOut)
		require.Contains(t, out, "Drift: none")
		require.Contains(t, out, "Protected emails found (never touched): 3")
	})

	t.Run("drift repaired", func(t *testing.T) {
		a := newCLIAccount(t, simulator.Options{})
		t.Setenv("SCIM_BRIDGE_PROTECTED_EMAILS", "owner@example.com,alice@example.com,bob@example.com")
		var ann string
		a.withStore(t, func(st store.Store, svc *bridge.Service) {
			v, err := svc.CreateUser(t.Context(), map[string]any{"userName": "ann@example.com"})
			require.NoError(t, err)
			ann = v.ID
			// The IdP's own intent was delivered long ago (as far as this test
			// is concerned); BigCommerce lost the user since.
			require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
				in, err := tx.ListIntents(t.Context(), store.IntentFilter{})
				require.NoError(t, err)
				for _, i := range in {
					i.State = store.IntentDone
					require.NoError(t, tx.UpdateIntent(t.Context(), i, store.IntentPending))
				}
				return nil
			}))
		})
		code, out, errOut := runCLI("reconcile")
		require.Equal(t, exitOK, code, errOut)
		require.Regexp(t, `missing_from_account\s+ann@example\.com\s+-\s+`+ann+`\s+add to the account`, out)
		require.Contains(t, out, "Queued 1 repair in the outbox")
		var queued []store.Intent
		for _, in := range a.intents(t) {
			if in.Source == store.SourceReconcile {
				queued = append(queued, in)
			}
		}
		require.Len(t, queued, 1)
		require.Equal(t, store.AccountAdd, queued[0].Kind)
		require.Equal(t, "ann@example.com", queued[0].Email)
		require.Equal(t, store.IntentPending, queued[0].State)

		// Until delivery sends it, ann is not drift but pending.
		code, out, errOut = runCLI("reconcile", "--dry-run")
		require.Equal(t, exitOK, code, errOut)
		require.Contains(t, out, "Not compared, changes to them wait in the outbox for the delivery engine (1):\n  ann@example.com")
		require.Contains(t, errOut, "about 2 requests", "the second run estimates from the saved listing")
	})

	t.Run("the removal cap aborts", func(t *testing.T) {
		a := newCLIAccount(t, simulator.Options{})
		t.Setenv("SCIM_BRIDGE_RECONCILE_UNMANAGED", "remove")
		code, out, errOut := runCLI("reconcile", "--max-removals", "1")
		require.Equal(t, exitDrift, code, errOut)
		require.Contains(t, out, "ABORTED: the plan needs 2 removals, more than the cap of 1")
		require.Contains(t, out, "Removals: 2 (cap 1)")
		require.Empty(t, a.intents(t), "nothing applied")

		code, _, errOut = runCLI("reconcile", "--max-removals", "2")
		require.Equal(t, exitOK, code, errOut)
		require.Len(t, a.intents(t), 2)
	})

	t.Run("a failed read is an error and changes nothing", func(t *testing.T) {
		fastRetries(t)
		a := newCLIAccount(t, simulator.Options{})
		a.sim.FailNext(10, 503)
		code, out, errOut := runCLI("reconcile", "--output", "json")
		require.Equal(t, exitError, code)
		require.Empty(t, out)
		require.Contains(t, errOut, "Nothing was changed (4 requests spent)")
		require.NotContains(t, errOut, "@example.com")
		require.Empty(t, a.intents(t))
	})
}

func TestReconcileCommandJSON(t *testing.T) {
	newCLIAccount(t, simulator.Options{})
	code, out, errOut := runCLI("reconcile", "--dry-run", "--output", "json")
	require.Equal(t, exitDrift, code, errOut)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	for _, k := range []string{"runId", "dryRun", "outcome", "exitStatus", "startedAt", "durationSeconds", "requests",
		"bigcommerceUsers", "stores", "scimUsers", "counts", "drift", "unrepaired", "removals", "maxRemovals",
		"unmanagedPolicy", "aborted", "queued", "items", "pending", "estimate", "repairs"} {
		require.Contains(t, doc, k)
	}
	require.Equal(t, true, doc["dryRun"])
	require.Equal(t, "success", doc["outcome"])
	require.Equal(t, float64(exitDrift), doc["exitStatus"])
	require.Equal(t, map[string]any{"estimated": 2.0, "spent": 2.0}, doc["requests"])
	require.Equal(t, 3.0, doc["bigcommerceUsers"])
	require.Equal(t, 10.0, doc["maxRemovals"])
	require.Equal(t, map[string]any{
		"missing_from_account": 0.0, "missing_from_store": 0.0, "deactivated_present": 0.0, "deleted_present": 0.0,
		"excess_store_access": 0.0, "unmanaged": 2.0, "protected": 1.0,
	}, doc["counts"])
	require.Equal(t, []any{
		map[string]any{"class": "unmanaged", "email": "alice@example.com", "action": "none"},
		map[string]any{"class": "unmanaged", "email": "bob@example.com", "action": "none"},
		map[string]any{"class": "protected", "email": "owner@example.com", "action": "none"},
	}, doc["items"])
	require.Equal(t, []any{}, doc["pending"])
	require.Equal(t, []any{}, doc["repairs"])
}

func TestReconcileCommandUsage(t *testing.T) {
	newCLIAccount(t, simulator.Options{})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help lists the exit statuses", []string{"-h"}, exitOK, "3  drift remains"},
		{"bad output", []string{"--output", "yaml"}, exitUsage, `--output "yaml": want text or json`},
		{"negative cap", []string{"--max-removals", "-1"}, exitUsage, "want a whole number"},
		{"unknown flag", []string{"--force"}, exitUsage, "flag provided but not defined"},
		{"argument", []string{"now"}, exitUsage, `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(append([]string{"reconcile"}, tc.args...)...)
			require.Equal(t, tc.code, code)
			if tc.code == exitOK {
				require.Empty(t, errOut, "help goes to standard output")
				require.Contains(t, out, tc.want)
				return
			}
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
		})
	}

	t.Run("configuration error", func(t *testing.T) {
		t.Setenv("SCIM_BRIDGE_BC_ACCOUNT_UUID", "not-a-uuid")
		code, _, errOut := runCLI("reconcile", "--dry-run")
		require.Equal(t, exitUsage, code)
		require.Contains(t, errOut, "SCIM_BRIDGE_BC_ACCOUNT_UUID: must be a UUID", "the problem names the variable that set the value")
	})
}

// TestReconcileCommandRetriesPassingFailures: a transient BigCommerce 5xx is
// retried with backoff instead of failing the run.
func TestReconcileCommandRetriesPassingFailures(t *testing.T) {
	fastRetries(t)
	a := newCLIAccount(t, simulator.Options{})
	a.sim.FailNext(2, 503)
	code, _, errOut := runCLI("reconcile", "--dry-run")
	require.Contains(t, errOut, "retrying in 10ms (attempt 2 of 4)")
	require.NotEqual(t, exitError, code, errOut)
}
