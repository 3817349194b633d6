// Package simulator is an in-memory fake of BigCommerce's Account-level GraphQL
// API (the Users feature): an http.Handler that serves
// POST /accounts/{uuid}/graphql the way BigCommerce's public documentation
// describes it, so the bridge and its tests can run without BigCommerce.
//
// The simulator is a reconstruction, not a copy. BigCommerce publishes the
// query and mutation shapes, the global id formats, the 70 requests/hour
// account limit with its X-Rate-Limit-* headers, and the 10000 complexity
// limit; everything else below was invented here and is marked as such. When
// the real API is reachable, the downstream contract suite checks the client
// against both, so the reconstruction cannot drift unnoticed.
//
// # Schema and execution
//
// The schema is schema.graphql in this package (SDL returns it), reconstructed
// from BigCommerce's reference; it is parsed once per Server. Every request is
// parsed and validated against it with github.com/vektah/gqlparser/v2, and a
// document that fails gets a standard GraphQL error response. A validated
// operation runs through an executor that follows the GraphQL specification:
// variables with defaults and input coercion (input objects, lists, a single
// value where a list is expected), aliases, named and inline fragments
// (including "... on Store" inside node/nodes), @skip and @include,
// __typename, introspection (__schema, __type), several root fields, and
// operationName when the document holds several operations. Mutation fields run
// in document order. A field error nulls its field (and, under the non-null
// rules, its parents), adds an error whose path lists the response keys down to
// the field, and the other fields still run. The whole document executes under
// one lock, so a request sees and changes the state atomically. @defer is
// accepted by validation and ignored (results arrive in the one response).
//
// Queries: account, node(id), nodes(ids) for account, user, store and app ids
// (an unknown or malformed id resolves to null without an error), and
// system{time} (Options.Now, RFC 3339 UTC).
//
// # HTTP (invented where marked)
//
//   - POST /accounts/{uuid}/graphql with X-Auth-Token. The body is
//     {"query","variables","operationName"}; a body that is not such a JSON
//     object gets 400 BAD_REQUEST (invented), and one larger than 1 MiB gets
//     413 PAYLOAD_TOO_LARGE (invented). Content-Type is not checked. Another
//     method on the path gets 405 METHOD_NOT_ALLOWED with Allow: POST.
//   - Authentication comes first: a missing or unknown token gets 401
//     UNAUTHENTICATED without rate-limit headers. A known token with another
//     {uuid} gets 404 NOT_FOUND (compared case-insensitively). BigCommerce does
//     not document either answer; 404 lets a client tell a wrong UUID from a
//     wrong token. Neither 401 nor 404 counts against the rate limit.
//   - GET /_simulator/stats returns Stats as JSON without authentication. It is
//     a test endpoint that BigCommerce does not have; it is never rate-limited,
//     delayed or failed. Any other path gets 404.
//
// # Rate limit (invented semantics around BigCommerce's documented headers)
//
// Fixed windows per account: a window of length W starts with the first
// counted request after the previous window ended, and admits N counted
// requests (defaults 70 and 1h, BigCommerce's documented account limit). Every
// authenticated response (the 404 for a wrong UUID included) carries
// X-Rate-Limit-Time-Window-Ms (W), X-Rate-Limit-Time-Reset-Ms (milliseconds
// until the current window ends, rounded up; W when no window is open),
// X-Rate-Limit-Requests-Quota (N) and X-Rate-Limit-Requests-Left (N minus the
// requests counted in the window). Over the limit: 429 RATE_LIMITED with
// X-Retry-After, the whole seconds until the window ends, rounded up, at least
// 1. A 429 does not count. Every other authenticated request to the right
// account counts, whatever its outcome: invalid documents, 405, 413, injected
// 5xx and dropped connections included. The limit counts HTTP requests, not
// operations: one document with 50 aliased mutations is one request. All time
// decisions use Options.Now, so a simulated clock drives the windows.
// SetRateLimit closes the current window.
//
// # Complexity (invented; BigCommerce documents only the 10000 limit)
//
// The score is computed on the selected operation after variable coercion and
// before anything runs, over the document as written (each fragment spread
// counts its fragment again, whatever its type condition; fields skipped by
// @skip/@include do not count):
//
//   - every selected field costs 1 plus the cost of its selection set
//     (__typename costs 1);
//   - a connection field (users, stores, apps) costs 1 plus its selection set,
//     where each "edges" field inside it costs 1 + n × (cost of the edges
//     selection set) and pageInfo/collectionInfo count once; n is first, else
//     last, clamped to [0, max page size], else the default page size;
//   - a mutation field (addUserToAccount, removeUserFromAccount,
//     addUserToStore, removeUserFromStore) costs 100 plus its selection set;
//   - nodes(ids) costs 1 plus len(ids) × its selection set.
//
// Example: { account { users(first: 5) { edges { node { id email } }
// pageInfo { hasNextPage endCursor } } } } scores
// 1 + (1 + (1 + 5×(1+2)) + (1+2)) = 21. The score is returned in
// x-bc-graphql-complexity, with x-bc-graphql-operation-type (query|mutation)
// and x-bc-graphql-operation-name (the operation's name or ""). A document
// refused before an operation was selected (parse, validation, operation
// selection) carries none of the three, one refused for its variables only
// the operation headers. A score over
// Options.MaxComplexity (default 10000) refuses the document with
// COMPLEXITY_LIMIT_EXCEEDED (extensions.complexity and extensions.limit);
// nothing runs.
//
// # Mutations per document (invented knob)
//
// BigCommerce does not say whether the Account API caps mutation fields per
// document (its Storefront API allows one). Options.MaxMutations or
// SetMaxMutations(n) refuses documents with more than n mutation fields with
// TOO_MANY_MUTATIONS (extensions.mutations and extensions.limit); the default
// is no limit beyond complexity. Counted are the leaf fields under the
// Mutation.account and Mutation.user namespace fields, as written.
//
// # Document-level failures
//
// HTTP 200, no "data", errors without "path", each with extensions.code:
// GRAPHQL_PARSE_FAILED (the document does not parse or has no operation),
// GRAPHQL_VALIDATION_FAILED (every gqlparser validation message; also an
// unknown operationName, several operations without operationName, and
// variables that fail coercion — invented choices, since BigCommerce documents
// none), COMPLEXITY_LIMIT_EXCEEDED, TOO_MANY_MUTATIONS.
//
// # Paging (invented where BigCommerce is silent)
//
// Every connection takes first/after and last/before (Relay's algorithm:
// after/before first, then first, then last). The default page size is 10
// (lowered to the max page size if that is smaller), the max page size 100
// (Options.MaxPageSize); a larger first/last is clamped, never an error, and a
// negative one is INVALID_INPUT. Cursors are opaque: base64url of the item's
// global id. Because a cursor names an id and pages are computed by key,
// items added or removed between pages are neither repeated nor skipped, and a
// cursor of an item that was removed still works. A cursor that does not
// belong to the connection is INVALID_INPUT. pageInfo reports hasNextPage and
// hasPreviousPage exactly (whatever the paging direction) and null
// start/endCursor for an empty page; collectionInfo.totalItems counts all pages.
// Order: users by numeric id, stores in seed order, apps by id.
//
// # Ids
//
// Account "bc/account/account/{uuid}", user "bc/account/user/{n}" (n counts
// from 1 and is never reused: a removed and re-added email gets a new id),
// store "bc/account/store/{hash}", app "bc/account/app/{n}".
//
// # Users, stores and statuses (invented where marked)
//
// A user is one email, compared case-insensitively and stored as first given.
// An email must have exactly one "@" with text on both sides and no whitespace
// or control characters (invented rule), else INVALID_INPUT. In the account's
// users connection a user's store-scoped fields are empty (permissions [],
// apps empty); status, lastLoginAt and updatedAt are the user's own. In a
// store's users connection they describe the access to that store, and apps
// lists the apps installed on that store (invented). A store's users connection
// includes invited users (BigCommerce does not say whether it shows pending
// invitations). The UserStatus enum's INVITED and INACTIVE are invented:
// addUserToAccount creates an INVITED user that never becomes ACTIVE in the
// simulator (nobody accepts the invitation); seed users are ACTIVE unless the
// seed says otherwise. updatedAt is the seed time or the time of the last
// change to the user (add, store access granted or removed); lastLoginAt comes
// only from the seed. Emails never appear in error messages; ids and store
// hashes do.
//
// # Business rules and field errors (codes invented)
//
// Field errors are HTTP 200: the field is null, the error has the path and
// extensions.code. Checks run in the order listed.
//
//   - addUserToAccount(input:{email}): INVALID_INPUT for a bad email;
//     USER_ALREADY_EXISTS when the email is in the account; otherwise an
//     INVITED user with no names, no locale and no store access is created and
//     {account} returned.
//   - removeUserFromAccount(input:{email}|{userId}): INVALID_INPUT unless
//     exactly one is given, or for a bad email or malformed id; USER_NOT_FOUND;
//     CANNOT_REMOVE_OWNER for the account owner; otherwise the user and all of
//     its store access go, and {accountId userId} is returned.
//   - addUserToStore(input:{user:{email}|{id}, storeId}): INVALID_INPUT unless
//     exactly one of email/id is given, or for a malformed store id, bad email or
//     malformed user id; STORE_NOT_FOUND; USER_NOT_FOUND; USER_ALREADY_IN_STORE;
//     otherwise access is granted with the store's default permissions (seed
//     defaultPermissions, else ["No_Permission_Required"]) and the user's own
//     status (ACTIVE for seed users, INVITED for API-added ones), and {storeId}
//     is returned. Identifying the user by id works for every token (BigCommerce
//     limits it to some older tokens).
//   - removeUserFromStore(input:{storeId, userId}): INVALID_INPUT for malformed
//     ids; STORE_NOT_FOUND; USER_NOT_FOUND; USER_NOT_IN_STORE;
//     CANNOT_REMOVE_OWNER for the account owner; otherwise the access goes and
//     {storeId user} is returned (the user as seen from the account).
//
// Owner protection (invented): at most one seed user is the owner, who can be
// neither removed from the account nor from a store; the owner can be added
// to stores like anyone else.
//
// # Scopes (names invented; BigCommerce names them only in its UI)
//
// Each token has a scope set; Options.Token has all of AllScopes.
// Query.account and node/nodes for an account id need store_v2_account_read;
// Account.stores and node/nodes for store ids need account_stores_read; every
// apps connection and node/nodes for app ids need account_apps_read; every
// users connection and node/nodes for user ids need account_users_read;
// addUserToAccount and addUserToStore need account_users_write;
// removeUserFromAccount and removeUserFromStore need account_users_delete.
// Mutation payloads (AddUserToAccountResult.account,
// RemoveUserFromStoreResult.user) need no read scope, but connections inside
// them check theirs. A field whose scope is missing resolves to null with
// FORBIDDEN and extensions.requiredScope (as the connections are non-null, the
// null propagates per the schema, up to "data": null for Query.account); a
// refused mutation changes nothing and is logged with code FORBIDDEN.
//
// # Fault knobs and observation
//
// SetLatency delays each GraphQL request in real time before anything else
// (outside the state lock). FailNext(n, status), SetFailRate(p, status) answer
// counted requests with a 5xx and {"errors":[{"message":"internal error",
// "extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}, executing nothing. DropNext(n)
// closes the next n counted connections without a response (hijacking the
// connection; where that is impossible, aborting the handler with
// http.ErrAbortHandler), executing nothing. Faults apply only to requests that
// passed authentication and the rate limit, so they count. Snapshot, Stats and
// Log return deep copies; Log lists every mutation field that ran, applied or
// failed, in order.
//
// # Seed
//
// The seed format is DESIGN.md's (see Seed), decoded strictly by LoadSeed, with
// optional fields documented on SeedUser, SeedStore and SeedApp. Validation
// reports every problem at once: missing names, malformed or duplicate store
// hashes, bad or duplicate emails (case-insensitive), unknown or repeated store
// hashes in a user's or app's stores, more than one owner, unknown statuses.
// DefaultSeed describes the default account.
//
// # Concurrency
//
// A Server is safe for concurrent use; its zero value behaves like
// New(Options{}). All state sits behind one mutex; latency is applied outside it.
package simulator
