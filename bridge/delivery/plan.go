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
	sorted := append([]store.Intent(nil), pending...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })

	byTarget := map[target][]store.Intent{}
	var order []target
	lastAccountRemoval := map[string]int64{}
	for _, in := range sorted {
		t := target{email: in.Email}
		if in.Kind == store.StoreAdd || in.Kind == store.StoreRemove {
			t.store = in.StoreHash
		}
		if _, seen := byTarget[t]; !seen {
			order = append(order, t)
		}
		byTarget[t] = append(byTarget[t], in)
		if in.Kind == store.AccountRemove {
			lastAccountRemoval[in.Email] = in.Seq
		}
	}

	var p Plan
	settle := func(in store.Intent, state store.IntentState, reason string) {
		p.Settled = append(p.Settled, Settle{Seq: in.Seq, UserID: in.UserID, State: state, Reason: reason})
	}

	// Collapsed removals: the account target's latest intent is an addition
	// and an earlier pending one a removal.
	for _, t := range order {
		if t.store != "" {
			continue
		}
		intents := byTarget[t]
		latest := intents[len(intents)-1]
		if latest.Kind != store.AccountAdd {
			continue
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
			continue
		}
		want, haveDesired := desired[latest.UserID]
		if !haveDesired {
			// The engine loads the desired stores of every user whose removal
			// collapses; a user it could not find was deleted, and its deletion
			// queued a later removal, so this addition is not the latest.
			continue
		}
		for _, in := range removals {
			settle(in, store.IntentSuperseded, "superseded: reactivated before delivery")
		}
		byTarget[t] = append(rest, latest)
		delete(lastAccountRemoval, t.email)
		if u, ok := known.Lookup(t.email); ok && (u.InAccount || u.AccountInDoubt) {
			for _, h := range mayHaveStores(u) {
				if slices.Contains(want, h) || pendingStoreIntent(byTarget[target{t.email, h}]) {
					continue
				}
				p.Append = append(p.Append, store.Intent{Kind: store.StoreRemove, Email: t.email, StoreHash: h,
					UserID: latest.UserID, Source: latest.Source, RequestID: latest.RequestID, Cause: latest.Cause, CreatedAt: latest.CreatedAt,
					State: store.IntentPending})
			}
		}
	}

	// Account additions in this plan, so store additions can wait for them.
	accountAdd := map[string]bool{}
	for _, t := range order {
		if t.store == "" {
			intents := byTarget[t]
			if latest := intents[len(intents)-1]; latest.Kind == store.AccountAdd {
				if u, ok := known.Lookup(t.email); !ok || !u.InAccount || u.AccountInDoubt {
					accountAdd[t.email] = true
				}
			}
		}
	}

	for _, t := range order {
		intents := byTarget[t]
		if t.store != "" {
			// Drop store intents that an account removal makes moot.
			cut := lastAccountRemoval[t.email]
			live := intents[:0:0]
			for _, in := range intents {
				if in.Seq < cut {
					settle(in, store.IntentSuperseded, "moot: account removal takes store access")
				} else {
					live = append(live, in)
				}
			}
			intents = live
			if len(intents) == 0 {
				continue
			}
		}
		latest := intents[len(intents)-1]
		u, isKnown := known.Lookup(t.email)
		if isKnown && !inDoubt(u, t.store) && inEffect(latest, u) {
			for _, in := range intents[:len(intents)-1] {
				settle(in, store.IntentSuperseded, "superseded")
			}
			settle(latest, store.IntentDone, "already in effect")
			continue
		}
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
			op.AfterAccountAdd = accountAdd[t.email]
		case store.StoreRemove:
			op.Op.Kind = downstream.OpRemoveFromStore
			op.Op.UserID = u.UserID
			op.NeedsUserID = u.UserID == ""
		}
		p.Ops = append(p.Ops, op)
	}
	sort.SliceStable(p.Ops, func(i, j int) bool {
		a, b := p.Ops[i], p.Ops[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Latest.Seq < b.Latest.Seq
	})
	return p
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
