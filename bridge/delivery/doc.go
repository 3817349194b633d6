// Package delivery drains the outbox into BigCommerce within the account's
// request budget (70 requests per hour by default).
//
// The [Engine] runs on the replica holding the delivery lease. Each [Engine.Step]
// reads the pending intents and the bridge's known BigCommerce state and
// reduces them to their net effect per target ([MakePlan]): the latest intent of
// an email's account membership, or of an email's access to one store, wins;
// targets already in the desired state are settled without a request (a user
// created and deactivated before delivery costs nothing; a user BigCommerce
// already has is adopted). Operations are ordered account removals, store
// removals, account additions, store additions, reconciliation repairs, and
// packed into one aliased GraphQL document of up to MaxBatch operations. A
// batch is due when it is full, when its oldest addition has waited
// AdditionLinger, or when a removal has waited RemovalLinger (one second when
// nothing else is queued); every batch carries all pending removals first, so
// a leaver rides in the very next request whatever the joiner backlog.
//
// The [Budget] is a token bucket ([Bucket]) kept in the store, so restarts and
// replicas share it, corrected by every response's rate-limit headers and
// paused by a 429. Removals may spend all of it; additions must leave a reserve;
// reads and repairs must leave more. When BigCommerce refuses multi-mutation
// documents the engine learns the size it accepts, works one mutation per
// request with half the budget reserved for removals, and probes larger
// batches again with backoff.
//
// Results settle intents (done, or superseded by a later one), schedule
// retries with jittered exponential backoff for transient failures, and move
// permanent failures to the dead letters; users' sync state and the known
// BigCommerce state follow. Intents are marked only after BigCommerce
// answered, so a crash at any point re-sends at most one batch, whose
// operations are idempotent (already-done outcomes count as success).
package delivery
