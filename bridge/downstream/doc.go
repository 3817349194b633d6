// Package downstream is the client of BigCommerce's Account-level GraphQL API
// (the Users feature): it adds users to and removes them from the account and
// its stores, and lists the account's users, stores, store users and apps.
//
// The account's budget is 70 requests per hour, so the client is built around
// the request, not the operation, and it works on what BigCommerce documents:
//
//   - [Client.Apply] sends the operations of a batch as one aliased document
//     (m0: account { addUserToAccount(input: $i0) { ... } }, m1: ...), inputs as
//     variables, and returns one [Result] per operation. BigCommerce documents
//     one mutation per request and no error payloads, so any document-level
//     refusal of a document of several operations (whatever its message says)
//     splits it: into the size the server states, else halves, down to one
//     operation per document, keeping the order. Only an operation refused
//     alone in the documented shape fails (invalid_document); a refused shape
//     never fails the other operations of the batch. Field errors without a
//     path belong to the only operation of a one-operation document; in a
//     document of several, the operations without a result go again one by one.
//   - Every HTTP request goes through a [Gate] (the shared budget) with a
//     [Priority], and every response is reported to it (its X-Rate-Limit-*
//     headers, and 429s with or without them). Requests carry a User-Agent.
//   - Listings follow cursors to the end, report how many requests they spent,
//     and on any failure return the error and no data: a reconciler must never
//     act on a partial read. They ask for pages of 50, BigCommerce's documented
//     maximum, and fall back to its documented default of 10 when refused.
//
// # The documented minimum and the capabilities beyond it
//
// Out of the box the client uses only documented shapes: first/after paging
// with pageInfo and edge cursors, the account's users with id, email,
// firstName and lastName, a store's users with their documented fields, the
// documented mutation results. [Client.Detect] asks the server once
// (introspection, one request) which optional shapes it offers
// ([Capabilities]): backward paging of the account's users, node(id:) on
// stores, more fields on the account's users, the new user's id in
// addUserToAccount's result. Each is an optimisation, never a requirement: a
// document that relied on one and is refused turns the capability off and goes
// again in the documented shape. A store's users continue by node(id:) when
// the server resolves stores that way, otherwise through the stores connection
// (account { stores(first: 1, after: <cursor of the store before>) }).
//
// The user id that removeUserFromStore needs is learned from the mutations that
// return it, from listings, or by [Client.FindStoreUsers], a complete listing
// of one store's users (an email absent from it has no access to that store).
// [Client.FindAccountUsers] searches the newest account users backwards when
// the server allows it; what it does not find is never evidence of absence.
//
// # Whole-request outcomes
//
// Classified into an [*Error] (Class, Reason) returned by Apply and the reads:
//
//	HTTP 429                                  rate_limited     RetryAfter = longer of X-Retry-After and X-Rate-Limit-Time-Reset-Ms
//	HTTP 5xx                                  transient        http_5xx
//	timeout (client, context, 408)            transient        timeout
//	connection refused, reset, dropped        transient        connection
//	body unreadable or not JSON               transient        unreadable_response
//	caller's context canceled                 transient        canceled
//	Gate.Acquire error                        transient        budget
//	HTTP 401                                  permanent        unauthorized
//	HTTP 403                                  permanent        forbidden
//	HTTP 404                                  permanent        account_not_found (wrong UUID or API URL)
//	HTTP 413                                  document refused (split)
//	COMPLEXITY_LIMIT_EXCEEDED, TOO_MANY_MUTATIONS
//	  (document-level, no data)               document refused (split)
//	document-level error without a code whose
//	  message mentions complexity or a
//	  mutation limit                          document refused (split)
//	other document-level errors (validation)  permanent        invalid_document (Apply: split first,
//	                                                               see above)
//	other 4xx                                 permanent        http_4xx
//	3xx (redirects are never followed)        permanent        unexpected_status
//	other 2xx than 200/201                    transient        unexpected_status
//	200 JSON not of the queried shape (reads) permanent        unexpected_response
//	field errors in a read                    permanent        query_failed (forbidden for FORBIDDEN)
//	cursor did not advance, store vanished
//	  between pages (reads)                   transient        inconsistent_read
//
// Transient failures of mutations may or may not have been applied; retrying
// is safe because every operation is idempotent through [AlreadyDone].
//
// # Per-operation outcomes
//
// BigCommerce documents no error payloads, so this table is the bridge's
// reading, matched first by extensions.code (the codes the simulator in
// package simulator uses), then, when the code is absent or unknown, by
// keywords of the lower-cased message (never by one exact message):
//
//	code                     op                         outcome
//	USER_ALREADY_EXISTS      adds                       AlreadyDone
//	USER_ALREADY_IN_STORE    adds                       AlreadyDone
//	USER_NOT_FOUND           removals                   AlreadyDone
//	USER_NOT_IN_STORE        removeUserFromStore        AlreadyDone
//	USER_NOT_FOUND           addUserToStore             Failed permanent not_in_account (add to the account first)
//	STORE_NOT_FOUND          any                        Failed permanent store_not_found
//	INVALID_INPUT            any                        Failed permanent invalid_input
//	CANNOT_REMOVE_OWNER      any                        Failed permanent cannot_remove_owner
//	FORBIDDEN                any                        Failed permanent forbidden
//	UNAUTHENTICATED          any                        Failed permanent unauthorized
//	RATE_LIMITED             any                        Failed rate_limited
//	INTERNAL_SERVER_ERROR    any                        Failed transient server_error
//
//	message keyword (code absent or unknown)             outcome
//	"already"                                            AlreadyDone
//	"owner" (removals)                                   Failed permanent cannot_remove_owner
//	"store" + "not found"/"does not exist"/"unknown"/
//	  "no such", without "user"                          Failed permanent store_not_found
//	"not found"/"does not exist"/"no such"/"not a member"/
//	  "not in (the) account|store"/"no access"           removals: AlreadyDone; addUserToStore: Failed not_in_account
//	"permission"/"forbidden"/"scope"/"not authorized"/
//	  "unauthorized"/"access denied"                     Failed permanent forbidden
//	"invalid"/"malformed"/"must be"/"required"           Failed permanent invalid_input
//	anything else                                        Failed permanent unknown
//
// A field that returns neither data nor an error fails with reason unknown.
// Field errors are matched to operations by the first element of their path,
// the alias. Operations that are invalid before sending (no email, no store,
// no user id for removeUserFromStore) fail with invalid_input and are not sent.
//
// # Complexity and page sizes
//
// By the simulator's formula (package simulator: each field 1, a mutation
// field 100 + its selection, a connection 1 + first × the edges selection),
// measured from its x-bc-graphql-complexity header: an Apply document costs
// 102 to 104 per operation (addUserToAccount 103, removeUserFromAccount 102,
// addUserToStore 102, removeUserFromStore 104), so at most 96 operations fit
// under BigCommerce's documented limit of 10000; the engine should keep
// batches well below that (a refused batch still works, at the price of extra
// requests). Flat listings ask for PageSize items (default 50) per page: 256
// for 50 account users with the documented fields. ListStoreUsers asks for 20
// stores per page with 25 users nested in each (5,246), then continues stores
// with more users six at a time with PageSize (at most 50) users each (3,060).
// If a server refuses a listing document anyway, the listing halves the page
// (or the stores per continuation) and asks again, down to one item.
//
// # Secrets and personal data
//
// The token travels only in the X-Auth-Token header. Error strings and log
// lines never contain it, never contain an email, and never copy the server's
// message text (which may name a user): [Error.Detail] is written by this
// package, and [Error.Error] redacts anything that looks like an email address
// as a second line of defence. Redirects are never followed, since the token
// header would travel with them.
package downstream
