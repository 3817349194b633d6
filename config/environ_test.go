package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestUnknownVariablesAreProblems(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"SCIM_BRIDGE_BC_APIURL", "SCIM_BRIDGE_BC_APIURL: unknown variable; did you mean SCIM_BRIDGE_BC_API_URL?"},
		{"SCIM_BRIDGE_BC_ACOUNT_UUID", "did you mean SCIM_BRIDGE_BC_ACCOUNT_UUID?"},
		{"SCIM_BRIDGE_BIGCOMMERCE_TOKEN", "did you mean SCIM_BRIDGE_BC_TOKEN?"},
		{"SCIM_BRIDGE_SCIM_REQUESTS_PER_SECOND", "did you mean SCIM_BRIDGE_SCIM_RATE_LIMIT?"},
		{"SCIM_BRIDGE_API_URL", "did you mean SCIM_BRIDGE_BC_API_URL?"},
		{"scim_bridge_log_level", "did you mean SCIM_BRIDGE_LOG_LEVEL?"},
		{"SCIM_BRIDGE_CONFIG_FILE", "did you mean SCIM_BRIDGE_CONFIG?"},
		{"SCIM_BRIDGE_DELIVERY_RESERVE", "delivery.reserve has no environment variable; set it in the configuration file"},
		{"SCIM_BRIDGE_MAPPING_GROUPS", "mapping.groups has no environment variable"},
		{"SCIM_BRIDGE_WIBBLE", `unknown variable: the bridge reads only the SCIM_BRIDGE_* variables "scim-bridge serve -h" lists`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadEnviron("", []string{tc.name + "=http://secret-value.example", "SCIM_BRIDGE_LISTEN=:9000"})
			require.ErrorIs(t, err, ErrPartial, "the rest of the environment still applies")
			require.Equal(t, ":9000", c.Listen)
			got := lines(err)
			require.Len(t, got, 1, "%q", got)
			require.True(t, strings.HasPrefix(got[0], tc.name+": unknown variable"), got[0])
			require.Contains(t, got[0], tc.want)
			require.NotContains(t, got[0], "secret-value", "values are never shown")
		})
	}
}

func TestIgnoredVariables(t *testing.T) {
	environ := []string{
		// The test suite's own variables.
		"SCIM_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1/test", "SCIM_BRIDGE_TEST_CHILD=serve",
		"SCIM_BRIDGE_TEST_CONFIG=/tmp/x.yaml", "SCIM_BRIDGE_TEST_BC_TOKEN=x",
		// Kubernetes service links of Services "scim-bridge" and "scim-bridge-telemetry".
		"SCIM_BRIDGE_SERVICE_HOST=10.0.0.1", "SCIM_BRIDGE_SERVICE_PORT=8080", "SCIM_BRIDGE_SERVICE_PORT_SCIM=8080",
		"SCIM_BRIDGE_PORT=tcp://10.0.0.1:8080", "SCIM_BRIDGE_PORT_8080_TCP=tcp://10.0.0.1:8080",
		"SCIM_BRIDGE_PORT_8080_TCP_PROTO=tcp", "SCIM_BRIDGE_PORT_8080_TCP_PORT=8080", "SCIM_BRIDGE_PORT_8080_TCP_ADDR=10.0.0.1",
		"SCIM_BRIDGE_TELEMETRY_SERVICE_HOST=10.0.0.2", "SCIM_BRIDGE_TELEMETRY_PORT=tcp://10.0.0.2:9464",
		"SCIM_BRIDGE_TELEMETRY_PORT_9464_TCP_ADDR=10.0.0.2",
		// Not ours at all.
		"PATH=/usr/bin", "SCIM_BRIDGEX=1",
	}
	require.Empty(t, CheckEnvironment(environ))
	// SCIM_BRIDGE_PORT with a value Kubernetes would not write is an operator's setting.
	errs := CheckEnvironment([]string{"SCIM_BRIDGE_PORT=8080"})
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Error(), "SCIM_BRIDGE_PORT: unknown variable")
	// No variable the bridge reads looks like one that is ignored.
	for _, e := range Environment() {
		require.False(t, ignoredVariable(e.Name, "tcp://x"), e.Name)
		require.Empty(t, CheckEnvironment([]string{e.Name + "=x"}), e.Name)
	}
	require.Empty(t, CheckEnvironment([]string{EnvConfigFile + "=x"}))
}

func TestConfigFileFromTheEnvironment(t *testing.T) {
	c, err := LoadEnviron("", []string{EnvConfigFile + "=testdata/valid.yaml"})
	require.NoError(t, err)
	require.Equal(t, "sqlite:/tmp/bridge.db", c.Database.Value())
	c, err = LoadEnviron("testdata/conf.good.yaml", []string{EnvConfigFile + "=testdata/valid.yaml"})
	require.NoError(t, err)
	require.Equal(t, "sqlite:/var/lib/scim-bridge/bridge.db", c.Database.Value(), "--config wins")
}

// TestProblemsNameTheirSource: a problem starts with the variable or flag that
// set the value, or with the YAML key (and ends with the line) when the file did.
func TestProblemsNameTheirSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("listen: nope\nbigcommerce:\n  rate_limit: 70 an hour\n"), 0o600))

	check := func(t *testing.T, c Config, err error, want ...string) {
		t.Helper()
		if err == nil || errors.Is(err, ErrPartial) {
			err = errors.Join(err, c.Resolve(), c.Validate())
		}
		got := strings.Join(lines(err), "\n")
		for _, w := range want {
			require.Contains(t, got, w)
		}
	}
	t.Run("file", func(t *testing.T) {
		c, err := Load(path, nil)
		check(t, c, err, `listen: want HOST:PORT or :PORT, got "nope" (line 1 of `+path+")",
			"bigcommerce.rate_limit: want N/DURATION such as 70/1h", "(line 3 of "+path+")")
	})
	t.Run("environment", func(t *testing.T) {
		c, err := Load(path, env(map[string]string{"SCIM_BRIDGE_BC_RATE_LIMIT": "abc", "SCIM_BRIDGE_LISTEN": "also-nope"}))
		check(t, c, err, `SCIM_BRIDGE_BC_RATE_LIMIT: want N/DURATION such as 70/1h, got "abc"`,
			`SCIM_BRIDGE_LISTEN: want HOST:PORT or :PORT, got "also-nope"`)
		require.NoError(t, err)
		require.NotContains(t, c.Validate().Error(), "bigcommerce.rate_limit:")
	})
	t.Run("flag", func(t *testing.T) {
		c, err := Load(path, nil)
		require.NoError(t, err)
		require.NoError(t, c.Set("listen", "flag-nope", "--listen"))
		require.NoError(t, c.Set("database", "mysql://x", "--database"))
		check(t, c, nil, `--listen: want HOST:PORT or :PORT, got "flag-nope"`, `--database: unknown store type "mysql"`)
	})
	t.Run("list items from the environment", func(t *testing.T) {
		c, err := Load("", env(map[string]string{"SCIM_BRIDGE_SCIM_TOKENS": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,short"}))
		require.NoError(t, err)
		check(t, c, nil, "SCIM_BRIDGE_SCIM_TOKENS: a plain token must be at least 16 characters; mint one with \"scim-bridge token\" (item 2 of the list)")
	})
	t.Run("secret files", func(t *testing.T) {
		dir := t.TempDir()
		tokens := filepath.Join(dir, "tokens")
		require.NoError(t, os.WriteFile(tokens, []byte("# rotation\nshort\n"), 0o600))
		bc := filepath.Join(dir, "bc")
		require.NoError(t, os.WriteFile(bc, []byte("bc token with spaces\n"), 0o600))
		c, err := Load("", env(map[string]string{"SCIM_BRIDGE_SCIM_TOKENS_FILE": tokens, "SCIM_BRIDGE_BC_TOKEN_FILE": bc}))
		require.NoError(t, err)
		check(t, c, nil,
			"SCIM_BRIDGE_SCIM_TOKENS_FILE: a plain token must be at least 16 characters; mint one with \"scim-bridge token\" (line 2 of "+tokens+")",
			"SCIM_BRIDGE_BC_TOKEN_FILE: contains whitespace or a control character (a copy-and-paste slip?) (read from "+bc+")")
		require.Equal(t, "the file "+bc+" (named by SCIM_BRIDGE_BC_TOKEN_FILE)", c.Origin("bigcommerce.token").Describe())
	})
	t.Run("describe", func(t *testing.T) {
		c, err := Load(path, env(map[string]string{"SCIM_BRIDGE_BC_TOKEN": "x"}))
		require.NoError(t, err)
		require.Equal(t, "SCIM_BRIDGE_BC_TOKEN", c.Origin("bigcommerce.token").Describe())
		require.Equal(t, "listen in "+path, c.Origin("listen").Describe())
		require.Equal(t, "bigcommerce.api_url (not set: the default)", c.Origin("bigcommerce.api_url").Describe())
	})
}

func TestFullGraphQLURLIsSplit(t *testing.T) {
	const uuid = "00000000-0000-4000-8000-000000000001"
	for _, in := range []string{
		"http://127.0.0.1:8090/accounts/" + uuid + "/graphql",
		"http://127.0.0.1:8090/accounts/" + uuid + "/graphql/",
		"http://127.0.0.1:8090/accounts/" + uuid,
	} {
		c, err := Load("", env(map[string]string{"SCIM_BRIDGE_BC_API_URL": in}))
		require.NoError(t, err, in)
		require.Equal(t, "http://127.0.0.1:8090", c.BigCommerce.APIURL, in)
		require.Equal(t, uuid, c.BigCommerce.AccountUUID, "the UUID comes from the URL")
		require.Equal(t, "SCIM_BRIDGE_BC_API_URL", c.Origin("bigcommerce.account_uuid").Env)
	}
	c, err := Load("", env(map[string]string{
		"SCIM_BRIDGE_BC_API_URL": "https://api.bigcommerce.com/accounts/" + uuid + "/graphql", "SCIM_BRIDGE_BC_ACCOUNT_UUID": uuid,
	}))
	require.NoError(t, err, "the same UUID twice is fine")
	require.Equal(t, "https://api.bigcommerce.com", c.BigCommerce.APIURL)

	_, err = Load("", env(map[string]string{
		"SCIM_BRIDGE_BC_API_URL":      "http://127.0.0.1:8090/accounts/" + uuid + "/graphql",
		"SCIM_BRIDGE_BC_ACCOUNT_UUID": "6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f",
	}))
	require.ErrorIs(t, err, ErrPartial)
	require.EqualError(t, err, "SCIM_BRIDGE_BC_API_URL: is a GraphQL URL for account "+uuid+
		", but the account UUID is 6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f (from SCIM_BRIDGE_BC_ACCOUNT_UUID); give the API base (http://127.0.0.1:8090) and the account UUID once")

	c, err = Load("", env(map[string]string{"SCIM_BRIDGE_BC_API_URL": "https://proxy.example.com/bigcommerce"}))
	require.NoError(t, err)
	require.Equal(t, "https://proxy.example.com/bigcommerce", c.BigCommerce.APIURL, "a base with a path is kept")
}

func TestSCIMRateLimitForms(t *testing.T) {
	for in, want := range map[string]float64{"20": 20, "0.5": 0.5, "0": 0, "1200/1m": 20, "5/1s": 5} {
		c, err := Load("", env(map[string]string{"SCIM_BRIDGE_SCIM_RATE_LIMIT": in}))
		require.NoError(t, err, in)
		require.InDelta(t, want, c.SCIM.RequestsPerSecond, 1e-9, in)
	}
	for _, in := range []string{"fast", "70/soon", "x/1h"} {
		_, err := Load("", env(map[string]string{"SCIM_BRIDGE_SCIM_RATE_LIMIT": in}))
		require.ErrorContains(t, err, "SCIM_BRIDGE_SCIM_RATE_LIMIT: want requests per second per token, a number such as 20 or 0.5 (0 turns the limit off), or N/DURATION such as 1200/1m", in)
	}
}

// warningCases change the good fixture so that exactly one warning applies.
var warningCases = map[string]struct {
	change func(c *Config)
	want   string
}{
	"rate limit per hour":    {func(c *Config) { c.BigCommerce.RateLimit = "100/1h" }, "bigcommerce.rate_limit: 100/1h allows about 100 requests in an hour, above BigCommerce's documented 70/1h"},
	"rate limit per minute":  {func(c *Config) { c.BigCommerce.RateLimit = "70/1m" }, "bigcommerce.rate_limit: 70/1m allows about 4200 requests in an hour"},
	"plain http API":         {func(c *Config) { c.BigCommerce.APIURL = "http://127.0.0.1:8090" }, "bigcommerce.api_url: uses plain http"},
	"public URL not https":   {func(c *Config) { c.SCIM.PublicURL = "http://bridge.example.com/scim/v2" }, "scim.public_url: is not https"},
	"public URL path":        {func(c *Config) { c.SCIM.PublicURL = "https://bridge.example.com/" }, "scim.public_url: does not end in /scim/v2"},
	"plain SCIM token":       {func(c *Config) { c.SCIM.Tokens = append(c.SCIM.Tokens, "plain-token-0123456789") }, "scim.tokens[1]: is a plain token"},
	"SCIM rate below 1/s":    {func(c *Config) { c.SCIM.RequestsPerSecond = 70.0 / 3600 }, "scim.requests_per_second: 0.0194 requests per second per token is very low"},
	"remove without protect": {func(c *Config) { c.Reconcile.Unmanaged = "remove" }, `reconcile.unmanaged: is "remove" and reconcile.protected_emails is empty`},
	"frequent reconcile":     {func(c *Config) { c.Reconcile.Interval = 10 * time.Minute }, "reconcile.interval: 10m is shorter than 1h"},
}

func TestWarnings(t *testing.T) {
	valid := func() Config {
		c, err := Load("testdata/conf.good.yaml", nil)
		require.NoError(t, err)
		require.NoError(t, c.Validate())
		return c
	}
	require.Empty(t, valid().Warnings(), "the good fixture is also unsuspicious")
	for name, tc := range warningCases {
		t.Run(name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			require.NoError(t, c.Validate(), "warnings are about valid configurations")
			got := c.Warnings()
			require.Len(t, got, 1, "%q", got)
			require.True(t, strings.HasPrefix(got[0], tc.want), "%q should start with %q", got[0], tc.want)
		})
	}
	c, err := Load("testdata/conf.good.yaml", env(map[string]string{"SCIM_BRIDGE_BC_RATE_LIMIT": "700/1h"}))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(c.Warnings()[0], "SCIM_BRIDGE_BC_RATE_LIMIT: 700/1h allows"), "warnings name their source too")
}

// TestEveryWarningHasACase reads warn.go and requires every field a warning
// names (warn("path", ...)) to have a case in warningCases.
func TestEveryWarningHasACase(t *testing.T) {
	src, err := os.ReadFile("warn.go")
	require.NoError(t, err)
	rules := regexp.MustCompile(`warn\((?:fmt\.Sprintf\()?"([^"]+)"`).FindAllStringSubmatch(string(src), -1)
	require.Greater(t, len(rules), 6, "the pattern should find the warnings")
	for _, m := range rules {
		field := strings.ReplaceAll(m[1], "[%d]", "[")
		found := false
		for _, c := range warningCases {
			found = found || strings.HasPrefix(c.want, field)
		}
		require.True(t, found, "the warning for %q has no case in warningCases", m[1])
	}
}

func TestKeysAndDefaults(t *testing.T) {
	keys := Keys()
	require.Contains(t, keys, "listen")
	require.Contains(t, keys, "bigcommerce.token_file")
	require.Contains(t, keys, "mapping.groups")
	require.Contains(t, keys, "tls.key_file")
	require.NotContains(t, keys, "bigcommerce", "sections are not settings")
	require.Contains(t, keys, "bigcommerce.timeout", "a duration is a setting, not a section")
	for _, e := range Environment() {
		require.Contains(t, keys, e.Field, "%s sets a key of the schema", e.Name)
	}
	defaults := map[string]string{}
	for _, e := range Environment() {
		defaults[e.Name] = e.Default
	}
	require.Equal(t, "70/1h", defaults["SCIM_BRIDGE_BC_RATE_LIMIT"])
	require.Equal(t, "6h", defaults["SCIM_BRIDGE_RECONCILE_INTERVAL"])
	require.Equal(t, "sqlite:scim-bridge.db", defaults["SCIM_BRIDGE_DATABASE"])
	require.Equal(t, "0", defaults["SCIM_BRIDGE_SCIM_RATE_LIMIT"])
	require.Empty(t, defaults["SCIM_BRIDGE_SCIM_TOKENS"])
	require.Equal(t, "20s", Default().ValueString("delivery.removal_linger"))
	require.Equal(t, "5/10s", RateLimit{N: 5, Window: 10 * time.Second}.String(), "a 10s window keeps its zero")
}

// TestOddFilesDoNotPanic: a file whose top level is not a mapping is a
// problem, not a crash.
func TestOddFilesDoNotPanic(t *testing.T) {
	for _, body := range []string{"- a\n- b\n", "just a string\n", "42\n"} {
		path := filepath.Join(t.TempDir(), "odd.yaml")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		_, err := Load(path, nil)
		require.Error(t, err, body)
	}
}
