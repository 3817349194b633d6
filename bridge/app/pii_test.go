package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/app/apptest"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
	"github.com/scim-bridge/scim-bridge/config"
)

// Personal data and credentials of TestNoPersonalDataInLogs: every value is
// distinctive, so finding it anywhere means it leaked.
const (
	piiSCIMToken  = "pii-scim-token-7f3e9a1c5b2d4e6f"
	piiBCToken    = "pii-bc-token-0a9b8c7d6e5f4a3b"
	piiWrongToken = "pii-wrong-token-1b2c3d4e5f6a7b8c"
)

// piiUser is one IdP user with every attribute the test looks for.
type piiUser struct {
	userName, homeEmail, given, family, display, nick, externalID, phone, title string
}

func (u piiUser) values() []string {
	return []string{u.userName, u.homeEmail, u.given, u.family, u.display, u.nick, u.externalID, u.phone, u.title}
}

func (u piiUser) json(active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
"userName":%q,"externalId":%q,"active":%t,"displayName":%q,"nickName":%q,"title":%q,
"name":{"givenName":%q,"familyName":%q,"formatted":%q},
"emails":[{"value":%q,"type":"work","primary":true},{"value":%q,"type":"home"}],
"phoneNumbers":[{"value":%q,"type":"work"}],
"password":"Pii-Password-9d8c7b6a!",
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"pii-emp-4711","department":"Pii Department Of Secrets"}}`,
		u.userName, u.externalID, active, u.display, u.nick, u.title, u.given, u.family, u.display,
		u.userName, u.homeEmail, u.phone)
}

var (
	piiAlice = piiUser{"pii.alicewonder@corp.example", "alicewonder.home@private.example", "Alicewonder", "Zyxwvutson",
		"Alicewonder Zyxwvutson", "Wondiexq", "ext-a11ce-77aa", "+1 555 0100 4242", "Chief Pii Officer"}
	piiBob = piiUser{"pii.bobbington@corp.example", "bobbington.home@private.example", "Bobbington", "Qwertyfield",
		"Bobbington Qwertyfield", "Bobboxq", "ext-b0b-88bb", "+44 20 7946 0958", "Head Of Pii Gardening"}
	piiCarol = piiUser{"pii.carolina@corp.example", "carolina.home@private.example", "Carolina", "Mnbvcxzova",
		"Carolina Mnbvcxzova", "Caroxq", "ext-ca201-99cc", "+49 30 901820", "Pii Ghost Hunter"}
	piiDora = piiUser{"pii.doravanish@corp.example", "dora.home@private.example", "Doravanish", "Plokijuhson",
		"Doravanish Plokijuhson", "Dodoxq", "ext-d0ra-11dd", "+33 1 09 75 83 51", "Pii Never Valid"}
)

// Group display names the test looks for. "Pii Gardeners Guild" maps to the
// simulator's store abc123, "Pii Ghost Crew" to a store that does not exist
// (its deliveries are dead-lettered), "Pii Secret Society" to nothing.
const (
	piiGardeners = "Pii Gardeners Guild"
	piiGhosts    = "Pii Ghost Crew"
	piiSociety   = "Pii Secret Society"
	piiRenamed   = "Pii Renamed Brotherhood"
)

// TestNoPersonalDataInLogs sends users through the whole bridge (SCIM over HTTP
// in, deliveries to the simulator, retries, a 429, a dead letter, a
// reconciliation run, failed requests) with the process logger at debug level
// writing to a buffer, and fails if any attribute value of those users, a
// group name, or a token appears in any log line, error text, /status,
// /metrics, intent or audit record (the idea of alertmanager's
// AssertNotifyLeaksNoSecret).
func TestNoPersonalDataInLogs(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { noPersonalDataInLogs(t, "sqlite:"+filepath.Join(t.TempDir(), "bridge.db")) })
	t.Run("postgres", func(t *testing.T) { noPersonalDataInLogs(t, storetest.PostgresDSN(t)) })
}

func noPersonalDataInLogs(t *testing.T, database string) {
	sim, simURL := apptest.SimServer(t, simulator.Options{Token: piiBCToken, RateLimit: 1000, RateWindow: time.Minute})
	cfg := apptest.Config(database, simURL, "1000/1m", 50)
	cfg.SCIM.Tokens = []config.Secret{piiSCIMToken}
	cfg.BigCommerce.Token = piiBCToken
	cfg.Mapping.Groups = map[string]string{piiGardeners: "abc123", piiGhosts: "zzz999"}
	cfg.Log.Level = "debug"
	require.NoError(t, cfg.Validate())

	var logs apptest.Buffer
	log, err := app.NewLogger(cfg.Log, &logs)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the bridge's log:\n%s", logs.String())
		}
	})
	b := apptest.Start(t, cfg, apptest.Options{App: app.Options{Version: version}, Logger: log})
	a, stop := b.App, b.Stop
	base := b.SCIMURL
	tel := b.TelemetryURL
	client := &http.Client{Timeout: 10 * time.Second}

	// send makes a SCIM request and returns the status and the raw body.
	send := func(method, path, token, body string) (int, string) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, r)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(raw)
	}
	must := func(method, path, body string, status int) map[string]any {
		t.Helper()
		got, raw := send(method, path, piiSCIMToken, body)
		require.Equal(t, status, got, "%s %s: %s", method, path, raw)
		var out map[string]any
		if raw != "" {
			require.NoError(t, json.Unmarshal([]byte(raw), &out))
		}
		return out
	}
	converge := func(what string, cond func(bc map[string][]string) bool) {
		t.Helper()
		require.Eventually(t, func() bool { return cond(apptest.BCState(sim)) }, 30*time.Second, 50*time.Millisecond, "%s; BigCommerce: %v", what, apptest.BCState(sim))
	}

	// Create: Alice and Bob active, Carol active, Dora inactive.
	alice := must(http.MethodPost, "/Users", piiAlice.json(true), 201)["id"].(string)
	bob := must(http.MethodPost, "/Users", piiBob.json(true), 201)["id"].(string)
	carol := must(http.MethodPost, "/Users", piiCarol.json(true), 201)["id"].(string)
	dora := must(http.MethodPost, "/Users", piiDora.json(false), 201)["id"].(string)

	// Groups: a mapped one (members added by PATCH), an unmapped one, and one
	// mapped to a store BigCommerce does not have.
	gardeners := must(http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q,"externalId":"ext-grp-gardeners-5e5e"}`, piiGardeners), 201)["id"].(string)
	must(http.MethodPatch, "/Groups/"+gardeners, apptest.AddMembersJSON(alice, bob, dora), 204)
	society := must(http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q,"members":[{"value":%q}]}`, piiSociety, carol), 201)["id"].(string)
	must(http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q,"members":[{"value":%q}]}`, piiGhosts, carol), 201)
	converge("Alice and Bob reach the store", func(bc map[string][]string) bool {
		_, carolIn := bc[piiCarol.userName]
		return apptest.SameSet(bc[piiAlice.userName], []string{"abc123"}) && apptest.SameSet(bc[piiBob.userName], []string{"abc123"}) && carolIn
	})

	// Reads with filters holding emails, a projection, a PUT, PATCHes.
	must(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq %q`, piiAlice.userName)), "", 200)
	must(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`emails[value eq %q] or name.familyName sw "Qwer"`, piiBob.homeEmail))+"&attributes=userName,emails", "", 200)
	must(http.MethodGet, "/Groups?filter="+url.QueryEscape(fmt.Sprintf(`displayName eq %q`, piiSociety))+"&excludedAttributes=members", "", 200)
	must(http.MethodGet, "/Users/"+alice, "", 200)
	must(http.MethodPatch, "/Users/"+alice, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","path":"name.givenName","value":"Alicewonderful"},{"op":"replace","path":"title","value":%q}]}`, apptest.PatchOp, piiAlice.title), 200)
	must(http.MethodPut, "/Users/"+bob, piiBob.json(true), 200)
	must(http.MethodPatch, "/Groups/"+society, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"displayName":%q}}]}`, apptest.PatchOp, piiRenamed), 204)

	// Failures: a wrong token with a body full of personal data, invalid
	// bodies and filters that carry emails, a conflict, a missing resource.
	status, _ := send(http.MethodPost, "/Users", piiWrongToken, piiAlice.json(true))
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = send(http.MethodPost, "/Users", piiSCIMToken, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"active":"maybe","emails":%q}`, piiDora.userName, piiDora.homeEmail))
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = send(http.MethodPost, "/Users", piiSCIMToken, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"value":%q}],"name":{"givenName":%q}`, piiDora.userName, piiDora.homeEmail, piiDora.given))
	require.Equal(t, http.StatusBadRequest, status, "truncated JSON")
	status, _ = send(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq %q and (`, piiCarol.userName)), piiSCIMToken, "")
	require.Equal(t, http.StatusBadRequest, status, "an unparsable filter holding an email")
	status, _ = send(http.MethodGet, "/Users?filter="+url.QueryEscape(fmt.Sprintf(`nosuchattr eq %q`, piiCarol.homeEmail)), piiSCIMToken, "")
	require.Equal(t, http.StatusBadRequest, status, "a filter on an unknown attribute")
	status, _ = send(http.MethodPatch, "/Users/"+bob, piiSCIMToken, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","path":"emails[value eq %q].nope","value":%q}]}`, apptest.PatchOp, piiBob.homeEmail, piiBob.userName))
	require.Equal(t, http.StatusBadRequest, status, "a bad PATCH path holding an email")
	status, _ = send(http.MethodPost, "/Users", piiSCIMToken, piiBob.json(true))
	require.Equal(t, http.StatusConflict, status)
	status, _ = send(http.MethodPatch, "/Users/"+carol, piiSCIMToken, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","path":"userName","value":%q}]}`, apptest.PatchOp, piiBob.userName))
	require.Equal(t, http.StatusConflict, status, "taking another user's userName")
	status, _ = send(http.MethodGet, "/Users/"+url.PathEscape(piiAlice.userName), piiSCIMToken, "")
	require.Equal(t, http.StatusNotFound, status, "an email where an id belongs")

	// Deliveries that fail: two 503s while Bob is deactivated.
	sim.FailNext(2, http.StatusServiceUnavailable)
	must(http.MethodPatch, "/Users/"+bob, apptest.ActiveJSON(false), 200)
	converge("Bob removed despite the 503s", func(bc map[string][]string) bool { _, in := bc[piiBob.userName]; return !in })
	// Carol's store grant to the missing store ends in the dead letters.
	require.Eventually(t, func() bool {
		n, err := a.CountIntents(t.Context(), store.IntentDead)
		return err == nil && n > 0
	}, 30*time.Second, 50*time.Millisecond, "a dead-lettered operation")

	// A reconciliation run (the simulator's seed users are unmanaged).
	_, err = a.Runner().RunOnce(t.Context(), false)
	require.NoError(t, err)
	_, err = a.Runner().RunOnce(t.Context(), true)
	require.NoError(t, err)

	// A 429 storm while Alice is deleted (after the reconciliation, whose
	// reads would otherwise wait for the budget to refill).
	sim.SetRateLimit(1, time.Second)
	stopHog := hogWith(t, simURL, piiBCToken)
	must(http.MethodDelete, "/Users/"+alice, "", 204)
	time.Sleep(1500 * time.Millisecond)
	stopHog()
	sim.SetRateLimit(1000, time.Minute)
	converge("Alice removed after the 429s", func(bc map[string][]string) bool { _, in := bc[piiAlice.userName]; return !in })
	require.Positive(t, sim.Stats().RateLimited, "the bridge met a 429")

	// Everything an operator can see.
	var seen []string
	for _, path := range []string{"/status", "/metrics", "/readyz", "/healthz"} {
		res, err := client.Get(tel + path)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		seen = append(seen, path+"\n"+string(raw))
	}
	require.NoError(t, a.Store.View(t.Context(), func(tx store.Tx) error {
		intents, err := tx.ListIntents(t.Context(), store.IntentFilter{})
		for _, in := range intents {
			seen = append(seen, "intent last error: "+in.LastError)
		}
		return err
	}))
	audit := auditDetails(t, a.Store)
	require.NotEmpty(t, audit)
	seen = append(seen, audit...)
	status, body := send(http.MethodGet, "/Users/"+carol, piiSCIMToken, "")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "syncState", "the sync extension is served")
	seen = append(seen, "sync lastError: "+syncLastError(body))

	stop() // flushes shutdown logs too
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Greater(t, len(lines), 50, "the debug log recorded the traffic")
	for _, want := range []string{`"msg":"scim request"`, `"msg":"downstream request"`, `"msg":"intent dead-lettered"`, `"status":401`, `"status":400`} {
		require.Contains(t, logs.String(), want, "the log covers this path")
	}

	secrets := []string{piiSCIMToken, piiBCToken, piiWrongToken, "Pii-Password-9d8c7b6a!", "pii-emp-4711", "Pii Department Of Secrets",
		piiGardeners, piiGhosts, piiSociety, piiRenamed, "ext-grp-gardeners-5e5e", "Alicewonderful"}
	for _, u := range []piiUser{piiAlice, piiBob, piiCarol, piiDora} {
		secrets = append(secrets, u.values()...)
	}
	// Local parts and bare names also count: a log that says "pii.alicewonder"
	// has leaked the email.
	for _, u := range []piiUser{piiAlice, piiBob, piiCarol, piiDora} {
		local, _, _ := strings.Cut(u.userName, "@")
		secrets = append(secrets, local, url.QueryEscape(u.userName))
	}
	check := func(where, text string) {
		t.Helper()
		low := strings.ToLower(text)
		for _, s := range secrets {
			require.NotContains(t, low, strings.ToLower(s), "%s leaks %q:\n%s", where, s, text)
		}
		require.NotContains(t, text, app.ExcludedValue, "%s: a field named like personal data was logged (fix it at its source, not in the excluding core):\n%s", where, text)
	}
	for i, line := range lines {
		check(fmt.Sprintf("log line %d", i+1), line)
	}
	for _, s := range seen {
		check("operator output", s)
	}
}

// auditDetails renders every audit event of st.
func auditDetails(t *testing.T, st store.Store) []string {
	t.Helper()
	var out []string
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		events, err := tx.ListAudit(t.Context(), 10000)
		for _, e := range events {
			out = append(out, fmt.Sprintf("audit: %+v", e))
		}
		return err
	}))
	return out
}

// syncLastError returns the lastError of a user's sync extension.
func syncLastError(body string) string {
	var u map[string]any
	if json.Unmarshal([]byte(body), &u) != nil {
		return ""
	}
	ext, _ := u["urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User"].(map[string]any)
	s, _ := ext["lastError"].(string)
	return s
}
