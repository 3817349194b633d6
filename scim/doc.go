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
//
// # Endpoints beyond the library
//
// POST /Users/.search, /Groups/.search and /.search (RFC 7644 §3.4.3) take
// the filter, attributes, excludedAttributes, startIndex and count of a
// SearchRequest body and answer as the equivalent GET does. The server root
// (GET / and POST /.search) lists users, then groups, paged as one list; a
// filter applies to each type whose schema knows every attribute it names,
// and a type that does not know them contributes nothing. A trailing slash
// names the same endpoint (/Users/ is the collection). Sorting is not
// supported (sortBy is ignored). When attributes is given, meta is left out
// unless named (it is returned "default", RFC 7643 §3.1); id and schemas are
// always returned.
//
// # Limits
//
// Every request is held to limits that keep one client from holding the
// store's single writer or the CPU, and that both store backends accept
// alike. Before the SCIM library reads a body (see resource.CheckBody): the
// body is at most Options.MaxBodyBytes (413; advertised as bulk.maxPayloadSize
// in /ServiceProviderConfig), valid UTF-8 and exactly one JSON value (400
// invalidSyntax), without NUL in any string of a User or Group (400
// invalidValue), with no array longer than bridge.MaxMembers (400
// invalidValue), and a PATCH carries at most resource.MaxOperations
// operations (413; advertised as bulk.maxOperations). After a PATCH is
// applied, and for POST and PUT, bridge.Service holds the resource to its
// limits (400 invalidValue): at most bridge.MaxValues values per multi-valued
// attribute, bridge.MaxMembers members named per group write, and the
// lengths of userName, externalId, displayName and emails (see package
// bridge). A list page holds at most Options.MaxResults resources
// (filter.maxResults), and a filter the store's indexes cannot answer may
// examine at most 50,000 candidates (400 tooMany). Long loops stop when the
// client goes away.
//
// Ids and filter values that no resource can have (NUL, invalid UTF-8, an id
// over bridge.MaxIDBytes) are answered as what they are: a lookup by such an
// id is 404, and a filter comparing with such a value matches nothing (its
// negation matches every resource with the attribute), on both backends.
//
// # Schemas
//
// The schemas served in /Schemas describe what the bridge does: emails.value
// has uniqueness "server" (two active users may not share a BigCommerce
// identity, 409 uniqueness), the descriptions of userName, emails and active
// state that rule and the rule that an absent active never grants access,
// and members.display is readOnly: the bridge shows each member's current
// userName there and ignores a display a client sends.
//
// # Logs and metrics
//
// Logs and error bodies never contain attribute values, request URLs, or
// the ids a client sent. The Options.Observe callback gets label values from
// small fixed sets whatever the request (see Options.Observe), so
// unauthenticated clients sending made-up methods or paths cannot create
// metric series.
package scim
