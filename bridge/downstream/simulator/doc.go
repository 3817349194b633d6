// Package simulator is an in-memory fake of BigCommerce's Account-level GraphQL
// API (the Users feature): an http.Handler that serves
// POST /accounts/{uuid}/graphql the way BigCommerce's public documentation
// describes it, so the bridge and its tests can run without BigCommerce.
//
// The simulator is a reconstruction, not a copy. BigCommerce publishes the
// query and mutation shapes, the global id formats, the scope names, the 70
// requests/hour account limit with its X-Rate-Limit-* headers, and the 10000
// complexity limit; everything else below was invented here and is marked as
// such. When the real API is reachable, the downstream contract suite checks
// the client against both, so the reconstruction cannot drift unnoticed.
//
// It has two profiles (Options.Profile). The full profile, the default and
// what the rest of this documentation describes, is the generous
// reconstruction. The documented profile serves only what BigCommerce
// documents and, wherever its documentation is silent, the choice that is
// hardest on a client; a client that works against it relies on nothing
// BigCommerce has not written down.
//
// # Profiles
//
// Each choice of the documented profile ("documented"), with the sentence of
// BigCommerce's documentation behind it, or its silence:
//
//   - Schema: its own SDL, schema_documented.graphql (SDLFor returns it),
//     validated and introspected like the full one, so __schema and __type
//     describe exactly the smaller schema.
//   - One mutation field per document. Silence: the Account API reference does
//     not say whether a document may carry several mutation fields
//     (BigCommerce's Storefront API allows one). A document with more than one
//     (counted as for Options.MaxMutations) is refused as a whole before
//     anything runs, with the single document-level error "This request is not
//     supported." (no extensions, no path; deliberately naming neither
//     mutations nor a limit, so a client cannot learn a number from it). It
//     counts against the rate limit and in Stats.Refused.
//   - Connections take first and after only. "Note that a standard
//     cursor-based pagination is supported" (Users overview): Relay's forward
//     arguments; backward paging is optional there and undocumented here, so
//     last and before are not in the schema and using them is a validation
//     error. PageInfo and edge cursors are Relay's.
//   - Page sizes. Silence. The default page is 10 and the largest 50
//     (Options.MaxPageSize lowers or raises it); first above it is refused
//     with a field error ("invalid page size: first must be between 0 and
//     50") instead of being clamped.
//   - collectionInfo only on users connections: the reference's examples show
//     it on UserConnection and not on the stores or apps connections.
//   - account.users lists AccountUser, a separate type with only id, email,
//     firstName and lastName, the fields of the "Account users" example;
//     selecting permissions, status, lastLoginAt, locale, updatedAt or apps
//     there is a validation error. A store's users are User with the full
//     field list of the "Account stores users" example (id email firstName
//     lastName locale lastLoginAt permissions status updatedAt apps).
//   - node(id:) and nodes(ids:): the reference lists them ("Fetches an object
//     given its ID") without saying which types they resolve. Store ids
//     resolve to null without an error (no scope check either), so a client
//     must read stores through account.stores. Account, user (as AccountUser)
//     and app ids still resolve, as in the full profile.
//   - Mutation results exactly as in the examples: addUserToAccount returns
//     { account }, removeUserFromAccount { accountId userId },
//     addUserToStore { storeId }, removeUserFromStore { storeId user }. The
//     full profile's invented user fields do not exist.
//   - Errors carry a message only. Silence: BigCommerce documents no error
//     payload for this API. No error has extensions (no codes, anywhere: HTTP
//     errors, document-level errors, field errors); document-level errors have
//     neither path nor locations; a mutation's field errors have neither
//     either (with one mutation per document there is nothing to point at).
//     A read's field errors keep their path and locations. The messages are
//     the full profile's, which name the outcome in plain words ("already",
//     "not found", "not in the account", "does not exist", "no access",
//     "owner", "invalid", "scope"). Event.Code still records the code.
//   - Rate-limit headers on failures. "If you encounter a 429 response without
//     the API HTTP headers, this is an indication that the platform
//     experiences high load ... and the request may be retried at another
//     time" (API rate limits). Injected 5xx (FailNext, SetFailRate) carry no
//     X-Rate-Limit-* headers. Over the limit, only the first 429 of a rate
//     window carries X-Retry-After and the X-Rate-Limit-* headers; every later
//     429 in the same window carries none. OverloadNext's 429s never carry
//     any, in either profile.
//   - Everything else is the full profile's: authentication, the rate limit
//     and what counts, complexity (its refusal without extensions), the fault
//     knobs, Stats and Log.
//
// Both profiles follow BigCommerce where the full profile used to differ:
//
//   - Result ids are String where the reference says String:
//     RemoveUserFromAccountResult.accountId and userId ("accountId String",
//     "userId String") and RemoveUserFromStoreResult.storeId ("storeId String
//     The store from which the user is removed from."); AddUserToStoreResult.storeId
//     is String as well, like its removeUserFromStore counterpart. Object ids
//     (Account.id, User.id, ...) stay ID, and so do the inputs (storeId: ID!,
//     userId: ID), so documents written for the earlier schema still validate.
//   - Scope names are the parameters of the "Account resource scopes" table of
//     BigCommerce's Guide to API accounts: account_read, account_stores_read,
//     account_apps_read, account_users_read, account_users_write,
//     account_users_delete. Options.Tokens still accepts the old invented
//     name store_v2_account_read (LegacyScopeAccountRead) for account_read.
//   - addUserToStore by email does not require account membership: "Example
//     using the user's ID to add the user to the store, the user in this case
//     must be part of the account" is said of the id form only. By email, a
//     user who is not in the account is added to it (INVITED, as by
//     addUserToAccount) and given the store in one step (Event.AddedToAccount);
//     by id, a non-member still gets USER_NOT_FOUND.
//   - The request's User-Agent is recorded (Stats.UserAgents, Event.UserAgent):
//     "We ask that you specify a user agent to identify your integration or
//     client" (About our APIs, request headers).
//
// The full profile adds two conveniences BigCommerce does not document, both
// invented and detectable by introspection: AddUserToAccountResult.user and
// AddUserToStoreResult.user (type User, the user as seen from the account),
// so a client learns the new user's id in the same request.
//
// Knobs of both profiles added with the profiles: Options.HoldResponse and
// SetHoldResponse (a response lost after the request was applied) and
// OverloadNext (header-less 429s); see "Fault knobs and observation".
//
// # Schema and execution
//
// The full profile's schema is schema.graphql in this package (SDL returns
// it), reconstructed from BigCommerce's reference; the documented profile's is
// schema_documented.graphql. The profile's schema is parsed once per Server. Every request is
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
// (an unknown or malformed id resolves to null without an error; the
// documented profile resolves no store), and system{time} (Options.Now, RFC
// 3339 UTC).
//
// # Why a hand-written executor
//
// The generic GraphQL machinery (exec.go, input.go and introspect.go, 997 of
// the package's 3973 non-test lines) is what a maintained server library
// would replace. The resolvers, BigCommerce's rules, complexity, rate limits,
// faults and state would stay whatever the library. gqlgen,
// graph-gophers/graphql-go and graphql-go/graphql were checked against what
// fidelity needs, and none of them keeps it with less code. gqlgen generates
// one executor per schema, so the two profiles would need two generated
// packages of several thousand lines each over the same state. Its per-field
// complexity function receives the children's cost as one total, so "n
// times the edges, pageInfo once" cannot be written; it also ignores @skip
// and @include, leaves __schema out, and by default answers parse and
// validation failures with 422 where this package answers 200.
// graph-gophers parses, validates and executes in a single call with its own
// parser, so the complexity score, the mutation count and the documented
// profile's refusal would need a second parse with gqlparser. It has no
// complexity support. graphql-go/graphql builds schemas in Go code, so each
// SDL would be written a second time; it has no complexity support either
// and no tagged release since April 2023. By default gqlgen and
// graph-gophers run the fields under a namespace such as Mutation.account
// concurrently, since the specification makes only root mutation fields
// serial. Aliased mutations inside one namespace would then no longer run,
// log and fail in document order. Each gap can be patched, with an error
// presenter per profile, an extension for refusals, a second parser,
// plumbing for the complexity headers and workarounds for ordering. Those
// patches would add back most of what the library removes, on a dependency
// nothing else here needs. So the executor stays: it is small, its tests
// exercise the parts of the specification it implements, and every
// BigCommerce-specific choice stays in plain code.
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
//   - Every error body is {"errors":[{"message":…,"extensions":{"code":…}}]};
//     the documented profile leaves out extensions.
//   - GET /_simulator/stats returns Stats as JSON without authentication. It is
//     a test endpoint that BigCommerce does not have; it is never rate-limited,
//     delayed, held or failed. Any other path gets 404.
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
// SetRateLimit closes the current window. In the documented profile only the
// first 429 of a window carries the headers (see Profiles).
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
// COMPLEXITY_LIMIT_EXCEEDED (extensions.complexity and extensions.limit;
// the documented profile sends the message only); nothing runs. In the
// documented profile a document with more than one mutation field is refused
// (see Profiles) before its complexity is compared with the limit.
//
// # Mutations per document (invented knob)
//
// BigCommerce does not say whether the Account API caps mutation fields per
// document (its Storefront API allows one). Options.MaxMutations or
// SetMaxMutations(n) refuses documents with more than n mutation fields with
// TOO_MANY_MUTATIONS (extensions.mutations and extensions.limit); the default
// is no limit beyond complexity. Counted are the leaf fields under the
// Mutation.account and Mutation.user namespace fields, as written. The
// documented profile always allows one (see Profiles).
//
// # Document-level failures
//
// HTTP 200, no "data", errors without "path", each with extensions.code:
// GRAPHQL_PARSE_FAILED (the document does not parse or has no operation),
// GRAPHQL_VALIDATION_FAILED (every gqlparser validation message; also an
// unknown operationName, several operations without operationName, and
// variables that fail coercion — invented choices, since BigCommerce documents
// none), COMPLEXITY_LIMIT_EXCEEDED, TOO_MANY_MUTATIONS. The documented
// profile sends each error's message only, without locations or extensions.
//
// # Paging (invented where BigCommerce is silent)
//
// Every connection takes first/after and last/before (Relay's algorithm:
// after/before first, then first, then last). The default page size is 10
// (lowered to the max page size if that is smaller), the max page size 100
// (Options.MaxPageSize); a larger first/last is clamped, never an error, and a
// negative one is INVALID_INPUT. The documented profile takes first/after
// only, with a max page size of 50 and a larger first refused (see Profiles). Cursors are opaque: base64url of the item's
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
// apps empty); status, lastLoginAt and updatedAt are the user's own (the
// documented profile serves only id, email, firstName and lastName there). In a
// store's users connection they describe the access to that store, and apps
// lists the apps installed on that store (invented). A store's users connection
// includes invited users (BigCommerce does not say whether it shows pending
// invitations). The UserStatus enum's INVITED and INACTIVE are invented:
// addUserToAccount (and addUserToStore by email for a newcomer) creates an
// INVITED user that never becomes ACTIVE in the simulator (nobody accepts
// the invitation); seed users are ACTIVE unless the
// seed says otherwise. updatedAt is the seed time or the time of the last
// change to the user (add, store access granted or removed); lastLoginAt comes
// only from the seed. Emails never appear in error messages; ids and store
// hashes do.
//
// # Business rules and field errors (codes invented)
//
// Field errors are HTTP 200: the field is null, the error has the path and
// extensions.code (the documented profile: see Profiles). Messages say what
// happened in plain words a client can read without a code. Checks run in
// the order listed.
//
//   - addUserToAccount(input:{email}): INVALID_INPUT for a bad email;
//     USER_ALREADY_EXISTS when the email is in the account; otherwise an
//     INVITED user with no names, no locale and no store access is created and
//     {account} returned (and, in the full profile only, the invented {user}).
//   - removeUserFromAccount(input:{email}|{userId}): INVALID_INPUT unless
//     exactly one is given, or for a bad email or malformed id; USER_NOT_FOUND;
//     CANNOT_REMOVE_OWNER for the account owner; otherwise the user and all of
//     its store access go, and {accountId userId} is returned.
//   - addUserToStore(input:{user:{email}|{id}, storeId}): INVALID_INPUT unless
//     exactly one of email/id is given, or for a malformed store id, bad email or
//     malformed user id; STORE_NOT_FOUND; by id, USER_NOT_FOUND for a user who
//     is not in the account; by email, such a user is first added to the
//     account (INVITED, as by addUserToAccount); USER_ALREADY_IN_STORE;
//     otherwise access is granted with the store's default permissions (seed
//     defaultPermissions, else ["No_Permission_Required"]) and the user's own
//     status (ACTIVE for seed users, INVITED for API-added ones), and {storeId}
//     is returned (and, in the full profile only, the invented {user}).
//     Identifying the user by id works for every token.
//   - removeUserFromStore(input:{storeId, userId}): INVALID_INPUT for malformed
//     ids; STORE_NOT_FOUND; USER_NOT_FOUND; USER_NOT_IN_STORE;
//     CANNOT_REMOVE_OWNER for the account owner; otherwise the access goes and
//     {storeId user} is returned (the user as seen from the account).
//
// Owner protection (invented): at most one seed user is the owner, who can be
// neither removed from the account nor from a store; the owner can be added
// to stores like anyone else.
//
// # Scopes (names documented; which field needs which scope invented)
//
// Each token has a scope set; Options.Token has all of AllScopes, the
// parameters of BigCommerce's "Account resource scopes" table.
// Query.account and node/nodes for an account id need account_read;
// Account.stores and node/nodes for store ids need account_stores_read; every
// apps connection and node/nodes for app ids need account_apps_read; every
// users connection and node/nodes for user ids need account_users_read;
// addUserToAccount and addUserToStore need account_users_write;
// removeUserFromAccount and removeUserFromStore need account_users_delete.
// Mutation payloads (AddUserToAccountResult.account,
// RemoveUserFromStoreResult.user) need no read scope, but connections inside
// them check theirs. A field whose scope is missing resolves to null with
// FORBIDDEN and extensions.requiredScope (as the connections are non-null, the
// null propagates per the schema, up to "data": null for Query.account); the
// message names the scope. A refused mutation changes nothing and is logged
// with code FORBIDDEN.
//
// # Fault knobs and observation
//
// SetLatency delays each GraphQL request in real time before anything else
// (outside the state lock). FailNext(n, status), SetFailRate(p, status) answer
// counted requests with a 5xx and {"errors":[{"message":"internal error",
// "extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}, executing nothing (the
// documented profile: no extensions and no X-Rate-Limit-* headers).
// OverloadNext(n) answers the next n counted requests with a 429 without any
// rate-limit header, BigCommerce's sign of high load, executing nothing.
// DropNext(n) closes the next n counted connections without a response
// (hijacking the connection; where that is impossible, aborting the handler
// with http.ErrAbortHandler), executing nothing. Faults apply only to requests
// that passed authentication and the rate limit, so they count; when several
// are armed, DropNext goes first, then FailNext, OverloadNext, SetFailRate.
//
// Options.HoldResponse and SetHoldResponse(d) hold every GraphQL-endpoint
// response for d of real time after the request was handled — executed,
// counted, logged, its status counted in Stats.ByStatus — and before the
// response is written: a response lost after BigCommerce applied the
// request. The hold is outside the state lock, so other requests proceed. A
// client that goes away (times out, cancels) during the hold gets nothing,
// and the change stays applied. The stats endpoint is never held.
//
// Snapshot, Stats and Log return deep copies; Log lists every mutation field
// that ran, applied or failed, in order, with the request's User-Agent.
//
// # Seed
//
// The seed format is the one "scim-bridge simulate --seed" reads (see Seed),
// decoded strictly by LoadSeed, with
// optional fields documented on SeedUser, SeedStore and SeedApp. Validation
// reports every problem at once: missing names, malformed or duplicate store
// hashes, bad or duplicate emails (case-insensitive), unknown or repeated store
// hashes in a user's or app's stores, more than one owner, unknown statuses.
// DefaultSeed describes the default account.
//
// # Concurrency
//
// A Server is safe for concurrent use; its zero value behaves like
// New(Options{}) (the full profile). All state sits behind one mutex; latency
// and the response hold are applied outside it.
package simulator
