package reconcile

import (
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"sort"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// What a run does with BigCommerce users the IdP does not know.
const (
	// UnmanagedReport lists unmanaged users and leaves them alone (default).
	UnmanagedReport = "report"
	// UnmanagedRemove removes unmanaged users from the account.
	UnmanagedRemove = "remove"
)

// Policy is the operator's choice of what a run may change.
type Policy struct {
	// Unmanaged is UnmanagedReport ("" means the same) or UnmanagedRemove.
	Unmanaged string
	// Protected are emails (compared case-insensitively) the bridge never
	// touches: they are reported with class ClassProtected and nothing else.
	Protected []string
	// MaxRemovals caps the removals (account and store) one run may queue; a
	// plan with more is aborted and queues nothing. 0 allows no removal at all.
	MaxRemovals int
}

// Class is a kind of drift. Its values are bounded and used as metric labels.
type Class string

// Drift classes.
const (
	// ClassMissingFromAccount is a managed user who should be in the account and is not.
	ClassMissingFromAccount Class = "missing_from_account"
	// ClassMissingFromStore is a managed user who lacks access to a store its groups grant.
	ClassMissingFromStore Class = "missing_from_store"
	// ClassDeactivatedPresent is a user the IdP deactivated who is still in the account.
	ClassDeactivatedPresent Class = "deactivated_present"
	// ClassDeletedPresent is a user the IdP deleted whose email is still in the account.
	ClassDeletedPresent Class = "deleted_present"
	// ClassExcessStoreAccess is a managed user who reaches a store its groups do not grant.
	ClassExcessStoreAccess Class = "excess_store_access"
	// ClassUnmanaged is a user in BigCommerce the IdP does not know.
	ClassUnmanaged Class = "unmanaged"
	// ClassProtected is a protected email that was found: reported, never touched.
	ClassProtected Class = "protected"
)

// Classes returns every drift class in reporting order.
func Classes() []Class {
	return []Class{
		ClassMissingFromAccount, ClassMissingFromStore, ClassDeactivatedPresent, ClassDeletedPresent,
		ClassExcessStoreAccess, ClassUnmanaged, ClassProtected,
	}
}

// IsDrift reports whether the class is drift (everything but ClassProtected,
// which is informational).
func (c Class) IsDrift() bool { return c != ClassProtected }

// ActionNone is the Action of an item the plan does not repair (unmanaged users
// under UnmanagedReport, protected emails).
const ActionNone = "none"

// Item is one finding of a plan. Email is personal data: Items are shown to the
// operator (the reconcile command, the compliance report) and never logged.
type Item struct {
	// Class is the kind of drift.
	Class Class `json:"class"`
	// Email is the BigCommerce identity (lower-cased).
	Email string `json:"email"`
	// Store is the store hash for store classes, "" otherwise.
	Store string `json:"store,omitempty"`
	// UserID is the SCIM id of the user when the IdP manages it.
	UserID string `json:"scimId,omitempty"`
	// Action is the intent kind that repairs it ("account.add", "account.remove",
	// "store.add", "store.remove"), or ActionNone.
	Action string `json:"action"`
}

// Outbox is what a plan needs to know of the outbox history; the Runner derives
// it from the store (see [Runner.RunOnce]).
type Outbox struct {
	// Deleted are emails whose SCIM user was deleted: the email of every
	// SCIM-sourced account.remove intent whose SCIM user no longer exists.
	Deleted []string
	// Pending are emails the delivery engine is about to change (they have
	// pending intents, or had some while BigCommerce was being read). They are
	// not compared: what BigCommerce shows for them is about to change.
	Pending []string
}

// PlanResult is the outcome of [Plan]: the drift found and the repairs for it.
type PlanResult struct {
	// Items lists every finding, ordered by email, then class, then store.
	Items []Item
	// Intents are the repairs, ready to append to the outbox (Source
	// SourceReconcile, State pending; the caller stamps RequestID and
	// CreatedAt). Empty when Aborted.
	Intents []store.Intent
	// Counts has one entry per class (zero included).
	Counts map[Class]int
	// Removals is the number of account and store removals the plan needs,
	// whether or not it was aborted.
	Removals int
	// Pending are the emails skipped because of pending intents (sorted), among
	// those the plan would otherwise have compared.
	Pending []string
	// Aborted is set when Removals exceeds the policy's MaxRemovals; Reason then
	// says why (without personal data) and Intents is empty.
	Aborted bool
	Reason  string
}

// Drift returns the number of items that are drift (not ClassProtected).
func (p PlanResult) Drift() int {
	n := 0
	for _, it := range p.Items {
		if it.Class.IsDrift() {
			n++
		}
	}
	return n
}

// Unrepaired returns the number of drift items the plan leaves in place: all of
// them when Aborted, otherwise those without an action (unmanaged users under
// UnmanagedReport).
func (p PlanResult) Unrepaired() int {
	n := 0
	for _, it := range p.Items {
		if it.Class.IsDrift() && (p.Aborted || it.Action == ActionNone) {
			n++
		}
	}
	return n
}

// Plan compares what the IdP wants (desired, one entry per SCIM user) with what
// BigCommerce has (actual, a complete snapshot) and returns the drift and the
// intents that repair it. It does no I/O.
//
// Each email found in BigCommerce or wanted by a present SCIM user is looked at
// once, in this order:
//
//  1. protected (Policy.Protected): one ClassProtected item, nothing else;
//  2. in outbox.Pending: skipped, listed in PlanResult.Pending;
//  3. wanted by a present SCIM user: ClassMissingFromAccount (account.add, and
//     store.add for each store its groups grant, as ClassMissingFromStore
//     items), or per store ClassMissingFromStore (store.add) and
//     ClassExcessStoreAccess (store.remove);
//  4. in BigCommerce and known only to SCIM users who are not present
//     (deactivated): ClassDeactivatedPresent (account.remove);
//  5. in BigCommerce and in outbox.Deleted: ClassDeletedPresent (account.remove);
//  6. in BigCommerce otherwise: ClassUnmanaged (account.remove under
//     UnmanagedRemove, no action under UnmanagedReport).
//
// Stores a group grants that the snapshot does not list (deleted stores, wrong
// explicit mappings) are not compared: no request could repair them (the
// delivery engine dead-letters such intents with reason store_not_found).
//
// When the removals exceed Policy.MaxRemovals the plan is Aborted: the items
// are still returned, so the operator sees why, but no intent is.
func Plan(desired []bridge.Desired, outbox Outbox, actual known.Snapshot, policy Policy) PlanResult {
	p := newPlanner(desired, outbox, actual, policy)
	for _, e := range p.emails() {
		p.planEmail(e)
	}
	out := p.out
	sortItems(out.Items)
	if out.Removals > policy.MaxRemovals {
		out.Aborted = true
		out.Reason = fmt.Sprintf("the plan needs %d removals, more than the cap of %d (reconcile.max_removals or --max-removals): nothing was applied",
			out.Removals, policy.MaxRemovals)
		out.Intents = nil
	}
	return out
}

// planner holds what Plan compares, indexed by lower-case email, and the
// plan it builds.
type planner struct {
	protected, pending, deleted map[string]bool
	removeUnmanaged             bool
	// stores are the account's store hashes; have its users.
	stores map[string]bool
	have   map[string]store.BCUser
	// present: the SCIM user who wants the email in the account; inactive:
	// the first (by id) SCIM user who has the email but is not present.
	present, inactive map[string]bridge.Desired
	out               PlanResult
}

// newPlanner indexes the desired users, the outbox, the account and the
// policy for Plan, and starts a plan with every class counted at zero.
func newPlanner(desired []bridge.Desired, outbox Outbox, actual known.Snapshot, policy Policy) *planner {
	p := &planner{
		protected:       lowerSet(policy.Protected),
		pending:         lowerSet(outbox.Pending),
		deleted:         lowerSet(outbox.Deleted),
		removeUnmanaged: policy.Unmanaged == UnmanagedRemove,
		stores:          make(map[string]bool, len(actual.StoreUsers)),
		out:             PlanResult{Counts: make(map[Class]int, len(Classes()))},
	}
	for _, su := range actual.StoreUsers {
		p.stores[su.Store.Hash] = true
	}
	known := actual.Known()
	p.have = make(map[string]store.BCUser, len(known))
	for _, k := range known {
		p.have[k.Email] = k
	}
	p.present, p.inactive = indexDesired(desired)
	for _, c := range Classes() {
		p.out.Counts[c] = 0
	}
	return p
}

// indexDesired indexes the SCIM users by lower-case email: present holds
// the one (lowest id) who wants the email in the account, inactive the
// first by id of those who have it but are not present.
func indexDesired(desired []bridge.Desired) (present, inactive map[string]bridge.Desired) {
	present = make(map[string]bridge.Desired, len(desired))
	inactive = map[string]bridge.Desired{}
	for _, d := range desired {
		e := strings.ToLower(d.Email)
		if e == "" {
			continue
		}
		if d.Present {
			if cur, ok := present[e]; !ok || d.UserID < cur.UserID {
				present[e] = d
			}
			continue
		}
		if cur, ok := inactive[e]; !ok || d.UserID < cur.UserID {
			inactive[e] = d
		}
	}
	return present, inactive
}

// emails returns, sorted, every email in the account or wanted in it.
func (p *planner) emails() []string {
	emails := make([]string, 0, len(p.have)+len(p.present))
	for e := range p.have {
		emails = append(emails, e)
	}
	for e := range p.present {
		if _, ok := p.have[e]; !ok {
			emails = append(emails, e)
		}
	}
	sort.Strings(emails)
	return emails
}

// add records an item of class c and, when kind is set, the intent that
// repairs it, counting removals against the cap.
func (p *planner) add(c Class, email, hash, userID string, kind store.IntentKind) {
	out := &p.out
	action := ActionNone
	if kind != "" {
		action = string(kind)
		out.Intents = append(out.Intents, store.Intent{
			Kind: kind, Email: email, StoreHash: hash, UserID: userID,
			Source: store.SourceReconcile, Cause: "reconcile.repair", State: store.IntentPending,
		})
		if kind == store.AccountRemove || kind == store.StoreRemove {
			out.Removals++
		}
	}
	out.Items = append(out.Items, Item{Class: c, Email: email, Store: hash, UserID: userID, Action: action})
	out.Counts[c]++
}

// planEmail plans one email: protected and pending emails are left alone,
// a wanted user is added or has its stores repaired, and anyone else in the
// account is removed or reported.
func (p *planner) planEmail(e string) {
	bc, inBC := p.have[e]
	want, isPresent := p.present[e]
	switch {
	case p.protected[e]:
		p.add(ClassProtected, e, "", want.UserID, "")
	case p.pending[e]:
		p.out.Pending = append(p.out.Pending, e)
	case isPresent && !inBC:
		p.add(ClassMissingFromAccount, e, "", want.UserID, store.AccountAdd)
		for _, h := range want.Stores {
			if p.stores[h] {
				p.add(ClassMissingFromStore, e, h, want.UserID, store.StoreAdd)
			}
		}
	case isPresent:
		p.planStores(e, want, bc)
	default:
		p.planAbsent(e)
	}
}

// planStores repairs the stores of a user who is in the account and wanted
// there: stores it should reach and does not, and stores it reaches and
// should not.
func (p *planner) planStores(e string, want bridge.Desired, bc store.BCUser) {
	wantStores := make(map[string]bool, len(want.Stores))
	for _, h := range want.Stores {
		wantStores[h] = true
	}
	haveStores := make(map[string]bool, len(bc.Stores))
	for _, h := range bc.Stores {
		haveStores[h] = true
	}
	for _, h := range want.Stores {
		if p.stores[h] && !haveStores[h] {
			p.add(ClassMissingFromStore, e, h, want.UserID, store.StoreAdd)
		}
	}
	for _, h := range bc.Stores {
		if !wantStores[h] {
			p.add(ClassExcessStoreAccess, e, h, want.UserID, store.StoreRemove)
		}
	}
}

// planAbsent plans an account user no SCIM user wants there: deactivated
// and deleted users are removed, an unmanaged one as the policy says.
func (p *planner) planAbsent(e string) {
	if d, ok := p.inactive[e]; ok {
		p.add(ClassDeactivatedPresent, e, "", d.UserID, store.AccountRemove)
	} else if p.deleted[e] {
		p.add(ClassDeletedPresent, e, "", "", store.AccountRemove)
	} else if p.removeUnmanaged {
		p.add(ClassUnmanaged, e, "", "", store.AccountRemove)
	} else {
		p.add(ClassUnmanaged, e, "", "", "")
	}
}

// sortItems orders items by email, then class, then store.
func sortItems(items []Item) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.Email != b.Email {
			return a.Email < b.Email
		}
		if a.Class != b.Class {
			return classRank(a.Class) < classRank(b.Class)
		}
		return a.Store < b.Store
	})
}

func classRank(c Class) int {
	for i, k := range Classes() {
		if k == c {
			return i
		}
	}
	return len(Classes())
}

func lowerSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			m[s] = true
		}
	}
	return m
}
