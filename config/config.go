// Package config defines scim-bridge's configuration: the YAML file schema, its
// defaults (in one place, Default), the SCIM_BRIDGE_* environment overlay,
// validation that reports every problem at once, and the Secret type that never
// prints its value. It imports no other package of the project.
//
// Precedence: defaults < YAML file < environment variables < command-line flags
// (flags are applied by the command through Set). Every value remembers where
// it came from (Origin), so that a problem names the variable, the flag or the
// file line the operator has to change.
//
// Environment: every SCIM_BRIDGE_* variable must be one the bridge reads
// (Environment, plus SCIM_BRIDGE_CONFIG); an unknown one is an error that
// suggests the nearest known name, as an unknown YAML key is. Two families are
// left alone: SCIM_BRIDGE_TEST_* is reserved for the project's test suite, and
// the variables Kubernetes injects for a Service whose name starts with
// "scim-bridge" (SCIM_BRIDGE_SERVICE_HOST, SCIM_BRIDGE_PORT=tcp://...,
// SCIM_BRIDGE_TELEMETRY_PORT_9464_TCP_ADDR and the like).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of "scim-bridge serve".
type Config struct {
	// Listen is the SCIM listener address (SCIM under /scim/v2).
	Listen string `yaml:"listen"`
	// TelemetryListen serves /metrics, /healthz, /readyz and /status.
	TelemetryListen string `yaml:"telemetry_listen"`
	// Database selects the store: "sqlite:PATH" or "postgres://...".
	Database Secret `yaml:"database"`
	// DatabaseFile reads Database from a file (for DSNs with passwords).
	DatabaseFile string `yaml:"database_file"`

	SCIM        SCIM        `yaml:"scim"`
	BigCommerce BigCommerce `yaml:"bigcommerce"`
	Mapping     Mapping     `yaml:"mapping"`
	Delivery    Delivery    `yaml:"delivery"`
	Reconcile   Reconcile   `yaml:"reconcile"`
	Retention   Retention   `yaml:"retention"`
	Log         Log         `yaml:"log"`
	TLS         TLS         `yaml:"tls"`

	// origins maps YAML paths to where their values came from (see Origin).
	origins map[string]Origin
}

// SCIM configures the IdP-facing server.
type SCIM struct {
	// Tokens are the accepted bearer tokens, each plain or "sha256:<hex>".
	Tokens []Secret `yaml:"tokens"`
	// TokensFile reads more tokens from a file, one per line ('#' comments).
	TokensFile string `yaml:"tokens_file"`
	// PublicURL is the externally visible SCIM base URL (for Location headers);
	// derived from each request when empty.
	PublicURL string `yaml:"public_url"`
	// MaxBodyBytes limits request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxResults caps list pages.
	MaxResults int `yaml:"max_results"`
	// RequestsPerSecond limits each token's request rate (0 = unlimited); Burst is
	// the bucket size.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
	// AllowCIDRs, when non-empty, restricts SCIM clients to these networks
	// (others get 403). The client is the TCP peer unless TrustProxyCIDRs says
	// otherwise.
	AllowCIDRs []string `yaml:"allow_cidrs"`
	// TrustProxyCIDRs lists the networks of reverse proxies or load balancers
	// whose X-Forwarded-For header is believed when checking AllowCIDRs. Empty
	// (the default) means X-Forwarded-For is ignored and the TCP peer address is
	// the client.
	TrustProxyCIDRs []string `yaml:"trust_proxy_cidrs"`
}

// BigCommerce configures the downstream API.
type BigCommerce struct {
	APIURL      string `yaml:"api_url"`
	AccountUUID string `yaml:"account_uuid"`
	Token       Secret `yaml:"token"`
	TokenFile   string `yaml:"token_file"`
	// RateLimit is the account's request budget, "N/DURATION" (e.g. "70/1h").
	RateLimit string `yaml:"rate_limit"`
	// MaxBatch is the most mutations packed into one request.
	MaxBatch int `yaml:"max_batch"`
	// PageSize is the page size asked for when listing.
	PageSize int `yaml:"page_size"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
}

// Mapping configures how SCIM users and groups map to BigCommerce.
type Mapping struct {
	// EmailSource is "auto", "userName" or "primaryEmail".
	EmailSource string `yaml:"email_source"`
	// Groups maps group display names to store hashes explicitly.
	Groups map[string]string `yaml:"groups"`
	// MatchStoreNames maps a group named like a store (name or hash) to it.
	MatchStoreNames bool `yaml:"match_store_names"`
}

// Delivery tunes the delivery engine.
type Delivery struct {
	// Reserve is the share of the request budget kept for removals (0..1).
	Reserve float64 `yaml:"reserve"`
	// RemovalLinger is the longest a removal waits to share a request with others.
	RemovalLinger time.Duration `yaml:"removal_linger"`
	// AdditionLinger is the longest an addition waits for a fuller batch.
	AdditionLinger time.Duration `yaml:"addition_linger"`
	// MaxAttempts moves an intent to the dead letters after that many failures.
	MaxAttempts int `yaml:"max_attempts"`
	// RetryBackoff is the first retry delay after a transient failure (then
	// doubling up to 30m, with jitter).
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// LeaseTTL is how long a leader's lease lasts without renewal.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// DeprovisionSLO is how soon after the IdP's request a removal should be
	// confirmed by BigCommerce; later ones count as breaches.
	DeprovisionSLO time.Duration `yaml:"deprovision_slo"`
}

// Reconcile configures reconciliation runs.
type Reconcile struct {
	// Interval between scheduled runs inside serve; 0 disables them.
	Interval time.Duration `yaml:"interval"`
	// Unmanaged says what to do with BigCommerce users the IdP does not know:
	// "report" or "remove".
	Unmanaged string `yaml:"unmanaged"`
	// ProtectedEmails are never removed by the bridge.
	ProtectedEmails []string `yaml:"protected_emails"`
	// MaxRemovals caps removals per run; above it the run applies nothing.
	MaxRemovals int `yaml:"max_removals"`
}

// Retention says how long the bridge keeps what it no longer needs to work:
// the settled outbox, the audit trail and the access history. The leader
// deletes older rows in small batches.
type Retention struct {
	// Intents is how long a settled intent (done, superseded, or a dead letter
	// nobody retried) stays after it settled.
	Intents time.Duration `yaml:"intents"`
	// Audit is how long an audit event stays.
	Audit time.Duration `yaml:"audit"`
	// History is how long access-history entries are kept; older ones are
	// pruned unless they still say who has access now.
	History time.Duration `yaml:"history"`
}

// DefaultHistoryRetention is seven years (of 365 days), the longest record
// keeping the common audit regimes ask for.
const DefaultHistoryRetention = 7 * 365 * 24 * time.Hour

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // json | console
	Level  string `yaml:"level"`  // debug | info | warn | error
	// ExcludeKeys adds log field names whose values are replaced by
	// "[excluded]", on top of the built-in list of names that hold personal
	// data or credentials (email, user_name, filter, body, token, ...). It is a
	// safety net: the bridge never logs such fields on purpose.
	ExcludeKeys []string `yaml:"exclude_keys"`
}

// TLS enables HTTPS on the SCIM listener.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Default returns the configuration every other source overrides.
func Default() Config {
	return Config{
		Listen:          ":8080",
		TelemetryListen: ":9464",
		Database:        Secret("sqlite:scim-bridge.db"),
		SCIM:            SCIM{MaxBodyBytes: 1 << 20, MaxResults: 200, Burst: 50},
		BigCommerce: BigCommerce{
			APIURL: "https://api.bigcommerce.com", RateLimit: "70/1h", MaxBatch: 50, PageSize: 100,
			Timeout: 30 * time.Second,
		},
		Mapping:  Mapping{EmailSource: "auto", MatchStoreNames: true},
		Delivery: Delivery{Reserve: 0.15, RemovalLinger: 20 * time.Second, AdditionLinger: 2 * time.Minute, MaxAttempts: 8, RetryBackoff: 10 * time.Second, LeaseTTL: 15 * time.Second, DeprovisionSLO: 15 * time.Minute},
		Reconcile: Reconcile{
			Interval: 6 * time.Hour, Unmanaged: "report", MaxRemovals: 10,
		},
		Retention: Retention{Intents: 30 * 24 * time.Hour, Audit: 400 * 24 * time.Hour, History: DefaultHistoryRetention},
		Log:       Log{Format: "json", Level: "info"},
	}
}

// ErrPartial is matched (errors.Is) by a Load error after which the returned
// configuration holds everything except the keys and variables the error names
// (unknown keys, values of the wrong type, unparsable environment values), so
// validating it as well lists every remaining problem at once. A Load error
// that does not match it (an unreadable file, a YAML syntax error) leaves the
// configuration unusable.
var ErrPartial = errors.New("configuration partly loaded")

// partialError is a list of problems found while loading; it matches ErrPartial.
type partialError struct{ errs []error }

func (e *partialError) Error() string   { return errors.Join(e.errs...).Error() }
func (e *partialError) Unwrap() []error { return e.errs }
func (e *partialError) Is(target error) bool {
	return target == ErrPartial
}

// Load builds the configuration from the defaults, the YAML file at path (none
// when path is ""), and the environment (getenv, usually os.Getenv). It decodes
// strictly: unknown keys are errors. Each problem names its field path (YAML
// keys) or environment variable first and never echoes the offending value, which
// may be a secret. It does not validate; call Resolve and Validate.
//
// A BigCommerce API URL given as the full GraphQL endpoint
// (".../accounts/UUID/graphql") is split into the API base and the account
// UUID; a UUID there that contradicts bigcommerce.account_uuid is a problem.
//
// Load cannot see variables it does not know; LoadEnviron also reports
// unknown SCIM_BRIDGE_* variables.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config file: %w", err)
		}
		problems, err := decodeYAML(raw, &c, path)
		if err != nil {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
		errs = append(errs, problems...)
	}
	errs = append(errs, c.applyEnv(getenv)...)
	if err := c.splitAPIURL(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, &partialError{errs: errs}
	}
	return c, nil
}

// EnvConfigFile names the configuration file when a command is given no
// --config flag. It lets commands started without arguments, such as the
// container image's health check, read the same file as serve.
const EnvConfigFile = "SCIM_BRIDGE_CONFIG"

// LoadEnviron is Load with the environment given as "NAME=value" strings
// (os.Environ()). The file is path, or the one SCIM_BRIDGE_CONFIG names when
// path is "". Unknown SCIM_BRIDGE_* variables are problems (see
// CheckEnvironment), listed with the others.
func LoadEnviron(path string, environ []string) (Config, error) {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	if path == "" {
		path = vars[EnvConfigFile]
	}
	c, err := Load(path, func(k string) string { return vars[k] })
	unknown := CheckEnvironment(environ)
	if len(unknown) == 0 {
		return c, err
	}
	var pe *partialError
	switch {
	case err == nil:
		return c, &partialError{errs: unknown}
	case errors.As(err, &pe):
		return c, &partialError{errs: append(unknown, pe.errs...)}
	default:
		return c, err
	}
}

// decodeYAML decodes raw strictly into c. A syntax error is returned as err;
// unknown keys and values of the wrong type are returned as problems (each
// "path: message (line N of FILE)"), with the rest of the file applied. The
// line of every key is recorded as its origin.
func decodeYAML(raw []byte, c *Config, file string) (problems []error, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err = dec.Decode(c)
	if err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, err
		}
	}
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) != nil {
		root = yaml.Node{}
	}
	c.recordFileOrigins(&root, file)
	var te *yaml.TypeError
	if err == nil || !errors.As(err, &te) {
		return nil, nil
	}
	for _, msg := range te.Errors {
		problems = append(problems, explainDecodeError(&root, msg, file))
	}
	return problems, nil
}

// Env names one environment variable and how it sets the configuration.
type Env struct {
	Name  string
	Field string // the YAML path it overrides, for documentation and errors
	// Default is the value in force when neither the file nor the variable
	// sets it, as the variable would spell it ("" when there is none).
	Default string
	set     func(c *Config, v string) error
}

// Environment lists every SCIM_BRIDGE_* variable the bridge reads.
func Environment() []Env {
	envs := []Env{
		{Name: "SCIM_BRIDGE_LISTEN", Field: "listen", set: func(c *Config, v string) error { c.Listen = v; return nil }},
		{Name: "SCIM_BRIDGE_TELEMETRY_LISTEN", Field: "telemetry_listen", set: func(c *Config, v string) error { c.TelemetryListen = v; return nil }},
		{Name: "SCIM_BRIDGE_DATABASE", Field: "database", set: func(c *Config, v string) error { c.Database = Secret(v); return nil }},
		{Name: "SCIM_BRIDGE_DATABASE_FILE", Field: "database_file", set: func(c *Config, v string) error { c.DatabaseFile = v; return nil }},
		{Name: "SCIM_BRIDGE_SCIM_TOKENS", Field: "scim.tokens", set: func(c *Config, v string) error {
			c.SCIM.Tokens = nil
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					c.SCIM.Tokens = append(c.SCIM.Tokens, Secret(t))
				}
			}
			return nil
		}},
		{Name: "SCIM_BRIDGE_SCIM_TOKENS_FILE", Field: "scim.tokens_file", set: func(c *Config, v string) error { c.SCIM.TokensFile = v; return nil }},
		{Name: "SCIM_BRIDGE_PUBLIC_URL", Field: "scim.public_url", set: func(c *Config, v string) error { c.SCIM.PublicURL = v; return nil }},
		{Name: "SCIM_BRIDGE_SCIM_RATE_LIMIT", Field: "scim.requests_per_second", set: func(c *Config, v string) error {
			return parseRequestRate(v, &c.SCIM.RequestsPerSecond)
		}},
		{Name: "SCIM_BRIDGE_SCIM_BURST", Field: "scim.burst", set: func(c *Config, v string) error { return parseInt(v, &c.SCIM.Burst) }},
		{Name: "SCIM_BRIDGE_SCIM_ALLOW_CIDRS", Field: "scim.allow_cidrs", set: func(c *Config, v string) error { c.SCIM.AllowCIDRs = splitList(v); return nil }},
		{Name: "SCIM_BRIDGE_SCIM_TRUST_PROXY_CIDRS", Field: "scim.trust_proxy_cidrs", set: func(c *Config, v string) error { c.SCIM.TrustProxyCIDRs = splitList(v); return nil }},
		{Name: "SCIM_BRIDGE_BC_API_URL", Field: "bigcommerce.api_url", set: func(c *Config, v string) error { c.BigCommerce.APIURL = v; return nil }},
		{Name: "SCIM_BRIDGE_BC_ACCOUNT_UUID", Field: "bigcommerce.account_uuid", set: func(c *Config, v string) error { c.BigCommerce.AccountUUID = v; return nil }},
		{Name: "SCIM_BRIDGE_BC_TOKEN", Field: "bigcommerce.token", set: func(c *Config, v string) error { c.BigCommerce.Token = Secret(v); return nil }},
		{Name: "SCIM_BRIDGE_BC_TOKEN_FILE", Field: "bigcommerce.token_file", set: func(c *Config, v string) error { c.BigCommerce.TokenFile = v; return nil }},
		{Name: "SCIM_BRIDGE_BC_RATE_LIMIT", Field: "bigcommerce.rate_limit", set: func(c *Config, v string) error { c.BigCommerce.RateLimit = v; return nil }},
		{Name: "SCIM_BRIDGE_BC_MAX_BATCH", Field: "bigcommerce.max_batch", set: func(c *Config, v string) error { return parseInt(v, &c.BigCommerce.MaxBatch) }},
		{Name: "SCIM_BRIDGE_BC_PAGE_SIZE", Field: "bigcommerce.page_size", set: func(c *Config, v string) error { return parseInt(v, &c.BigCommerce.PageSize) }},
		{Name: "SCIM_BRIDGE_EMAIL_SOURCE", Field: "mapping.email_source", set: func(c *Config, v string) error { c.Mapping.EmailSource = v; return nil }},
		{Name: "SCIM_BRIDGE_RECONCILE_INTERVAL", Field: "reconcile.interval", set: func(c *Config, v string) error { return parseDuration(v, &c.Reconcile.Interval) }},
		{Name: "SCIM_BRIDGE_RECONCILE_UNMANAGED", Field: "reconcile.unmanaged", set: func(c *Config, v string) error { c.Reconcile.Unmanaged = v; return nil }},
		{Name: "SCIM_BRIDGE_RECONCILE_MAX_REMOVALS", Field: "reconcile.max_removals", set: func(c *Config, v string) error { return parseInt(v, &c.Reconcile.MaxRemovals) }},
		{Name: "SCIM_BRIDGE_PROTECTED_EMAILS", Field: "reconcile.protected_emails", set: func(c *Config, v string) error { c.Reconcile.ProtectedEmails = splitList(v); return nil }},
		{Name: "SCIM_BRIDGE_INTENT_RETENTION", Field: "retention.intents", set: func(c *Config, v string) error { return parseDuration(v, &c.Retention.Intents) }},
		{Name: "SCIM_BRIDGE_AUDIT_RETENTION", Field: "retention.audit", set: func(c *Config, v string) error { return parseDuration(v, &c.Retention.Audit) }},
		{Name: "SCIM_BRIDGE_HISTORY_RETENTION", Field: "retention.history", set: func(c *Config, v string) error { return parseDuration(v, &c.Retention.History) }},
		{Name: "SCIM_BRIDGE_DEPROVISION_SLO", Field: "delivery.deprovision_slo", set: func(c *Config, v string) error { return parseDuration(v, &c.Delivery.DeprovisionSLO) }},
		{Name: "SCIM_BRIDGE_LOG_FORMAT", Field: "log.format", set: func(c *Config, v string) error { c.Log.Format = v; return nil }},
		{Name: "SCIM_BRIDGE_LOG_LEVEL", Field: "log.level", set: func(c *Config, v string) error { c.Log.Level = v; return nil }},
		{Name: "SCIM_BRIDGE_LOG_EXCLUDE_KEYS", Field: "log.exclude_keys", set: func(c *Config, v string) error { c.Log.ExcludeKeys = splitList(v); return nil }},
		{Name: "SCIM_BRIDGE_TLS_CERT_FILE", Field: "tls.cert_file", set: func(c *Config, v string) error { c.TLS.CertFile = v; return nil }},
		{Name: "SCIM_BRIDGE_TLS_KEY_FILE", Field: "tls.key_file", set: func(c *Config, v string) error { c.TLS.KeyFile = v; return nil }},
	}
	def := Default()
	for i := range envs {
		envs[i].Default = def.ValueString(envs[i].Field)
	}
	return envs
}

func (c *Config) applyEnv(getenv func(string) string) []error {
	if getenv == nil {
		return nil
	}
	var errs []error
	for _, e := range Environment() {
		v := getenv(e.Name)
		if v == "" {
			continue
		}
		if err := e.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name, err))
			continue
		}
		c.setOrigin(e.Field, Origin{Env: e.Name})
	}
	return errs
}

// Set applies a command-line flag: value is parsed as the environment
// variable for the YAML path key would be, and the flag (for example
// "--database") is recorded as the value's origin.
func (c *Config) Set(key, value, flag string) error {
	for _, e := range Environment() {
		if e.Field != key {
			continue
		}
		if err := e.set(c, value); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		c.setOrigin(key, Origin{Flag: flag})
		if key == "database" {
			// A flag's store wins over a file-given one from any source.
			c.DatabaseFile = ""
		}
		return nil
	}
	return fmt.Errorf("%s: no setting %q", flag, key)
}

func parseInt(v string, dst *int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want a whole number such as 50")
	}
	*dst = n
	return nil
}

// parseRequestRate reads a per-token SCIM request rate: requests per second
// ("20", "0.5"), or N/DURATION as bigcommerce.rate_limit is written
// ("1200/1m"), converted to requests per second.
func parseRequestRate(v string, dst *float64) error {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		r, err := ParseRateLimit(v)
		if err != nil {
			return fmt.Errorf("want requests per second per token, a number such as 20 or 0.5 (0 turns the limit off), or N/DURATION such as 1200/1m: %w", err)
		}
		*dst = float64(r.N) / r.Window.Seconds()
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("want requests per second per token, a number such as 20 or 0.5 (0 turns the limit off), or N/DURATION such as 1200/1m")
	}
	*dst = f
	return nil
}

func parseDuration(v string, dst *time.Duration) error {
	if strings.TrimSpace(v) == "0" {
		*dst = 0
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want a duration such as 30s, 15m or 6h")
	}
	*dst = d
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
