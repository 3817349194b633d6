package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// accountPathPattern matches the account part of a full GraphQL endpoint
// path: ".../accounts/{uuid}" with an optional "/graphql" and trailing "/".
var accountPathPattern = regexp.MustCompile(`^(.*)/accounts/([^/]+)(/graphql)?/?$`)

// splitAPIURL accepts the full GraphQL endpoint
// (https://api.bigcommerce.com/accounts/UUID/graphql, or the simulator's
// http://127.0.0.1:8090/accounts/UUID/graphql) where the API base is
// expected: it keeps the base in bigcommerce.api_url and takes the account
// UUID from the path when bigcommerce.account_uuid is empty. A UUID there
// that differs from the configured one is a problem naming both sources (the
// base is kept either way, so the rest still validates).
func (c *Config) splitAPIURL() error {
	u, err := url.Parse(c.BigCommerce.APIURL)
	if err != nil || u.Host == "" {
		return nil // Validate says what is wrong with it
	}
	m := accountPathPattern.FindStringSubmatch(u.Path)
	if m == nil {
		return nil
	}
	fromURL := m[2]
	u.Path, u.RawPath, u.RawQuery, u.Fragment = m[1], "", "", ""
	c.BigCommerce.APIURL = strings.TrimRight(u.String(), "/")
	urlOrigin := c.Origin("bigcommerce.api_url")
	switch configured := c.BigCommerce.AccountUUID; {
	case configured == "":
		c.BigCommerce.AccountUUID = fromURL
		o := urlOrigin
		c.setOrigin("bigcommerce.account_uuid", o)
	case !strings.EqualFold(configured, fromURL):
		return c.problem("bigcommerce.api_url", fmt.Sprintf(
			"is a GraphQL URL for account %s, but the account UUID is %s (from %s); give the API base (%s) and the account UUID once",
			fromURL, configured, c.Origin("bigcommerce.account_uuid").Describe(), c.BigCommerce.APIURL))
	}
	return nil
}
