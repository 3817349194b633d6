// Package scim serves the SCIM 2.0 protocol that Okta, Microsoft Entra ID and
// other provisioning clients speak, on top of bridge.Service.
//
// A gin engine carries authentication (bearer tokens, compared in constant time
// against their SHA-256 hashes), request ids, a body-size limit, an access log
// without personal data, and a normaliser that repairs IdP bodies the SCIM
// library would wrongly reject. github.com/elimity-com/scim then validates and
// parses requests and renders single resources, /Schemas and /ResourceTypes. The
// bridge itself evaluates filters (package scim/resource parses RFC 7644 filters,
// pushes the indexable part into the store's query and evaluates the rest), pages
// and renders list responses, applies PATCH operations, projects attributes, and
// serves /ServiceProviderConfig, because the library does none of these as the
// IdPs need them. Every response, errors included, is application/scim+json.
//
// Two optional guards sit in front of the handlers. An allow-list of networks
// (Options.AllowCIDRs) answers 403 to other clients before authentication; the
// client is the TCP peer, and X-Forwarded-For is believed only from proxies
// listed in Options.TrustProxyCIDRs (read from the right, so a client cannot
// forge its way in). A token bucket per bearer token (Options.RequestsPerSecond
// and Burst) answers 429 with an integer Retry-After, which Okta honours.
package scim
