// Package resource holds the pure SCIM document logic behind the bridge's SCIM
// handlers: the resource schemas and their attribute index, the filter
// compiler (RFC 7644 §3.4.2.2) with a database pushdown, the PATCH engine
// (RFC 7644 §3.5.2 plus the Okta and Entra ID shapes), attribute projection
// (RFC 7644 §3.4.2.5 and §3.9) and the request-body normaliser that repairs IdP
// bodies github.com/elimity-com/scim would wrongly reject.
//
// A document is a SCIM resource in its JSON representation, held as a
// map[string]any whose keys are canonical attribute names; extension
// attributes live in a nested object keyed by the extension's URN. Values are
// JSON-compatible (map[string]any, []any, string, float64, bool).
//
// The package does no I/O: no HTTP, no database, no logging. Every function is
// safe for concurrent use; a *Schema is immutable after construction. Errors
// that a SCIM client should see are *errors.ScimError values of
// github.com/elimity-com/scim/errors. Note that elimity recognises only
// errors.ScimError values (not pointers) returned by handlers, so a handler
// passes such an error on as *err (or wraps the value).
//
// Error details never contain attribute values (they may be personal data);
// they name positions, operators and attribute names only.
//
// Hostile input is bounded here too: CheckBody refuses bodies that are not
// one valid UTF-8 JSON value, NUL in resource strings, over-long arrays and
// PATCH requests with more than MaxOperations operations; ApplyPatch works in
// time linear in the document and the operations and refuses multi-valued
// attributes (except group members) beyond bridge.MaxValues values; and a
// filter comparing with a string no store keeps (NUL or invalid UTF-8)
// matches nothing and is never pushed down to the store.
package resource
