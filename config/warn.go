package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// BigCommerceRequestsPerHour is the request budget BigCommerce documents for
// the Account-level API: 70 requests per hour for the whole account.
const BigCommerceRequestsPerHour = 70

// Warnings returns the settings that are legal but probably a mistake, each
// written like a problem of Validate ("LABEL: message"). Like Validate it is
// pure; it assumes Validate found nothing (values it cannot parse are
// skipped). "scim-bridge validate" lists them and "serve" logs them at start.
func (c Config) Warnings() []string {
	var out []string
	warn := func(field, format string, args ...any) {
		out = append(out, c.problem(field, fmt.Sprintf(format, args...)).Error())
	}

	if r, err := ParseRateLimit(c.BigCommerce.RateLimit); err == nil {
		if perHour := r.perHour(); perHour > BigCommerceRequestsPerHour {
			warn("bigcommerce.rate_limit", "%s allows about %.0f requests in an hour, above BigCommerce's documented %d/1h for the whole account: expect 429 answers and paused delivery unless BigCommerce raised your limit",
				c.BigCommerce.RateLimit, perHour, BigCommerceRequestsPerHour)
		}
	}
	if u, err := url.Parse(c.BigCommerce.APIURL); err == nil && u.Scheme == "http" {
		warn("bigcommerce.api_url", "uses plain http: the API token would travel unencrypted (fine for the simulator, never for BigCommerce, which is https://api.bigcommerce.com)")
	}

	if c.SCIM.PublicURL != "" {
		if u, err := url.Parse(c.SCIM.PublicURL); err == nil {
			if u.Scheme != "https" {
				warn("scim.public_url", "is not https: Okta and Entra ID provision only over HTTPS with a publicly trusted certificate")
			}
			if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/scim/v2") {
				warn("scim.public_url", "does not end in /scim/v2: it is the SCIM base URL the IdP is given (the bridge serves SCIM under /scim/v2), e.g. https://bridge.example.com/scim/v2")
			}
		}
	}
	for i, t := range c.SCIM.Tokens {
		if !strings.HasPrefix(t.Value(), "sha256:") {
			warn(fmt.Sprintf("scim.tokens[%d]", i), `is a plain token: the configuration holds a secret an attacker could replay; configure its sha256: form instead ("scim-bridge token" prints both)`)
		}
	}
	if rps := c.SCIM.RequestsPerSecond; rps > 0 && rps < 1 {
		warn("scim.requests_per_second", "%.3g requests per second per token is very low: an IdP sends bursts of calls when it assigns people and would receive many 429 answers (Entra ID asks for 25 per second)", rps)
	}

	if c.Reconcile.Unmanaged == "remove" && len(c.Reconcile.ProtectedEmails) == 0 {
		warn("reconcile.unmanaged", `is "remove" and reconcile.protected_emails is empty: every BigCommerce user the IdP does not know, break-glass administrators included, will be removed`)
	}
	if iv := c.Reconcile.Interval; iv > 0 && iv < time.Hour {
		warn("reconcile.interval", "%s is shorter than 1h: every run reads all users of the account and of every store from the same %d requests per hour that deliveries use", shortDuration(iv), BigCommerceRequestsPerHour)
	}
	return out
}

// perHour is the most requests the limit lets through in one hour: the whole
// window's count for windows of an hour or more (a token bucket may spend it
// at once), else the count times the windows in an hour.
func (r RateLimit) perHour() float64 {
	if r.Window >= time.Hour {
		return float64(r.N)
	}
	return float64(r.N) * float64(time.Hour) / float64(r.Window)
}
