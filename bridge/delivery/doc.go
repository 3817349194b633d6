// Package delivery drains the outbox into BigCommerce within the account's
// request budget (70 requests per hour by default).
//
// The [Engine] runs on the replica holding the delivery lease. Each [Engine.Step]
// reads pending intents and the bridge's known BigCommerce state and
// reduces them to their net effect per target ([MakePlan]): the latest intent of
// an email's account membership, or of an email's access to one store, wins;
// targets already in the desired state are settled without a request (a user
// created and deactivated before delivery costs nothing; a user BigCommerce
// already has is adopted). Operations are ordered account removals, store
// removals, account additions, store additions, reconciliation repairs, and
// packed into one aliased GraphQL document of up to MaxBatch operations.
//
// # A bounded window
//
// A step plans a window of the outbox, not all of it: the emails with the
// earliest pending removals and, as many again (Options.Window, 1,000 by
// default), those with the earliest pending intents of any kind, each with
// every pending intent it has. One email's net effect never depends on
// another's, so the plan is exact for the emails it covers; a removal queued
// behind a hundred thousand joiners is in the window, and so is the earlier
// addition it supersedes. The rest waits its turn in order (the budget sends
// far fewer than a window per request anyway), and a batch of a truncated
// window counts as full. A change that only SCIM writes made is read at most
// once per ReplanEvery (1 s), so a burst of writes is planned in rounds
// rather than once per write. A step therefore costs about the window, not
// the backlog, in time and memory.
//
// # When a batch goes
//
// A batch is due when it is full, when a removal has waited RemovalLinger (one
// second when nothing else is queued), or when its oldest addition has waited
// AdditionLinger; every batch carries all pending removals first, so a leaver
// rides in the very next request whatever the joiner backlog. Lingering for
// fuller batches pays only while requests are scarce: while the budget has more
// than half of what it offers above the reserve to spare, additions go at once,
// up to two requests per AdditionLinger (a lone joiner and its group's store do
// not wait; a burst of joiners, which keeps sending full batches, still batches).
//
// # Settling only on evidence
//
// Before a request goes out, its targets are marked in doubt in the known
// state (store.BCUser.AccountInDoubt, StoresInDoubt); BigCommerce's answer
// clears the mark. A crash, a timeout or a cancel between the two leaves it:
// BigCommerce may or may not have applied the request, so the known state of a
// target in doubt (an account in doubt puts its stores in doubt too) is no
// evidence and the target's latest intent is sent again; the operations are
// idempotent (already-done outcomes count as success). A complete listing
// (reconciliation's snapshot) keeps the marks. When Run's context ends, a
// request in flight may still finish and be recorded for ShutdownGrace.
//
// A store removal needs the user's BigCommerce id. Ids come from the mutations
// that return them and from listings; otherwise the engine looks them up — after
// any due removal batch, at PriorityLookup (never from the reserve), with its
// own backoff — by a complete listing of the store's users: a user found gets
// its id, a user absent from it has no access to remove (evidence), and a
// search that did not find a user is no evidence.
//
// A deactivation that collapses into a reactivation before delivery would
// leave BigCommerce with the stores the user had before; the plan compares the
// known stores with the desired ones (Service.DesiredStores) and queues the
// store removals that are owed.
//
// # Budget
//
// The [Budget] is a token bucket ([Bucket]) kept in the store, so restarts and
// replicas share it, corrected by every response's rate-limit headers and
// paused by a 429 (one without headers, BigCommerce's sign of high load, backs
// off exponentially). Removals may spend all of it; additions and lookups must
// leave a reserve; reads and repairs must leave more. The reserve is a share of
// the configured capacity, or of the quota BigCommerce states when that is
// smaller. When BigCommerce refuses multi-mutation documents the engine learns
// the size it accepts, works one mutation per request with half the budget
// reserved for removals, and probes larger batches again with backoff.
//
// # Results
//
// Results settle intents (done, or superseded by a later one), schedule
// retries with jittered exponential backoff for transient failures, and move
// permanent failures to the dead letters; users' sync state and the known
// BigCommerce state follow. Every result is written with a compare-and-swap on
// the intent's state and, under RunLeased, only while the lease (holder and
// epoch) is still the engine's, so a replica that lost the lease cannot
// overwrite what the new leader recorded.
package delivery
