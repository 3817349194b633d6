// Package config defines scim-bridge's configuration: the YAML file schema, its
// defaults (in one place, Default), the SCIM_BRIDGE_* environment overlay,
// validation that reports every problem at once, and the Secret type that never
// prints its value. It imports no other package of the project.
//
// Precedence: defaults < YAML file < environment variables < command-line flags
// (flags are applied by the command through Set).
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
	Log         Log         `yaml:"log"`
	TLS         TLS         `yaml:"tls"`
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
		Delivery: Delivery{Reserve: 0.15, RemovalLinger: 20 * time.Second, AdditionLinger: 2 * time.Minute, MaxAttempts: 8, RetryBackoff: 10 * time.Second, LeaseTTL: 15 * time.Second},
		Reconcile: Reconcile{
			Interval: 6 * time.Hour, Unmanaged: "report", MaxRemovals: 10,
		},
		Log: Log{Format: "json", Level: "info"},
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
	if len(errs) > 0 {
		return c, &partialError{errs: errs}
	}
	return c, nil
}

// decodeYAML decodes raw strictly into c. A syntax error is returned as err;
// unknown keys and values of the wrong type are returned as problems (each
// "path: message (line N of FILE)"), with the rest of the file applied.
func decodeYAML(raw []byte, c *Config, file string) (problems []error, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err = dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) {
		return nil, nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return nil, err
	}
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) != nil {
		root = yaml.Node{}
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
	set   func(c *Config, v string) error
}

// Environment lists every SCIM_BRIDGE_* variable the bridge reads.
func Environment() []Env {
	return []Env{
		{"SCIM_BRIDGE_LISTEN", "listen", func(c *Config, v string) error { c.Listen = v; return nil }},
		{"SCIM_BRIDGE_TELEMETRY_LISTEN", "telemetry_listen", func(c *Config, v string) error { c.TelemetryListen = v; return nil }},
		{"SCIM_BRIDGE_DATABASE", "database", func(c *Config, v string) error { c.Database = Secret(v); return nil }},
		{"SCIM_BRIDGE_DATABASE_FILE", "database_file", func(c *Config, v string) error { c.DatabaseFile = v; return nil }},
		{"SCIM_BRIDGE_SCIM_TOKENS", "scim.tokens", func(c *Config, v string) error {
			c.SCIM.Tokens = nil
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					c.SCIM.Tokens = append(c.SCIM.Tokens, Secret(t))
				}
			}
			return nil
		}},
		{"SCIM_BRIDGE_SCIM_TOKENS_FILE", "scim.tokens_file", func(c *Config, v string) error { c.SCIM.TokensFile = v; return nil }},
		{"SCIM_BRIDGE_PUBLIC_URL", "scim.public_url", func(c *Config, v string) error { c.SCIM.PublicURL = v; return nil }},
		{"SCIM_BRIDGE_SCIM_RATE_LIMIT", "scim.requests_per_second", func(c *Config, v string) error {
			return parseFloat(v, &c.SCIM.RequestsPerSecond)
		}},
		{"SCIM_BRIDGE_SCIM_BURST", "scim.burst", func(c *Config, v string) error { return parseInt(v, &c.SCIM.Burst) }},
		{"SCIM_BRIDGE_SCIM_ALLOW_CIDRS", "scim.allow_cidrs", func(c *Config, v string) error { c.SCIM.AllowCIDRs = splitList(v); return nil }},
		{"SCIM_BRIDGE_SCIM_TRUST_PROXY_CIDRS", "scim.trust_proxy_cidrs", func(c *Config, v string) error { c.SCIM.TrustProxyCIDRs = splitList(v); return nil }},
		{"SCIM_BRIDGE_BC_API_URL", "bigcommerce.api_url", func(c *Config, v string) error { c.BigCommerce.APIURL = v; return nil }},
		{"SCIM_BRIDGE_BC_ACCOUNT_UUID", "bigcommerce.account_uuid", func(c *Config, v string) error { c.BigCommerce.AccountUUID = v; return nil }},
		{"SCIM_BRIDGE_BC_TOKEN", "bigcommerce.token", func(c *Config, v string) error { c.BigCommerce.Token = Secret(v); return nil }},
		{"SCIM_BRIDGE_BC_TOKEN_FILE", "bigcommerce.token_file", func(c *Config, v string) error { c.BigCommerce.TokenFile = v; return nil }},
		{"SCIM_BRIDGE_BC_RATE_LIMIT", "bigcommerce.rate_limit", func(c *Config, v string) error { c.BigCommerce.RateLimit = v; return nil }},
		{"SCIM_BRIDGE_BC_MAX_BATCH", "bigcommerce.max_batch", func(c *Config, v string) error { return parseInt(v, &c.BigCommerce.MaxBatch) }},
		{"SCIM_BRIDGE_BC_PAGE_SIZE", "bigcommerce.page_size", func(c *Config, v string) error { return parseInt(v, &c.BigCommerce.PageSize) }},
		{"SCIM_BRIDGE_EMAIL_SOURCE", "mapping.email_source", func(c *Config, v string) error { c.Mapping.EmailSource = v; return nil }},
		{"SCIM_BRIDGE_RECONCILE_INTERVAL", "reconcile.interval", func(c *Config, v string) error { return parseDuration(v, &c.Reconcile.Interval) }},
		{"SCIM_BRIDGE_RECONCILE_UNMANAGED", "reconcile.unmanaged", func(c *Config, v string) error { c.Reconcile.Unmanaged = v; return nil }},
		{"SCIM_BRIDGE_RECONCILE_MAX_REMOVALS", "reconcile.max_removals", func(c *Config, v string) error { return parseInt(v, &c.Reconcile.MaxRemovals) }},
		{"SCIM_BRIDGE_PROTECTED_EMAILS", "reconcile.protected_emails", func(c *Config, v string) error { c.Reconcile.ProtectedEmails = splitList(v); return nil }},
		{"SCIM_BRIDGE_LOG_FORMAT", "log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
		{"SCIM_BRIDGE_LOG_LEVEL", "log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
		{"SCIM_BRIDGE_LOG_EXCLUDE_KEYS", "log.exclude_keys", func(c *Config, v string) error { c.Log.ExcludeKeys = splitList(v); return nil }},
		{"SCIM_BRIDGE_TLS_CERT_FILE", "tls.cert_file", func(c *Config, v string) error { c.TLS.CertFile = v; return nil }},
		{"SCIM_BRIDGE_TLS_KEY_FILE", "tls.key_file", func(c *Config, v string) error { c.TLS.KeyFile = v; return nil }},
	}
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
		}
	}
	return errs
}

func parseInt(v string, dst *int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	*dst = n
	return nil
}

func parseFloat(v string, dst *float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return fmt.Errorf("want a number")
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
