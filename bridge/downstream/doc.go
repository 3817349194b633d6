// Package downstream is the client of BigCommerce's Account-level GraphQL API
// (the Users feature): it adds users to and removes them from the account and
// its stores, and lists the account's users, stores, store users and apps.
//
// The account's budget is 70 requests per hour, so the client is built around
// the request, not the operation:
//
//   - [Client.Apply] sends any number of mutations as one aliased document
//     (m0: account { addUserToAccount(input: $i0) { ... } }, m1: ...), inputs as
//     variables, and returns one [Result] per operation. If the server refuses
//     the document for its size or complexity, Apply splits it in halves and
//     retries each (recursively, first half first, so order is preserved) and
//     reports the splits in the [Batch]; a single refused operation fails with
//     reason "refused". BigCommerce does not say whether the Account API accepts
//     several mutations per document, so the client works either way.
//   - Every HTTP request goes through a [Gate] (the shared budget) with a
//     [Priority], and every response's X-Rate-Limit-* headers are reported to it.
//   - Listings follow cursors to the end, report how many requests they spent,
//     and on any failure return the error and no data: a reconciler must never
//     act on a partial read.
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
//	HTTP 404                                  permanent        account_not_found
//	HTTP 413                                  document refused (split)
//	COMPLEXITY_LIMIT_EXCEEDED, TOO_MANY_MUTATIONS
//	  (document-level, no data)               document refused (split)
//	document-level error without a code whose
//	  message mentions complexity or a
//	  mutation limit                          document refused (split)
//	other document-level errors (validation)  permanent        invalid_document
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
// requests). Flat listings ask for PageSize items (default 100) per page: 1,006
// for 100 users. ListStoreUsers asks for 20 stores per page with 25 users
// nested in each (5,226), then continues stores with more users six at a time
// with PageSize (at most 100) users each (6,048). If a server refuses a listing
// document anyway, the listing halves the page (or the stores per
// continuation) and asks again, down to one item.
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
