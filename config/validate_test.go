package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"
)

// loadFixture loads, resolves and validates a file the way the commands do
// and returns every problem, one per line.
func loadFixture(t *testing.T, path string) []string {
	t.Helper()
	c, err := Load(path, nil)
	if err == nil || errors.Is(err, ErrPartial) {
		err = errors.Join(err, c.Resolve(), c.Validate())
	}
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// problem is one expected problem: the field path it starts with and a
// fragment of its message.
type problem struct{ path, fragment string }

// fixtures maps each testdata/conf.<rule>.yaml to the problems it must yield,
// exactly (alertmanager's config/testdata/conf.*.yml idea): conf.good.yaml is
// valid and every other fixture is it with one mistake.
var fixtures = map[string][]problem{
	"good":                  nil,
	"listen":                {{"listen", "want HOST:PORT"}},
	"listen-port":           {{"listen", "not a number between 0 and 65535"}},
	"telemetry-listen":      {{"telemetry_listen", "is required"}},
	"telemetry-listen-same": {{"telemetry_listen", "must differ from listen"}},
	"unknown-top-level-key": {{"lisen", "unknown key; did you mean listen?"}},
	"syntax":                {{"config file testdata/conf.syntax.yaml", "yaml: line 3"}},

	"database-empty":           {{"database", "is required"}},
	"database-sqlite-path":     {{"database", `"sqlite:" needs a file path`}},
	"database-postgres-url":    {{"database", "is not a valid PostgreSQL URL"}},
	"database-type":            {{"database", `unknown store type "mysql"`}},
	"database-both":            {{"database_file", "set either database or database_file, not both"}},
	"database-file-unreadable": {{"database_file", "cannot read testdata/does-not-exist.txt"}},

	"scim-tokens-missing": {{"scim.tokens", "at least one bearer token is required"}},
	"scim-tokens-type": {
		{"scim.tokens", "want a list, got a string (line 4"},
		{"scim.tokens", "at least one bearer token is required"},
	},
	"scim-token-short":               {{"scim.tokens[0]", "a plain token must be at least 16 characters"}},
	"scim-token-sha256":              {{"scim.tokens[0]", "followed by 64 hexadecimal digits"}},
	"scim-tokens-file-unreadable":    {{"scim.tokens_file", "cannot read testdata/does-not-exist.txt"}},
	"scim-public-url":                {{"scim.public_url", "must be an absolute http(s) URL"}},
	"scim-max-body-bytes":            {{"scim.max_body_bytes", "at least 1024"}},
	"scim-max-results":               {{"scim.max_results", "between 1 and 1000"}},
	"scim-requests-per-second":       {{"scim.requests_per_second", "must not be negative"}},
	"scim-burst":                     {{"scim.burst", "at least 1 when requests_per_second is set"}},
	"scim-allow-cidrs":               {{"scim.allow_cidrs[1]", `"10.0.0.0/33" is not a CIDR`}},
	"scim-trust-proxy-cidrs":         {{"scim.trust_proxy_cidrs[0]", `"proxy.internal" is not a CIDR`}},
	"scim-trust-proxy-without-allow": {{"scim.trust_proxy_cidrs", "has no effect without scim.allow_cidrs"}},
	"scim-unknown-key":               {{"scim.max_result", "unknown key; did you mean max_results? (line 5"}},

	"bigcommerce-api-url": {{"bigcommerce.api_url", "absolute http(s) URL"}},
	"bigcommerce-api-url-account": {{"bigcommerce.api_url",
		"is a GraphQL URL for account 00000000-0000-4000-8000-000000000001, but the account UUID is 6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f (from bigcommerce.account_uuid in testdata/conf.bigcommerce-api-url-account.yaml); give the API base (http://127.0.0.1:8090)"}},
	"bigcommerce-account-uuid-missing":  {{"bigcommerce.account_uuid", "is required"}},
	"bigcommerce-account-uuid":          {{"bigcommerce.account_uuid", "must be a UUID"}},
	"bigcommerce-token-missing":         {{"bigcommerce.token", "is required"}},
	"bigcommerce-token-both":            {{"bigcommerce.token_file", "set either token or token_file, not both"}},
	"bigcommerce-token-file-unreadable": {{"bigcommerce.token_file", "cannot read testdata/does-not-exist.txt"}},
	"bigcommerce-token-whitespace":      {{"bigcommerce.token", "contains whitespace or a control character"}},
	"bigcommerce-rate-limit":            {{"bigcommerce.rate_limit", "want N/DURATION"}},
	"bigcommerce-max-batch":             {{"bigcommerce.max_batch", "between 1 and 90"}},
	"bigcommerce-page-size":             {{"bigcommerce.page_size", "between 1 and 1000"}},
	"bigcommerce-timeout":               {{"bigcommerce.timeout", "at least 1s"}},
	"bigcommerce-timeout-type":          {{"bigcommerce.timeout", "want a duration such as 30s, 15m or 6h, got a whole number (line 8"}},

	"mapping-email-source": {{"mapping.email_source", `must be "auto", "userName" or "primaryEmail"`}},
	"mapping-groups-empty": {{"mapping.groups", "entries need a group name and a store hash"}},
	"mapping-groups-hash":  {{"mapping.groups", `store hash "abc 123" must be letters and digits`}},
	"mapping-groups-case":  {{"mapping.groups", "differ only in letter case"}},

	"delivery-reserve":         {{"delivery.reserve", "below 1"}},
	"delivery-removal-linger":  {{"delivery.removal_linger", "between 0 and 1m"}},
	"delivery-addition-linger": {{"delivery.addition_linger", "must not be negative"}},
	"delivery-max-attempts":    {{"delivery.max_attempts", "at least 1"}},
	"delivery-retry-backoff":   {{"delivery.retry_backoff", "between 10ms and 10m"}},
	"delivery-lease-ttl":       {{"delivery.lease_ttl", "at least 2s"}},

	"reconcile-interval":         {{"reconcile.interval", "0 (off) or at least 1m"}},
	"retention-history":          {{"retention.history", "must be at least 24h"}},
	"delivery-deprovision-slo":   {{"delivery.deprovision_slo", "must be between 1s and 720h"}},
	"reconcile-unmanaged":        {{"reconcile.unmanaged", `must be "report" or "remove"`}},
	"reconcile-max-removals":     {{"reconcile.max_removals", "must not be negative"}},
	"reconcile-protected-emails": {{"reconcile.protected_emails[1]", "is not an email address"}},

	"retention-intents": {{"retention.intents", "at least 1h"}},
	"retention-audit":   {{"retention.audit", "at least 1h"}},

	"log-format":       {{"log.format", `must be "json" or "console"`}},
	"log-level":        {{"log.level", `must be "debug", "info", "warn" or "error"`}},
	"log-exclude-keys": {{"log.exclude_keys[1]", "must not be empty"}},

	"tls-pair": {{"tls", "cert_file and key_file must be set together"}},
	"tls-unreadable": {
		{"tls.cert_file", "cannot read testdata/does-not-exist.crt"},
		{"tls.key_file", "cannot read testdata/does-not-exist.key"},
	},
}

func TestValidationFixtures(t *testing.T) {
	for rule, want := range fixtures {
		t.Run(rule, func(t *testing.T) {
			got := loadFixture(t, filepath.Join("testdata", "conf."+rule+".yaml"))
			require.Len(t, got, len(want), "problems: %q", got)
			for i, w := range want {
				require.True(t, strings.HasPrefix(got[i], w.path+": "), "problem %d should start with the field path %q: %q", i, w.path, got[i])
				require.Contains(t, got[i], w.fragment)
			}
		})
	}
}

// TestEveryFixtureIsInTheTable keeps testdata and the table in step: a fixture
// nobody checks is a rule nobody tests.
func TestEveryFixtureIsInTheTable(t *testing.T) {
	files, err := filepath.Glob("testdata/conf.*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rule := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "conf."), ".yaml")
		require.Contains(t, fixtures, rule, "%s has no entry in the fixtures table", f)
	}
	for rule := range fixtures {
		require.FileExists(t, filepath.Join("testdata", "conf."+rule+".yaml"))
	}
}

// TestEveryRuleHasAFixture reads validate.go and requires every field path a
// rule reports (bad("path", ...)) to be the path of some fixture's problem, so a
// new rule cannot land without its fixture.
func TestEveryRuleHasAFixture(t *testing.T) {
	src, err := os.ReadFile("validate.go")
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, ps := range fixtures {
		for _, p := range ps {
			covered[regexp.MustCompile(`\[\d+\]`).ReplaceAllString(p.path, "[%d]")] = true
		}
	}
	rules := regexp.MustCompile(`bad\((?:fmt\.Sprintf\()?"([^"]+)"`).FindAllStringSubmatch(string(src), -1)
	require.Greater(t, len(rules), 30, "the pattern should find the rules")
	for _, m := range rules {
		require.True(t, covered[m[1]], "the rule for %q has no conf.*.yaml fixture", m[1])
	}
	for _, field := range []string{"database_file", "scim.tokens_file", "bigcommerce.token_file", "tls.cert_file", "tls.key_file"} {
		require.True(t, covered[field], "Resolve's problem for %q has no fixture", field)
	}
}

func TestDecodeErrorsNeverEchoValues(t *testing.T) {
	got := strings.Join(loadFixture(t, "testdata/conf.scim-tokens-type.yaml"), "\n")
	require.NotContains(t, got, "plain-token-written-as-a-string-0123")
	got = strings.Join(loadFixture(t, "testdata/conf.database-type.yaml"), "\n")
	require.NotContains(t, got, "hunter2")
}

func TestEnvironmentProblemsAreListedWithFileProblems(t *testing.T) {
	c, err := Load("testdata/conf.scim-unknown-key.yaml", env(map[string]string{"SCIM_BRIDGE_BC_MAX_BATCH": "many"}))
	require.ErrorIs(t, err, ErrPartial)
	require.ErrorContains(t, err, "scim.max_result: unknown key")
	require.ErrorContains(t, err, "SCIM_BRIDGE_BC_MAX_BATCH: want a whole number")
	require.Equal(t, "6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f", c.BigCommerce.AccountUUID, "the rest of the file still applies")

	_, err = Load("testdata/conf.syntax.yaml", nil)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrPartial, "a syntax error leaves nothing to validate")
	_, err = Load("testdata/does-not-exist.yaml", nil)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrPartial)
}

func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":          "10.0.0.0/8",
		"10.1.2.3/8":          "10.0.0.0/8",
		"192.0.2.7":           "192.0.2.7/32",
		"2001:db8::/32":       "2001:db8::/32",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		" 172.16.0.0/12 ":     "172.16.0.0/12",
	} {
		p, err := ParseCIDR(in)
		require.NoError(t, err, in)
		require.Equal(t, want, p.String(), in)
	}
	for _, in := range []string{"", "10.0.0.0/33", "proxy.internal", "10.0.0/8"} {
		_, err := ParseCIDR(in)
		require.Error(t, err, in)
	}
}

// TestHideConfigSecrets renders a loaded configuration every way it could be
// printed or logged and checks that no secret value appears (alertmanager's
// TestHideConfigSecrets).
func TestHideConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	bcFile := filepath.Join(dir, "bc-token")
	require.NoError(t, os.WriteFile(bcFile, []byte("bc-token-from-file-0123456789\n"), 0o600))
	tokensFile := filepath.Join(dir, "scim-tokens")
	require.NoError(t, os.WriteFile(tokensFile, []byte("# rotation\nscim-token-from-file-0123456789\n"), 0o600))
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
database: "postgres://bridge:db-password-0123456789@db.internal/bridge"
scim:
  tokens: ["scim-token-inline-0123456789"]
  tokens_file: "`+tokensFile+`"
bigcommerce:
  account_uuid: "6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f"
  token_file: "`+bcFile+`"
`), 0o600))
	c, err := Load(path, env(map[string]string{"SCIM_BRIDGE_SCIM_TOKENS": "scim-token-from-env-0123456789,scim-token-inline-0123456789"}))
	require.NoError(t, err)
	require.NoError(t, c.Resolve())
	require.NoError(t, c.Validate())
	secrets := []string{"db-password-0123456789", "scim-token-from-file-0123456789", "scim-token-from-env-0123456789",
		"scim-token-inline-0123456789", "bc-token-from-file-0123456789"}
	require.Equal(t, "bc-token-from-file-0123456789", c.BigCommerce.Token.Value(), "the file form was read")
	require.Len(t, c.SCIM.Tokens, 3, "environment tokens plus the file's")

	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	j, err := json.Marshal(c)
	require.NoError(t, err)
	var logged bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&logged), zap.DebugLevel))
	log.Info("config", zap.Any("any", c), zap.Reflect("reflect", c), zap.Any("token", c.BigCommerce.Token),
		zap.Stringer("stringer", c.BigCommerce.Token), zap.Any("tokens", c.SCIM.Tokens), zap.Any("database", c.Database))
	renders := map[string]string{
		"yaml": string(y), "json": string(j), "zap": logged.String(),
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		//lint:ignore S1025 what %s prints is the point of the test
		"%s": fmt.Sprintf("%s", c.Database),
		"%q": fmt.Sprintf("%q", c.SCIM.Tokens), "%v tokens": fmt.Sprintf("%v", c.SCIM.Tokens), "%#v tokens": fmt.Sprintf("%#v", c.SCIM.Tokens),
	}
	for name, out := range renders {
		for _, s := range secrets {
			require.NotContains(t, out, s, "%s rendering leaks a secret", name)
		}
		require.Contains(t, out, "secret", "%s rendering shows that a secret is set", name)
	}
	require.True(t, slices.ContainsFunc(c.SCIM.Tokens, func(s Secret) bool { return s.Value() == "scim-token-from-file-0123456789" }))
}
