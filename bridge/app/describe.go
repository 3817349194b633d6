package app

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/scim-bridge/scim-bridge/config"
)

// DescribeStore names the store type and where it is, without credentials.
func DescribeStore(dsn string) string {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		return "sqlite, file " + path + " (one replica)"
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres"
	}
	return fmt.Sprintf("postgres, host %s, database %s (several replicas may share it)", u.Hostname(), strings.TrimPrefix(u.Path, "/"))
}

// RedactURL shows a URL without the password it may carry.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	return strings.TrimRight(u.Redacted(), "/")
}

// GraphQLEndpoint is the URL the BigCommerce client posts to (without any
// credentials the API URL might carry).
func GraphQLEndpoint(bc config.BigCommerce) string {
	return RedactURL(bc.APIURL) + "/accounts/" + bc.AccountUUID + "/graphql"
}
