// Package store defines the persistence seam of the bridge: the Store interface, the
// records it keeps and the sentinel errors it returns. It imports no backend; the
// SQLite and PostgreSQL implementations live in sub-packages and both pass the
// conformance suite in storetest.
//
// # Contract
//
// Every method is safe for concurrent use by multiple goroutines and, for the
// PostgreSQL backend, by multiple processes sharing one database.
//
// All reads and writes of resources happen inside a transaction obtained from
// [Store.Update] (read-write) or [Store.View] (read-only snapshot). A transaction's
// writes become visible to others only when fn returns nil; if fn returns an error
// nothing it wrote is kept. Update may call fn more than once (the PostgreSQL
// backend retries serialization failures), so fn must not have effects outside the
// transaction other than idempotent ones (computing values, appending to slices it
// resets at its start).
//
// Times are stored and returned in UTC, truncated to whole microseconds (the
// precision both backends keep), so a value read back equals the value written
// after [Truncate].
//
// "Not found" is reported as an error wrapping [ErrNotFound]; a write that would
// break a uniqueness rule (userName case-insensitively, group displayName
// case-insensitively, any id) wraps [ErrConflict]. Callers test with errors.Is.
//
// Ordering: list results are ordered by insertion order of the resource (a
// backend-internal sequence), which is stable across pages and never changes for
// an existing resource, so "startIndex/count" paging is consistent.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned (wrapped) by every backend.
var (
	// ErrNotFound reports that the addressed record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a write would violate a uniqueness rule.
	ErrConflict = errors.New("conflict")
	// ErrReadOnly reports a write attempted inside a View transaction.
	ErrReadOnly = errors.New("read-only transaction")
	// ErrLeaseLost reports that a lease checked with Tx.CheckLease is no longer
	// held by the holder and epoch given: another replica took it over.
	ErrLeaseLost = errors.New("lease lost")
)

// Store is the bridge's persistent state: SCIM resources, the outbox of downstream
// intents, the audit trail, small named state documents, and leases.
type Store interface {
	// Update runs fn inside a read-write transaction and commits if fn returns nil.
	// fn may run more than once; see the package documentation.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn inside a read-only transaction that sees one consistent snapshot.
	// Write methods called on its Tx return ErrReadOnly.
	View(ctx context.Context, fn func(tx Tx) error) error

	// TryLease acquires or renews the named lease for holder until now+ttl. It
	// succeeds when the lease is free, expired, or already held by holder. Each time
	// the lease passes to a different holder its Epoch increases, so work done under
	// an old lease can be told apart (fencing). When another holder has it, TryLease
	// returns that holder's lease and acquired=false.
	TryLease(ctx context.Context, name, holder string, ttl time.Duration) (lease Lease, acquired bool, err error)
	// ReleaseLease gives the lease up if holder holds it; otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error

	// Ping checks that the store is reachable and writable (it writes and deletes
	// a probe row). Used by readiness checks.
	Ping(ctx context.Context) error
	// Close releases the store's resources. The store must not be used afterwards.
	Close() error
}

// SingleWriter is implemented by stores that run one write transaction at a
// time (SQLite). Their writes never abort each other, so callers need not
// serialise conflicting writes themselves.
type SingleWriter interface {
	// SingleWriter reports whether write transactions run one at a time.
	SingleWriter() bool
}

// Tx is one transaction. It must not be used after the function it was passed to
// returns, nor from several goroutines at once.
type Tx interface {
	// GetUser returns the user with id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// CreateUser inserts u. u.ID must be set by the caller and be new; a duplicate id,
	// a userName equal (case-insensitively) to an existing one, or, for an active
	// user, a BCEmail another active user has gives ErrConflict.
	CreateUser(ctx context.Context, u User) error
	// UpdateUser replaces the stored user with the same ID by u (every field except
	// Sync, which only SetUserSync changes). ErrNotFound if absent; ErrConflict if
	// the new userName collides with another user's, or if the user is active and
	// another active user has the same BCEmail.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes the user and its group memberships. ErrNotFound if absent.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers returns the page of users matching q.Filter in insertion order, and
	// the total number of matches (all pages).
	ListUsers(ctx context.Context, q Query) (users []User, total int, err error)
	// SetUserSync replaces the user's synchronisation state. ErrNotFound if absent.
	SetUserSync(ctx context.Context, id string, s SyncState) error

	// GetGroup returns the group with id (without members), or ErrNotFound.
	GetGroup(ctx context.Context, id string) (Group, error)
	// CreateGroup inserts g (without members). Duplicate id or displayName
	// (case-insensitively) gives ErrConflict.
	CreateGroup(ctx context.Context, g Group) error
	// UpdateGroup replaces the stored group with the same ID (members untouched).
	UpdateGroup(ctx context.Context, g Group) error
	// DeleteGroup removes the group and its memberships. ErrNotFound if absent.
	DeleteGroup(ctx context.Context, id string) error
	// ListGroups is ListUsers for groups.
	ListGroups(ctx context.Context, q Query) (groups []Group, total int, err error)

	// GroupMembers returns the group's members ordered by the time they were added.
	// ErrNotFound if the group does not exist.
	GroupMembers(ctx context.Context, groupID string) ([]Member, error)
	// UserGroups returns the ids of the groups the user belongs to, in no particular
	// order (empty if none or if the user does not exist).
	UserGroups(ctx context.Context, userID string) ([]string, error)
	// GroupsOfUsers returns, for each of the users that belongs to any group,
	// the ids of its groups in no particular order, in one read (a page of
	// users renders its groups without a query per user).
	GroupsOfUsers(ctx context.Context, userIDs []string) (map[string][]string, error)
	// AddMembers adds users to the group; users already members are left as they
	// are. ErrNotFound if the group or any of the users does not exist (nothing is
	// added then).
	AddMembers(ctx context.Context, groupID string, userIDs []string) error
	// RemoveMembers removes users from the group; ids that are not members are
	// ignored. ErrNotFound if the group does not exist.
	RemoveMembers(ctx context.Context, groupID string, userIDs []string) error

	// AppendIntents adds downstream intents to the outbox in order and returns their
	// sequence numbers (strictly increasing across the whole store).
	AppendIntents(ctx context.Context, intents []Intent) ([]int64, error)
	// ListIntents returns intents matching f in sequence order.
	ListIntents(ctx context.Context, f IntentFilter) ([]Intent, error)
	// CountIntents returns the number of intents in the given states (all
	// intents when none is given) without reading them.
	CountIntents(ctx context.Context, states ...IntentState) (int, error)
	// PendingEmails returns at most limit distinct emails of pending intents
	// of the given kinds (any kind when none is given), each email in the
	// order of its earliest such intent. With PendingIntentsOf it lets the
	// delivery engine plan a bounded window of the outbox: the net effect of
	// one email's intents never depends on another email's.
	PendingEmails(ctx context.Context, limit int, kinds ...IntentKind) ([]string, error)
	// PendingIntentsOf returns every pending intent of these emails in
	// sequence order.
	PendingIntentsOf(ctx context.Context, emails []string) ([]Intent, error)
	// CountPendingByKind returns the number of pending intents of each kind
	// (kinds without any are absent) without reading them.
	CountPendingByKind(ctx context.Context) (map[IntentKind]int, error)
	// UpdateIntent replaces the delivery fields (State, Attempts, NextAttemptAt,
	// LastError, DoneAt) of the intent with in.Seq, provided its stored state is
	// from (a compare-and-swap: a writer that planned on an older view cannot
	// overwrite an outcome someone else recorded since). ErrNotFound if absent;
	// ErrConflict if its state is not from.
	UpdateIntent(ctx context.Context, in Intent, from IntentState) error
	// OutboxStamp returns a few aggregates of the outbox and the known state,
	// computed without reading intents: they change whenever an intent is
	// appended, becomes pending or stops being pending, or a known-state record
	// is written, so a reader can tell cheaply whether what it loaded is
	// still current.
	OutboxStamp(ctx context.Context) (OutboxStamp, error)
	// ListRemovedIdentities returns every (SCIM user id, email) pair for which
	// a SCIM-sourced account.remove intent with a UserID was ever appended,
	// including intents pruned since, ordered by user id and email. The backend
	// records the pair when the intent is appended; pruning never removes it.
	ListRemovedIdentities(ctx context.Context) ([]RemovedIdentity, error)
	// PruneIntents deletes at most f.Limit settled intents (states done,
	// superseded or dead; a pending state in f.States is an error) whose DoneAt
	// is before f.Before and whose Seq is at most f.MaxSeq, earliest settled first,
	// and returns how many it deleted. Intents without a DoneAt are kept.
	PruneIntents(ctx context.Context, f PruneFilter) (int, error)
	// PruneAudit deletes at most limit audit events whose Time is before
	// before, oldest first, and returns how many it deleted.
	PruneAudit(ctx context.Context, before time.Time, limit int) (int, error)

	// CheckLease returns ErrLeaseLost unless the named lease is still held by
	// l.Holder with epoch l.Epoch. Work done under a lease (delivery results)
	// calls it inside its transaction, so a replica that lost the lease cannot
	// record anything once another has taken over (fencing by epoch).
	CheckLease(ctx context.Context, l Lease) error

	// AppendAudit records an audit event.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the most recent audit events, newest first, at most limit.
	ListAudit(ctx context.Context, limit int) ([]AuditEvent, error)

	// GetBCUsers returns the known-state records of the given (lower-cased) emails
	// that exist, keyed by email.
	GetBCUsers(ctx context.Context, emails []string) (map[string]BCUser, error)
	// PutBCUser creates or replaces one known-state record.
	PutBCUser(ctx context.Context, u BCUser) error
	// ReplaceBCUsers replaces every known-state record (after a full listing).
	ReplaceBCUsers(ctx context.Context, users []BCUser) error
	// ListBCUsers returns every known-state record ordered by email.
	ListBCUsers(ctx context.Context) ([]BCUser, error)

	// GetState returns the named state document, or ErrNotFound.
	GetState(ctx context.Context, key string) ([]byte, error)
	// PutState creates or replaces the named state document.
	PutState(ctx context.Context, key string, value []byte) error

	// AppendHistory adds entries to the access history in order (their Seq is
	// assigned, strictly increasing across the whole store).
	AppendHistory(ctx context.Context, changes []AccessChange) error
	// ListHistory returns the access-history entries matching f in sequence
	// order.
	ListHistory(ctx context.Context, f HistoryFilter) ([]AccessChange, error)
	// DeleteHistory removes the entries with these sequence numbers (history
	// retention); absent ones are ignored.
	DeleteHistory(ctx context.Context, seqs []int64) error
}

// User is a SCIM user as the bridge keeps it.
type User struct {
	// ID is the SCIM id issued by the bridge (case-sensitive, immutable).
	ID string
	// UserName is kept exactly as the IdP sent it; uniqueness and filtering compare
	// it case-insensitively.
	UserName string
	// ExternalID is the IdP's identifier ("" when absent); compared case-sensitively.
	ExternalID string
	// DisplayName is the SCIM displayName ("" when absent); compared
	// case-insensitively.
	DisplayName string
	// Active is the SCIM active flag.
	Active bool
	// Emails are the user's emails, extracted from Attributes for indexing.
	Emails []Email
	// BCEmail is the BigCommerce identity the bridge derived for this user
	// (lower-cased), "" when the user has none.
	BCEmail string
	// Attributes holds every stored SCIM attribute of the resource (core and
	// extensions, keyed as in the SCIM JSON representation), excluding id, meta,
	// schemas, groups and password. Values are JSON-compatible (map[string]any,
	// []any, string, float64, bool).
	Attributes map[string]any
	// Version increases by one on every SCIM write; it backs meta.version/ETag.
	Version int64
	// Created and Modified are meta.created and meta.lastModified.
	Created, Modified time.Time
	// Sync is the downstream synchronisation state, written by the delivery engine.
	Sync SyncState
}

// Email is one entry of a user's emails attribute.
type Email struct {
	Value   string
	Type    string
	Primary bool
}

// SyncState describes how far a user's downstream state has been applied.
type SyncState struct {
	// State is SyncPending, SyncSynced or SyncFailed ("" is read as pending).
	State string
	// LastSyncedAt is when the user's last intent was applied (zero if never).
	LastSyncedAt time.Time
	// BigCommerceUserID is the user's BigCommerce id (bc/account/user/N), if known.
	BigCommerceUserID string
	// LastError is a short, personal-data-free description of the last failure.
	LastError string
}

// Sync states.
const (
	SyncPending = "pending"
	SyncSynced  = "synced"
	SyncFailed  = "failed"
)

// Group is a SCIM group as the bridge keeps it; members are stored separately.
type Group struct {
	ID          string
	DisplayName string
	ExternalID  string
	// Attributes holds stored SCIM attributes other than id, meta, schemas, members.
	Attributes map[string]any
	Version    int64
	Created    time.Time
	Modified   time.Time
}

// Member is one member of a group.
type Member struct {
	// UserID is the member's SCIM id.
	UserID string
	// UserName is the member's current userName (used for SCIM "display").
	UserName string
}

// IntentKind names a downstream operation.
type IntentKind string

// Intent kinds: one per BigCommerce mutation the bridge uses.
const (
	AccountAdd    IntentKind = "account.add"
	AccountRemove IntentKind = "account.remove"
	StoreAdd      IntentKind = "store.add"
	StoreRemove   IntentKind = "store.remove"
)

// IntentState is the delivery state of an intent.
type IntentState string

// Intent states.
const (
	// IntentPending intents wait for delivery.
	IntentPending IntentState = "pending"
	// IntentDone intents were applied downstream or found already in effect.
	IntentDone IntentState = "done"
	// IntentSuperseded intents were cancelled by a later intent for the same target
	// before they were sent (net effect).
	IntentSuperseded IntentState = "superseded"
	// IntentDead intents failed permanently or too often; an operator may retry them.
	IntentDead IntentState = "dead"
)

// Intent sources.
const (
	SourceSCIM      = "scim"
	SourceReconcile = "reconcile"
	SourceOperator  = "operator"
	// SourceDelivery marks access-history entries the delivery engine
	// observed in BigCommerce's answers and listings.
	SourceDelivery = "delivery"
)

// Intent is one downstream change the bridge has promised to make: an entry of
// the outbox, committed in the same transaction as the SCIM change that caused it.
type Intent struct {
	// Seq is assigned by AppendIntents.
	Seq  int64
	Kind IntentKind
	// Email is the BigCommerce identity (lower-cased).
	Email string
	// StoreHash is set for StoreAdd and StoreRemove.
	StoreHash string
	// UserID is the SCIM user the intent is for ("" for users the IdP does not
	// manage, e.g. reconciliation removing an unmanaged user).
	UserID string
	// Source is SourceSCIM, SourceReconcile or SourceOperator.
	Source string
	// RequestID correlates the intent with the SCIM request or run that caused it.
	RequestID string
	// Cause is the kind of request that caused the intent ("user.deactivate",
	// "user.delete", "group.update", "reconcile.repair", ...); it is carried
	// into the access history.
	Cause     string
	CreatedAt time.Time

	// Delivery fields, changed by UpdateIntent.
	State         IntentState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	DoneAt        time.Time
}

// IntentFilter selects intents for ListIntents. Zero fields do not filter.
type IntentFilter struct {
	States   []IntentState
	UserID   string
	AfterSeq int64
	// Limit caps the result; 0 means no limit.
	Limit int
}

// OutboxStamp summarises the outbox and the known state (see Tx.OutboxStamp).
// Two equal stamps taken at different times mean, as far as the delivery
// engine's inputs go, that nothing it reads changed in between, provided the
// reader made no write of its own.
type OutboxStamp struct {
	// MaxSeq is the highest Seq of a stored intent (0 when there is none).
	MaxSeq int64
	// Pending and Dead count the intents in those states.
	Pending, Dead int
	// Known counts the known-state records; KnownAt is the latest UpdatedAt
	// among them (zero when there is none).
	Known   int
	KnownAt time.Time
}

// RemovedIdentity is a BigCommerce identity a SCIM-sourced account removal
// was queued for, with the SCIM user it belonged to. Once that user no longer
// exists, the email is an identity the IdP deleted (reconciliation does not
// offer to re-add it, and removes it again if it reappears).
type RemovedIdentity struct {
	UserID string
	Email  string
}

// PruneFilter selects settled intents for Tx.PruneIntents.
type PruneFilter struct {
	// States are the settled states to prune (IntentDone, IntentSuperseded,
	// IntentDead).
	States []IntentState
	// Before: only intents settled (DoneAt) strictly before it are deleted.
	Before time.Time
	// MaxSeq: only intents with Seq <= MaxSeq are deleted.
	MaxSeq int64
	// Limit caps the number deleted; it must be positive.
	Limit int
}

// AuditEvent is one entry of the audit trail. It holds ids and counts, never
// personal data (no userName, email, names or group names).
type AuditEvent struct {
	Time time.Time
	// Actor identifies who acted: "scim:<token fingerprint>", "delivery",
	// "reconcile", "operator".
	Actor string
	// Action is a short verb phrase such as "user.create" or "intent.dead".
	Action string
	// ResourceType is "User", "Group", "Intent" or "".
	ResourceType string
	ResourceID   string
	RequestID    string
	// Detail is free text without personal data.
	Detail string
}

// BCUser is the bridge's last knowledge of one BigCommerce user, learned from
// listings and from the results of its own mutations.
type BCUser struct {
	// Email is the user's identity (lower-cased).
	Email string
	// UserID is "bc/account/user/N" when known.
	UserID string
	// InAccount says whether the user is in the account.
	InAccount bool
	// Stores are the hashes of the stores the user can reach.
	Stores []string
	// AccountInDoubt is set while a request that adds or removes the user's
	// account membership went out and no answer was recorded (a crash, a
	// timeout, a cancel): BigCommerce may or may not have applied it, so
	// InAccount (and with it every store) is not evidence. StoresInDoubt lists
	// the stores in the same situation. Both are cleared when BigCommerce
	// answers for that target.
	AccountInDoubt bool
	StoresInDoubt  []string
	// UpdatedAt is when this knowledge was last confirmed.
	UpdatedAt time.Time
}

// Outcomes of an access-history entry.
const (
	// HistoryApplied: BigCommerce confirmed it applied the change.
	HistoryApplied = "applied"
	// HistoryAlready: BigCommerce answered that the change was already in
	// effect.
	HistoryAlready = "already"
	// HistoryObserved: the change was seen in a listing or in an answer, not
	// made by the bridge (someone changed BigCommerce directly, or the
	// bridge's first listing found access that predates it).
	HistoryObserved = "observed"
	// HistoryDead: the bridge gave up on the change (dead letter); BigCommerce
	// never confirmed it, so the person's access did not change.
	HistoryDead = "dead"
)

// AccessChange is one entry of the access history: one change of one
// person's access to the account or to one store. Unlike the audit trail it
// holds personal data (the email) by design; it is read only through the
// command line and never logged or exported as a metric.
type AccessChange struct {
	// Seq is assigned by AppendHistory; entries replay in Seq order.
	Seq int64
	// At is when BigCommerce confirmed the change, when it was observed, or
	// when it was given up (dead).
	At time.Time
	// Email is the BigCommerce identity (lower-cased).
	Email string
	// StoreHash is "" for account membership.
	StoreHash string
	// Change is AccountAdd, AccountRemove, StoreAdd or StoreRemove.
	Change IntentKind
	// Outcome is HistoryApplied, HistoryAlready, HistoryObserved or HistoryDead.
	Outcome string
	// UserID is the SCIM user ("" when the IdP does not manage the person).
	UserID string
	// Source, RequestID and Cause say who asked: the SCIM request (its id and
	// kind), the reconciliation run, or the operator command.
	Source    string
	RequestID string
	Cause     string
	// RequestedAt is when the change was asked for (zero when observed).
	RequestedAt time.Time
}

// HistoryFilter selects access-history entries. Zero fields do not filter.
type HistoryFilter struct {
	// Email selects one person (lower-cased).
	Email string
	// Since and Until bound At: Since <= At < Until.
	Since, Until time.Time
	// AfterSeq returns only entries with a larger Seq (paging).
	AfterSeq int64
	// Limit caps the result; 0 means no limit.
	Limit int
}

// Lease is a named, expiring lock held by one holder at a time.
type Lease struct {
	Name    string
	Holder  string
	Epoch   int64
	Expires time.Time
}

// Query selects and pages resources.
type Query struct {
	// Filter restricts the result; nil matches everything.
	Filter Expr
	// Offset skips that many matches (SCIM startIndex-1).
	Offset int
	// Limit caps the page; a negative Limit means no cap, 0 returns no resources
	// (only the total).
	Limit int
}

// Truncate returns t in UTC truncated to the microsecond precision the store keeps.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
