// Package reconcile finds and repairs drift between what the identity provider
// wants and what BigCommerce has, and builds the compliance report (who can
// reach which store).
//
// BigCommerce also changes outside the bridge: a store owner adds someone by
// hand, an invitation is withdrawn, a removal failed long ago. A run reads the
// whole account (its users and every store's users, every page) through the
// shared request budget at the lowest priority, compares it with the SCIM
// state, and puts the repairs into the same outbox SCIM changes use, so
// delivery's net effect, priority (repairs go last), batching, budget and
// crash safety apply to them.
//
// # Pure plan, separate apply
//
// [Plan] is a pure function of the desired state (one [bridge.Desired] per SCIM
// user), what the outbox says ([Outbox]: users the IdP deleted, users with
// changes on their way), a complete snapshot of BigCommerce and the [Policy].
// It returns the drift items by [Class], the repair intents, the counts, the
// number of removals, and aborts (returning no intent) when the removals
// exceed the policy's cap. [Runner] does the I/O: estimate, read, plan, apply
// in one store transaction (see [Runner.RunOnce]). A partial or failed read
// aborts the run with nothing changed: acting on a partial listing is how sync
// tools delete users by mistake.
//
// # Request cost
//
// Before reading, a run estimates the requests it will spend from the last
// listing the store keeps (see [EstimateRequests] and [EstimateRead]; without
// one, the least a read can cost), logs the estimate, and after the run logs
// and exports what it really spent. With the default page size of 100, an
// account of U users in S stores where store i has n(i) users costs
// ceil(U/100) pages of account users, ceil(S/20) pages of stores (each with its
// first 25 users), and the continuation requests that fetch the remaining
// users of up to 6 stores at a time, 100 each.
//
// # The reconcile command
//
// "scim-bridge reconcile" runs one [Runner.RunOnce] and exits with:
//
//	0  the run succeeded and nothing is left unrepaired: in sync, or every
//	   drift found was put into the outbox as a repair;
//	1  error: the read failed or was partial, the store failed; nothing changed;
//	2  usage or configuration error;
//	3  drift remains: found in a dry run, left in place by policy (unmanaged
//	   users under "unmanaged: report"), or the run was aborted by the removal
//	   cap (nothing applied).
//
// Protected emails found are reported but are not drift; users skipped because
// the delivery engine is changing them are not drift either.
//
// # Personal data
//
// Plans and reports carry emails because showing them to the operator is their
// purpose. Logs, metrics, audit events and errors from this package carry
// counts, run ids and SCIM ids only.
package reconcile
