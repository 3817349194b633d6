package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RateLimit is a request budget: N requests per Window.
type RateLimit struct {
	N      int
	Window time.Duration
}

// String renders the limit as "N/DURATION".
func (r RateLimit) String() string { return strconv.Itoa(r.N) + "/" + shortDuration(r.Window) }

// shortDuration renders d without zero trailing units: "6h", "1h30m", "2m",
// "30s" (time.Duration's String gives "6h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRateLimit parses "N/DURATION", e.g. "70/1h" or "5/1m".
func ParseRateLimit(s string) (RateLimit, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return RateLimit{}, fmt.Errorf("want N/DURATION such as 70/1h, got %q", s)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return RateLimit{}, fmt.Errorf("the request count in %q must be a positive integer", s)
	}
	window, err := time.ParseDuration(d)
	if err != nil || window <= 0 {
		return RateLimit{}, fmt.Errorf("the window in %q must be a positive duration such as 1h or 1m", s)
	}
	return RateLimit{N: count, Window: window}, nil
}

// Validate checks the configuration without touching the outside world and
// returns every problem at once (joined with errors.Join), each prefixed with
// where the value came from: the environment variable or the flag that set it,
// else the field's YAML path (with the line of the file when the file set it).
// It assumes secrets given by file were resolved (Resolve).
func (c Config) Validate() error {
	p := &problems{c: c}
	c.validateListeners(p)
	c.validateDatabase(p)
	c.validateSCIM(p)
	c.validateBigCommerce(p)
	c.validateMapping(p)
	c.validateDelivery(p)
	c.validateReconcile(p)
	c.validateRetention(p)
	c.validateLog(p)
	c.validateTLS(p)
	return errors.Join(p.errs...)
}

// problems collects a configuration's problems in the order they are found.
type problems struct {
	c    Config
	errs []error
}

// bad records a problem with field, prefixed with where its value came from.
func (p *problems) bad(field, format string, args ...any) {
	p.errs = append(p.errs, p.c.problem(field, fmt.Sprintf(format, args...)))
}

// validateListeners checks the SCIM and telemetry addresses.
func (c Config) validateListeners(p *problems) {
	if err := checkListen(c.Listen); err != nil {
		p.bad("listen", "%v", err)
	}
	if err := checkListen(c.TelemetryListen); err != nil {
		p.bad("telemetry_listen", "%v", err)
	}
	if c.Listen != "" && c.Listen == c.TelemetryListen && !strings.HasSuffix(c.Listen, ":0") {
		p.bad("telemetry_listen", "must differ from listen (%s)", c.Listen)
	}
}

// validateDatabase checks the store URL: a SQLite path or a PostgreSQL URL,
// given once. Only the scheme of an unknown store is shown, as the rest may
// hold a password.
func (c Config) validateDatabase(p *problems) {
	if c.Database != "" && c.DatabaseFile != "" {
		p.bad("database_file", "set either database or database_file, not both")
	}
	db := c.Database.Value()
	switch {
	case db == "" && c.DatabaseFile != "":
		// Resolve reports why the file could not be read.
	case db == "":
		p.bad("database", `is required: "sqlite:PATH" or "postgres://USER@HOST/DB"`)
	case strings.HasPrefix(db, "sqlite:"):
		if strings.TrimPrefix(db, "sqlite:") == "" {
			p.bad("database", `"sqlite:" needs a file path, e.g. sqlite:/var/lib/scim-bridge/bridge.db`)
		}
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		if _, err := url.Parse(db); err != nil {
			p.bad("database", "is not a valid PostgreSQL URL")
		}
	default:
		if scheme := storeScheme(db); scheme != "" {
			p.bad("database", `unknown store type %q: want "sqlite:PATH" or "postgres://..."`, scheme)
		} else {
			p.bad("database", `unknown store type: want "sqlite:PATH" or "postgres://..."`)
		}
	}
}

// validateSCIM checks the SCIM server: its tokens, public URL, limits and the
// networks it accepts.
func (c Config) validateSCIM(p *problems) {
	if len(c.SCIM.Tokens) == 0 && c.SCIM.TokensFile == "" {
		p.bad("scim.tokens", `at least one bearer token is required (mint one with "scim-bridge token")`)
	}
	for i, t := range c.SCIM.Tokens {
		if err := checkToken(t.Value()); err != nil {
			p.bad(fmt.Sprintf("scim.tokens[%d]", i), "%v", err)
		}
	}
	if c.SCIM.PublicURL != "" {
		u, err := url.Parse(c.SCIM.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.bad("scim.public_url", "must be an absolute http(s) URL such as https://bridge.example.com/scim/v2")
		}
	}
	if c.SCIM.MaxBodyBytes < 1024 {
		p.bad("scim.max_body_bytes", "must be at least 1024")
	}
	if c.SCIM.MaxResults < 1 || c.SCIM.MaxResults > 1000 {
		p.bad("scim.max_results", "must be between 1 and 1000")
	}
	if c.SCIM.RequestsPerSecond < 0 {
		p.bad("scim.requests_per_second", "must not be negative (0 disables the limit)")
	}
	if c.SCIM.RequestsPerSecond > 0 && c.SCIM.Burst < 1 {
		p.bad("scim.burst", "must be at least 1 when requests_per_second is set")
	}
	for i, cidr := range c.SCIM.AllowCIDRs {
		if _, err := ParseCIDR(cidr); err != nil {
			p.bad(fmt.Sprintf("scim.allow_cidrs[%d]", i), "%q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", cidr)
		}
	}
	for i, cidr := range c.SCIM.TrustProxyCIDRs {
		if _, err := ParseCIDR(cidr); err != nil {
			p.bad(fmt.Sprintf("scim.trust_proxy_cidrs[%d]", i), "%q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32", cidr)
		}
	}
	if len(c.SCIM.TrustProxyCIDRs) > 0 && len(c.SCIM.AllowCIDRs) == 0 {
		p.bad("scim.trust_proxy_cidrs", "has no effect without scim.allow_cidrs (X-Forwarded-For is only read to check the allow-list)")
	}
}

// validateBigCommerce checks the BigCommerce account, its token and the
// request budget the bridge spends.
func (c Config) validateBigCommerce(p *problems) {
	bc := c.BigCommerce
	if u, err := url.Parse(bc.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.bad("bigcommerce.api_url", "must be an absolute http(s) URL")
	}
	if bc.AccountUUID == "" {
		p.bad("bigcommerce.account_uuid", "is required (Settings > Account-level API accounts shows it in the API path)")
	} else if !uuidLike(bc.AccountUUID) {
		p.bad("bigcommerce.account_uuid", "must be a UUID such as 6f1f9b4c-0a5e-4a43-9c1f-2b6f3c1d2e4f")
	}
	if bc.Token != "" && bc.TokenFile != "" {
		p.bad("bigcommerce.token_file", "set either token or token_file, not both")
	}
	if bc.Token == "" && bc.TokenFile == "" {
		p.bad("bigcommerce.token", "is required (an account-level API token; prefer token_file)")
	}
	if strings.ContainsAny(bc.Token.Value(), " \t\r\n\x00") {
		// The value itself is never echoed.
		p.bad("bigcommerce.token", "contains whitespace or a control character (a copy-and-paste slip?)")
	}
	if _, err := ParseRateLimit(bc.RateLimit); err != nil {
		p.bad("bigcommerce.rate_limit", "%v", err)
	}
	if bc.MaxBatch < 1 || bc.MaxBatch > 90 {
		p.bad("bigcommerce.max_batch", "must be between 1 and 90 (a mutation costs about 103 of the 10000 complexity points)")
	}
	if bc.PageSize < 1 || bc.PageSize > 1000 {
		p.bad("bigcommerce.page_size", "must be between 1 and 1000")
	}
	if bc.Timeout < time.Second {
		p.bad("bigcommerce.timeout", "must be at least 1s")
	}
}

// validateMapping checks how users are matched and which groups map to which
// stores.
func (c Config) validateMapping(p *problems) {
	switch c.Mapping.EmailSource {
	case "auto", "userName", "primaryEmail":
	default:
		p.bad("mapping.email_source", `must be "auto", "userName" or "primaryEmail"`)
	}
	// Group names are compared case-insensitively, so two entries differing only
	// in case would race for one group. Problems name the store hashes, not the
	// group names (which may be personal data in some directories).
	seen := map[string]string{}
	for _, name := range sortedKeys(c.Mapping.Groups) {
		hash := c.Mapping.Groups[name]
		switch {
		case strings.TrimSpace(name) == "" || strings.TrimSpace(hash) == "":
			p.bad("mapping.groups", "entries need a group name and a store hash")
		case !storeHashLike(hash):
			p.bad("mapping.groups", "store hash %q must be letters and digits only, as in the store's API path (stores/{hash})", hash)
		}
		k := strings.ToLower(name)
		if other, dup := seen[k]; dup && name != "" {
			p.bad("mapping.groups", "two group names differ only in letter case (mapped to %q and %q); names are compared case-insensitively", other, hash)
		}
		seen[k] = hash
	}
}

// validateDelivery checks delivery's budget reserve, lingers, retries and
// lease.
func (c Config) validateDelivery(p *problems) {
	d := c.Delivery
	if d.Reserve < 0 || d.Reserve >= 1 {
		p.bad("delivery.reserve", "must be at least 0 and below 1")
	}
	if d.RemovalLinger < 0 || d.RemovalLinger > time.Minute {
		p.bad("delivery.removal_linger", "must be between 0 and 1m (leavers must lose access quickly)")
	}
	if d.AdditionLinger < 0 {
		p.bad("delivery.addition_linger", "must not be negative")
	}
	if d.MaxAttempts < 1 {
		p.bad("delivery.max_attempts", "must be at least 1")
	}
	if d.RetryBackoff < 10*time.Millisecond || d.RetryBackoff > 10*time.Minute {
		p.bad("delivery.retry_backoff", "must be between 10ms and 10m")
	}
	if d.LeaseTTL < 2*time.Second {
		p.bad("delivery.lease_ttl", "must be at least 2s")
	}
}

// validateReconcile checks the reconciliation interval, what it does with
// unmanaged users and whom it never removes.
func (c Config) validateReconcile(p *problems) {
	r := c.Reconcile
	if r.Interval < 0 || (r.Interval > 0 && r.Interval < time.Minute) {
		p.bad("reconcile.interval", "must be 0 (off) or at least 1m")
	}
	if r.Unmanaged != "report" && r.Unmanaged != "remove" {
		p.bad("reconcile.unmanaged", `must be "report" or "remove"`)
	}
	if r.MaxRemovals < 0 {
		p.bad("reconcile.max_removals", "must not be negative")
	}
	for i, e := range r.ProtectedEmails {
		if !strings.Contains(e, "@") {
			p.bad(fmt.Sprintf("reconcile.protected_emails[%d]", i), "is not an email address")
		}
	}
}

// validateRetention checks how long settled intents, the audit log and the
// access history are kept, and the deprovisioning objective the history is
// measured against.
func (c Config) validateRetention(p *problems) {
	// Below an hour a settled intent could go while a reconciliation or an
	// operator still looks at it; there is no reason to keep less.
	if c.Retention.Intents < time.Hour {
		p.bad("retention.intents", "must be at least 1h")
	}
	if c.Retention.Audit < time.Hour {
		p.bad("retention.audit", "must be at least 1h")
	}
	if c.Retention.History < 24*time.Hour {
		p.bad("retention.history", "must be at least 24h (the default keeps the access history for seven years: 61320h)")
	}
	if c.Delivery.DeprovisionSLO < time.Second || c.Delivery.DeprovisionSLO > 30*24*time.Hour {
		p.bad("delivery.deprovision_slo", "must be between 1s and 720h")
	}
}

// validateLog checks the log format, level and excluded keys.
func (c Config) validateLog(p *problems) {
	switch c.Log.Format {
	case "json", "console":
	default:
		p.bad("log.format", `must be "json" or "console"`)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.bad("log.level", `must be "debug", "info", "warn" or "error"`)
	}
	for i, k := range c.Log.ExcludeKeys {
		if strings.TrimSpace(k) == "" {
			p.bad(fmt.Sprintf("log.exclude_keys[%d]", i), "must not be empty")
		}
	}
}

// validateTLS checks that the certificate and its key come together.
func (c Config) validateTLS(p *problems) {
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		p.bad("tls", "cert_file and key_file must be set together")
	}
}

// Resolve reads the secrets given by file (database_file, scim.tokens_file,
// bigcommerce.token_file) into the configuration and checks that the TLS files
// exist. It returns every problem at once.
func (c *Config) Resolve() error {
	var errs []error
	read := func(field, path string) (string, bool) {
		raw, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, c.problem(field, fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))))
			return "", false
		}
		return string(raw), true
	}
	// fromFile is the origin of a value read from the file that the setting
	// field names.
	fromFile := func(field, path string, line int) Origin {
		o := c.Origin(field)
		o.SecretFile, o.SecretLine = path, line
		return o
	}
	if c.DatabaseFile != "" && c.Database == Default().Database {
		c.Database = ""
	}
	if c.DatabaseFile != "" && c.Database == "" {
		if v, ok := read("database_file", c.DatabaseFile); ok {
			c.setOrigin("database", fromFile("database_file", c.DatabaseFile, 0))
			c.Database = Secret(strings.TrimSpace(v))
			c.DatabaseFile = ""
		}
	}
	if c.SCIM.TokensFile != "" {
		if v, ok := read("scim.tokens_file", c.SCIM.TokensFile); ok {
			for n, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
					key := fmt.Sprintf("scim.tokens[%d]", len(c.SCIM.Tokens))
					if c.origins == nil {
						c.origins = map[string]Origin{}
					}
					o := fromFile("scim.tokens_file", c.SCIM.TokensFile, n+1)
					o.Key = key
					c.origins[key] = o
					c.SCIM.Tokens = append(c.SCIM.Tokens, Secret(line))
				}
			}
		}
	}
	if c.BigCommerce.TokenFile != "" && c.BigCommerce.Token == "" {
		if v, ok := read("bigcommerce.token_file", c.BigCommerce.TokenFile); ok {
			c.setOrigin("bigcommerce.token", fromFile("bigcommerce.token_file", c.BigCommerce.TokenFile, 0))
			c.BigCommerce.Token = Secret(strings.TrimSpace(v))
			c.BigCommerce.TokenFile = ""
		}
	}
	for _, f := range []struct{ field, path string }{{"tls.cert_file", c.TLS.CertFile}, {"tls.key_file", c.TLS.KeyFile}} {
		if field, path := f.field, f.path; path != "" {
			if _, err := os.Stat(path); err != nil {
				errs = append(errs, c.problem(field, "cannot read "+path))
			}
		}
	}
	return errors.Join(errs...)
}

func checkListen(addr string) error {
	if addr == "" {
		return errors.New("is required, e.g. :8080")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT or :PORT, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number between 0 and 65535", port)
	}
	return nil
}

// checkToken mirrors the SCIM server's token rules: "sha256:<64 hex>" or a plain
// token of at least 16 characters.
func checkToken(t string) error {
	if rest, ok := strings.CutPrefix(t, "sha256:"); ok {
		if raw, err := hex.DecodeString(rest); err != nil || len(raw) != 32 {
			return errors.New("a sha256: token must be followed by 64 hexadecimal digits")
		}
		return nil
	}
	if len(t) < 16 {
		return errors.New(`a plain token must be at least 16 characters; mint one with "scim-bridge token"`)
	}
	return nil
}

// ParseCIDR parses a network such as "10.0.0.0/8" or "2001:db8::/32". A
// single address ("192.0.2.7") is accepted as a one-address network. IPv4
// networks written in IPv6-mapped form are unmapped.
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parse network %q: %w", s, err)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse network %q: %w", s, err)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// storeScheme returns the part of a store URL before ":" when it looks like a
// scheme (letters, digits, "+", "-", "."; at most 20), else "". Only that part
// is ever shown: the rest may hold a password.
func storeScheme(db string) string {
	scheme, _, ok := strings.Cut(db, ":")
	if !ok || scheme == "" || len(scheme) > 20 {
		return ""
	}
	for _, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return ""
		}
	}
	return scheme
}

// storeHashLike reports whether s looks like a BigCommerce store hash.
func storeHashLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func uuidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
