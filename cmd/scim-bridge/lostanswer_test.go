package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// TestLostAnswerThenOppositeChange: BigCommerce applies a request, its answer
// is held back, and serve dies meanwhile (SIGKILL). After a restart the IdP
// sends the opposite change, which must reach BigCommerce although the
// bridge never recorded the first answer: the operation is in doubt, not
// "not sent". Each case on SQLite and PostgreSQL.
func TestLostAnswerThenOppositeChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; skipped with -short")
	}
	databases := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "bridge.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := databases[backend](t)
			sim, simURL := apptest.SimServer(t, simulator.Options{RateLimit: 1000, RateWindow: time.Minute})
			cfg := apptest.Config(db, simURL, "1000/1m", 50)
			ch := startChild(t, cfg)
			waitSettledIn(t, ch)
			cl := apptest.NewClient(ch.base, e2eToken).WithTimeout(5 * time.Second)
			plant := cl.Must(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`, 201)["id"].(string)

			// crash kills serve once the simulator applied field for email (its
			// answer being held), and starts a fresh serve on the same store.
			crash := func(field, email string) {
				t.Helper()
				require.Eventually(t, func() bool { return applied(sim, field, email) }, 20*time.Second, 10*time.Millisecond,
					"%s for %s never reached BigCommerce", field, email)
				ch.kill()
				sim.SetHoldResponse(0)
				ch = startChild(t, cfg)
				waitSettledIn(t, ch)
				cl = apptest.NewClient(ch.base, e2eToken).WithTimeout(5 * time.Second)
			}
			eventually := func(what string, cond func(map[string][]string) bool) {
				t.Helper()
				require.Eventually(t, func() bool { return cond(apptest.BCState(sim)) }, 30*time.Second, 50*time.Millisecond,
					"%s; BigCommerce: %v", what, apptest.BCState(sim))
			}

			// Create -> applied -> crash -> deactivate: the user leaves.
			sim.SetHoldResponse(10 * time.Second)
			ann := cl.Must(t, http.MethodPost, "/Users", apptest.UserJSON("ann@corp.example", true), 201)["id"].(string)
			crash("addUserToAccount", "ann@corp.example")
			cl.Must(t, http.MethodPatch, "/Users/"+ann, apptest.ActiveJSON(false), 200)
			eventually("the leaver is removed", func(bc map[string][]string) bool { _, in := bc["ann@corp.example"]; return !in })

			// The mirror: deactivate -> applied -> crash -> reactivate: the
			// joiner is back.
			sim.SetHoldResponse(10 * time.Second)
			cl.Must(t, http.MethodPatch, "/Users/"+ann, apptest.ActiveJSON(true), 200)
			eventually("reactivated", func(bc map[string][]string) bool { _, in := bc["ann@corp.example"]; return in })
			sim.SetHoldResponse(10 * time.Second)
			cl.Must(t, http.MethodPatch, "/Users/"+ann, apptest.ActiveJSON(false), 200)
			crash("removeUserFromAccount", "ann@corp.example")
			cl.Must(t, http.MethodPatch, "/Users/"+ann, apptest.ActiveJSON(true), 200)
			eventually("the joiner is back", func(bc map[string][]string) bool { _, in := bc["ann@corp.example"]; return in })

			// Added to the store -> applied -> crash -> removed from the group:
			// the store access goes.
			bea := cl.Must(t, http.MethodPost, "/Users", apptest.UserJSON("bea@corp.example", true), 201)["id"].(string)
			eventually("bea joined", func(bc map[string][]string) bool { _, in := bc["bea@corp.example"]; return in })
			sim.SetHoldResponse(10 * time.Second)
			cl.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.AddMembersJSON(bea), 204)
			crash("addUserToStore", "bea@corp.example")
			cl.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.RemoveMemberJSON(bea), 204)
			eventually("bea lost the store", func(bc map[string][]string) bool {
				s, in := bc["bea@corp.example"]
				return in && len(s) == 0
			})

			// The mirror: removed from the store -> applied -> crash -> added
			// back: the store access returns.
			cl.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.AddMembersJSON(bea), 204)
			eventually("bea has the store", func(bc map[string][]string) bool { return apptest.SameSet(bc["bea@corp.example"], []string{"abc123"}) })
			sim.SetHoldResponse(10 * time.Second)
			cl.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.RemoveMemberJSON(bea), 204)
			crash("removeUserFromStore", "bea@corp.example")
			cl.Must(t, http.MethodPatch, "/Groups/"+plant, apptest.AddMembersJSON(bea), 204)
			eventually("bea has the store again", func(bc map[string][]string) bool { return apptest.SameSet(bc["bea@corp.example"], []string{"abc123"}) })

			// SIGTERM during a held answer: serve waits for it (within its
			// grace) and records it before exiting, so nothing is in doubt.
			sim.SetHoldResponse(2 * time.Second)
			cy := cl.Must(t, http.MethodPost, "/Users", apptest.UserJSON("cy@corp.example", true), 201)["id"].(string)
			require.Eventually(t, func() bool { return applied(sim, "addUserToAccount", "cy@corp.example") }, 20*time.Second, 10*time.Millisecond)
			start := time.Now()
			require.NoError(t, ch.cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(t, ch.cmd.Wait(), "serve exits cleanly: %s", ch.stderr)
			require.Less(t, time.Since(start), 15*time.Second)
			sim.SetHoldResponse(0)
			ch = startChild(t, cfg)
			cl = apptest.NewClient(ch.base, e2eToken).WithTimeout(5 * time.Second)
			u := cl.Must(t, http.MethodGet, "/Users/"+cy, "", 200)
			sync := u["urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User"].(map[string]any)
			require.Equal(t, "synced", sync["syncState"], "the held answer was recorded before serve exited")
			cl.Must(t, http.MethodPatch, "/Users/"+cy, apptest.ActiveJSON(false), 200)
			eventually("cy is removed", func(bc map[string][]string) bool { _, in := bc["cy@corp.example"]; return !in })
		})
	}
}

// waitSettledIn waits until the child's leader has read the store catalog and
// BigCommerce's capabilities, so that a held answer the test sets up next
// holds the mutation it means, not those reads.
func waitSettledIn(t *testing.T, ch *child) {
	t.Helper()
	require.Eventually(t, func() bool {
		res, err := http.Get(ch.telemetry + "/status")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var st struct {
			Delivery struct {
				CatalogAt      *string `json:"catalogAt"`
				CapabilitiesAt *string `json:"capabilitiesAt"`
			} `json:"delivery"`
		}
		return json.NewDecoder(res.Body).Decode(&st) == nil && st.Delivery.CatalogAt != nil && st.Delivery.CapabilitiesAt != nil
	}, 20*time.Second, 50*time.Millisecond, "serve did not read the catalog and capabilities: %s", ch.stderr)
}

// applied reports whether the simulator applied field for email.
func applied(sim *simulator.Server, field, email string) bool {
	n := 0
	for _, ev := range sim.Log() {
		if ev.Field == field && ev.Email == email && ev.Code == "" {
			n++
		}
	}
	return n > 0 && lastEvent(sim, email).Field == field
}

func lastEvent(sim *simulator.Server, email string) simulator.Event {
	var last simulator.Event
	for _, ev := range sim.Log() {
		if ev.Email == email && ev.Code == "" {
			last = ev
		}
	}
	return last
}
