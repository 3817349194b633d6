package delivery

import (
	"slices"
	"sort"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Known is the bridge's belief about BigCommerce, per email.
type Known interface {
	// Lookup returns what the bridge knows of the user with this email; known is
	// false when it has never listed the account nor changed that user itself.
	Lookup(email string) (u store.BCUser, known bool)
}

// PlannedOp is one downstream operation that settles every pending intent of
// one target (an email's account membership, or an email's access to a store).
type PlannedOp struct {
	Op       downstream.Op
	Priority downstream.Priority
	// Latest is the intent whose desired state the op applies; Seqs are all the
	// pending intents of the target (Latest included) that it settles.
	Latest store.Intent
	Seqs   []int64
	// UserIDs are the SCIM users whose sync state the op concerns.
	UserIDs []string
	// Since is when the desired state was last asked for (Latest.CreatedAt).
	Since time.Time
	// NotBefore is the retry backoff of the target.
	NotBefore time.Time
	// NeedsUserID is set for a store removal whose BigCommerce user id is unknown.
	NeedsUserID bool
	// AfterAccountAdd is set for a store addition that must follow the
	// account addition of the same email (in the same request or an earlier one).
	AfterAccountAdd bool
}

// Settle is an intent resolved without sending anything.
type Settle struct {
	Seq    int64
	UserID string
	State  store.IntentState
	// Reason says why, for the audit trail: "superseded", "already in effect",
	// "moot: account removal takes store access".
	Reason string
}

// Plan is the net effect of the pending intents.
type Plan struct {
	Settled []Settle
	// Append are intents the plan adds to the outbox in the same transaction as
	// Settled: the store removals a collapsed deactivation still owes (see
	// MakePlan).
	Append []store.Intent
	Ops    []PlannedOp
}

type target struct {
	email, store string // store "" for the account
}

// MakePlan reduces pending intents (any order) to their net effect per target
// against what the bridge knows of BigCommerce:
//
//   - only the latest intent of a target counts; the earlier ones are superseded;
//   - store intents older than a pending account removal of the same email are
//     moot (the removal takes store access with it);
//   - a target already in the desired state is settled without a request, but
//     only on evidence: the known state of a target whose last request went
//     unanswered (in doubt; an account in doubt puts its stores in doubt too)
//     is no evidence, so its latest intent is sent;
//   - an account removal that collapses into a later re-addition before it was
//     delivered (deactivate, then reactivate) would leave BigCommerce with the
//     stores the user had before, though its groups may have changed while it
//     was inactive: the removal is superseded, and a store removal is appended
//     for every store BigCommerce may give the user (known or in doubt) that
//     desired, the user's current stores by SCIM user id, does not list;
//   - otherwise one operation, with the priority of its most urgent intent:
//     account removals, store removals, account additions, store additions,
//     then reconciliation repairs.
func MakePlan(pending []store.Intent, known Known, desired map[string][]string) Plan {
	pl := newPlanner(pending, known, desired)
	pl.collapseRemovals()
	pl.findAccountAdds()
	for _, t := range pl.order {
		pl.planTarget(t)
	}
	sortOps(pl.p.Ops)
	return pl.p
}

// planner is MakePlan's working state. The steps share it because each one
// rewrites what the later ones see: a collapsed removal drops out of its
// account target and out of lastAccountRemoval before the store targets are
// cut by it.
type planner struct {
	known   Known
	desired map[string][]string
	// byTarget holds each target's pending intents in Seq order; order lists
	// the targets by their earliest intent, so the plan does not depend on
	// map iteration.
	byTarget map[target][]store.Intent
	order    []target
	// lastAccountRemoval is the Seq of each email's latest pending account
	// removal: store intents before it are moot.
	lastAccountRemoval map[string]int64
	// accountAdd marks the emails whose account addition this plan sends, so
	// their store additions wait for it.
	accountAdd map[string]bool
	p          Plan
}

// newPlanner groups the pending intents (any order) by target, each target's
// intents sorted by Seq.
func newPlanner(pending []store.Intent, known Known, desired map[string][]string) *planner {
	sorted := append([]store.Intent(nil), pending...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })

	pl := &planner{
		known:              known,
		desired:            desired,
		byTarget:           map[target][]store.Intent{},
		lastAccountRemoval: map[string]int64{},
		accountAdd:         map[string]bool{},
	}
	for _, in := range sorted {
		t := target{email: in.Email}
		if in.Kind == store.StoreAdd || in.Kind == store.StoreRemove {
			t.store = in.StoreHash
		}
		if _, seen := pl.byTarget[t]; !seen {
			pl.order = append(pl.order, t)
		}
		pl.byTarget[t] = append(pl.byTarget[t], in)
		if in.Kind == store.AccountRemove {
			pl.lastAccountRemoval[in.Email] = in.Seq
		}
	}
	return pl
}

// settle resolves in without a request.
func (pl *planner) settle(in store.Intent, state store.IntentState, reason string) {
	pl.p.Settled = append(pl.p.Settled, Settle{Seq: in.Seq, UserID: in.UserID, State: state, Reason: reason})
}

// collapseRemovals handles every account target whose latest intent is an
// addition and an earlier pending one a removal (deactivate, then
// reactivate), before anything else is planned: it must change what the
// later steps see.
func (pl *planner) collapseRemovals() {
	for _, t := range pl.order {
		if t.store != "" {
			continue
		}
		pl.collapseRemoval(t)
	}
}

// collapseRemoval supersedes the pending account removals of an account
// target whose latest intent is an addition, takes them out of the target and
// out of lastAccountRemoval (the user stays in the account, so its store
// intents are not moot), and appends the store removals the user is still
// owed.
func (pl *planner) collapseRemoval(t target) {
	intents := pl.byTarget[t]
	latest := intents[len(intents)-1]
	if latest.Kind != store.AccountAdd {
		return
	}
	var removals []store.Intent
	var rest []store.Intent
	for _, in := range intents[:len(intents)-1] {
		if in.Kind == store.AccountRemove {
			removals = append(removals, in)
		} else {
			rest = append(rest, in)
		}
	}
	if len(removals) == 0 {
		return
	}
	want, haveDesired := pl.desired[latest.UserID]
	if !haveDesired {
		// The engine loads the desired stores of every user whose removal
		// collapses; a user it could not find was deleted, and its deletion
		// queued a later removal, so this addition is not the latest.
		return
	}
	for _, in := range removals {
		pl.settle(in, store.IntentSuperseded, "superseded: reactivated before delivery")
	}
	pl.byTarget[t] = append(rest, latest)
	delete(pl.lastAccountRemoval, t.email)
	pl.appendOwedStoreRemovals(t.email, latest, want)
}

// appendOwedStoreRemovals appends a store removal, on behalf of latest, for
// every store BigCommerce may give the user (known or in doubt) that want
// does not list: the superseded removal, which would have taken them, never
// goes, so BigCommerce still gives the user the stores it had before. A store
// with a pending intent of its own is left to that intent, whose latest
// decides it anyway.
func (pl *planner) appendOwedStoreRemovals(email string, latest store.Intent, want []string) {
	u, ok := pl.known.Lookup(email)
	if !ok || !(u.InAccount || u.AccountInDoubt) {
		return
	}
	for _, h := range mayHaveStores(u) {
		if slices.Contains(want, h) || pendingStoreIntent(pl.byTarget[target{email, h}]) {
			continue
		}
		pl.p.Append = append(pl.p.Append, store.Intent{Kind: store.StoreRemove, Email: email, StoreHash: h,
			UserID: latest.UserID, Source: latest.Source, RequestID: latest.RequestID, Cause: latest.Cause, CreatedAt: latest.CreatedAt,
			State: store.IntentPending})
	}
}

// findAccountAdds marks the emails whose account addition this plan sends
// (latest intent an addition, and the user not known to be in the account on
// evidence), so that their store additions can wait for it.
func (pl *planner) findAccountAdds() {
	for _, t := range pl.order {
		if t.store != "" {
			continue
		}
		intents := pl.byTarget[t]
		if latest := intents[len(intents)-1]; latest.Kind == store.AccountAdd {
			if u, ok := pl.known.Lookup(t.email); !ok || !u.InAccount || u.AccountInDoubt {
				pl.accountAdd[t.email] = true
			}
		}
	}
}

// planTarget settles or plans one target: moot store intents are dropped; a
// target already in the desired state on evidence is settled; otherwise one
// operation applies its latest intent and settles all of them.
func (pl *planner) planTarget(t target) {
	intents := pl.byTarget[t]
	if t.store != "" {
		intents = pl.dropMoot(t.email, intents)
		if len(intents) == 0 {
			return
		}
	}
	latest := intents[len(intents)-1]
	u, isKnown := pl.known.Lookup(t.email)
	if isKnown && !inDoubt(u, t.store) && inEffect(latest, u) {
		for _, in := range intents[:len(intents)-1] {
			pl.settle(in, store.IntentSuperseded, "superseded")
		}
		pl.settle(latest, store.IntentDone, "already in effect")
		return
	}
	pl.p.Ops = append(pl.p.Ops, pl.newOp(t, intents, u))
}

// dropMoot settles the store intents of email that are older than its latest
// pending account removal (the removal takes store access with it) and
// returns the rest, in order.
func (pl *planner) dropMoot(email string, intents []store.Intent) []store.Intent {
	cut := pl.lastAccountRemoval[email]
	live := intents[:0:0]
	for _, in := range intents {
		if in.Seq < cut {
			pl.settle(in, store.IntentSuperseded, "moot: account removal takes store access")
		} else {
			live = append(live, in)
		}
	}
	return live
}

// newOp is the operation that applies the latest of a target's intents and
// settles all of them; u is what the bridge knows of the user (zero when
// nothing), whose BigCommerce id a store removal needs.
func (pl *planner) newOp(t target, intents []store.Intent, u store.BCUser) PlannedOp {
	latest := intents[len(intents)-1]
	op := PlannedOp{
		Latest: latest, Since: latest.CreatedAt, NotBefore: latest.NextAttemptAt,
		Priority: priorityOf(intents),
	}
	seen := map[string]bool{}
	for _, in := range intents {
		op.Seqs = append(op.Seqs, in.Seq)
		if in.UserID != "" && !seen[in.UserID] {
			seen[in.UserID] = true
			op.UserIDs = append(op.UserIDs, in.UserID)
		}
	}
	op.Op = downstream.Op{Email: t.email, StoreHash: t.store}
	switch latest.Kind {
	case store.AccountAdd:
		op.Op.Kind = downstream.OpAddToAccount
	case store.AccountRemove:
		op.Op.Kind = downstream.OpRemoveFromAccount
	case store.StoreAdd:
		op.Op.Kind = downstream.OpAddToStore
		op.AfterAccountAdd = pl.accountAdd[t.email]
	case store.StoreRemove:
		op.Op.Kind = downstream.OpRemoveFromStore
		op.Op.UserID = u.UserID
		op.NeedsUserID = u.UserID == ""
	}
	return op
}

// sortOps orders the operations by priority, most urgent first, and within a
// priority by the Seq of their latest intent.
func sortOps(ops []PlannedOp) {
	sort.SliceStable(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Latest.Seq < b.Latest.Seq
	})
}

// mayHaveStores returns the stores BigCommerce may give u: those known and
// those in doubt, sorted.
func mayHaveStores(u store.BCUser) []string {
	out := append(append([]string(nil), u.Stores...), u.StoresInDoubt...)
	slices.Sort(out)
	return slices.Compact(out)
}

// pendingStoreIntent reports whether a store target already has a pending
// intent (whose latest decides it anyway).
func pendingStoreIntent(intents []store.Intent) bool { return len(intents) > 0 }

// inDoubt reports whether the known state of the target (store "" for the
// account) is no evidence because a request for it went unanswered.
func inDoubt(u store.BCUser, storeHash string) bool {
	if u.AccountInDoubt {
		return true
	}
	return storeHash != "" && slices.Contains(u.StoresInDoubt, storeHash)
}

// inEffect reports whether BigCommerce, as known, already has what in asks for.
func inEffect(in store.Intent, u store.BCUser) bool {
	switch in.Kind {
	case store.AccountAdd:
		return u.InAccount
	case store.AccountRemove:
		return !u.InAccount
	case store.StoreAdd:
		return u.InAccount && hasStore(u, in.StoreHash)
	case store.StoreRemove:
		return !u.InAccount || !hasStore(u, in.StoreHash)
	}
	return false
}

func hasStore(u store.BCUser, hash string) bool {
	return slices.Contains(u.Stores, hash)
}

// priorityOf is the priority of a target's operation: that of the kind of its
// latest intent, or a repair's when only reconciliation asked for it.
func priorityOf(intents []store.Intent) downstream.Priority {
	latest := intents[len(intents)-1]
	fromIdP := false
	for _, in := range intents {
		if in.Kind == latest.Kind && in.Source != store.SourceReconcile {
			fromIdP = true
		}
	}
	if !fromIdP {
		return downstream.PriorityRepair
	}
	switch latest.Kind {
	case store.AccountRemove:
		return downstream.PriorityAccountRemoval
	case store.StoreRemove:
		return downstream.PriorityStoreRemoval
	case store.AccountAdd:
		return downstream.PriorityAccountAdd
	default:
		return downstream.PriorityStoreAdd
	}
}

// isRemoval reports whether p is one of the removal priorities, which may spend
// the budget's reserve.
func isRemoval(p downstream.Priority) bool {
	return p == downstream.PriorityAccountRemoval || p == downstream.PriorityStoreRemoval
}
