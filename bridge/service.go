package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Options configures a Service.
type Options struct {
	// Store keeps resources and the outbox. Required.
	Store store.Store
	// Logger receives debug records with ids and counts only. Optional.
	Logger *zap.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// EmailSource picks the BigCommerce identity of a user; EmailAuto when "".
	EmailSource EmailSource
	// Mapping decides which store each group grants.
	Mapping Mapping
	// NewID issues resource ids; random UUIDs when nil.
	NewID func() string
	// OnCommit, when set, is called after every committed write (the delivery
	// engine uses it to wake up at once). It must not block.
	OnCommit func()
}

// Service validates SCIM changes and commits them with their downstream intents.
// It is safe for concurrent use.
type Service struct {
	store   store.Store
	log     *zap.Logger
	now     func() time.Time
	source  EmailSource
	mapping Mapping
	newID   func() string
	notify  func()

	groupLocks [64]sync.Mutex
	// lockGroups is false for stores that run one write at a time: their group
	// writes cannot abort each other, and a lock would only add a second queue.
	lockGroups bool
}

// NewService returns a Service.
func NewService(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("bridge: Options.Store is required")
	}
	s := &Service{store: opts.Store, log: opts.Logger, now: opts.Now, source: opts.EmailSource, mapping: opts.Mapping, newID: opts.NewID, notify: opts.OnCommit}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.Named("service")
	if s.now == nil {
		s.now = time.Now
	}
	if s.source == "" {
		s.source = EmailAuto
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	if s.notify == nil {
		s.notify = func() {}
	}
	sw, ok := opts.Store.(store.SingleWriter)
	s.lockGroups = !ok || !sw.SingleWriter()
	return s, nil
}

// Store returns the store the service writes to.
func (s *Service) Store() store.Store { return s.store }

// UserView is a user together with the groups it belongs to.
type UserView struct {
	store.User
	Groups []GroupRef
}

// GroupRef names a group a user belongs to.
type GroupRef struct {
	ID          string
	DisplayName string
}

// GroupView is a group, with its members when they were asked for.
type GroupView struct {
	store.Group
	Members       []store.Member
	MembersLoaded bool
}

// Precondition reports whether a write may proceed given the stored version
// (If-Match). A nil Precondition always holds.
type Precondition func(version int64) bool

// noEmailError is the sync error of an active user without a usable email.
const noEmailError = "no usable email address for the BigCommerce identity"

// readOnlyUserKeys are dropped from incoming user attributes: the bridge owns
// them or never keeps them.
var readOnlyUserKeys = []string{"id", "meta", "schemas", "groups", "password"}

// readOnlyGroupKeys are dropped from incoming group attributes (members are
// passed separately).
var readOnlyGroupKeys = []string{"id", "meta", "schemas", "members"}

// CreateUser validates attrs (SCIM attributes of a new user), stores the user and
// its intents, and returns it.
func (s *Service) CreateUser(ctx context.Context, attrs map[string]any) (UserView, error) {
	u, err := s.buildUser(attrs, nil)
	if err != nil {
		return UserView{}, err
	}
	now := s.clock()
	u.ID = s.newID()
	u.Version = 1
	u.Created, u.Modified = now, now
	var out UserView
	err = s.write(ctx, func(tx store.Tx) error {
		t, err := s.begin(ctx, tx, now)
		if err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return userWriteError(ctx, tx, u, err)
		}
		after := t.access(u, nil)
		if err := t.finish(u.ID, "user.create", "User", map[string]accessChange{u.ID: {user: u, before: Access{}, after: after}}); err != nil {
			return err
		}
		return t.readBack(&out, u.ID, nil)
	})
	if err != nil {
		return UserView{}, err
	}
	return out, nil
}

// GetUser returns the user with id, or an error wrapping ErrNotFound.
func (s *Service) GetUser(ctx context.Context, id string) (UserView, error) {
	var out UserView
	if !ValidID(id) {
		return out, fmt.Errorf("%w", ErrNotFound)
	}
	err := s.store.View(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, id)
		if err != nil {
			return notFound(err)
		}
		groups, err := newGroupNames(tx).userGroups(ctx, id)
		if err != nil {
			return err
		}
		out = UserView{User: u, Groups: groups}
		return nil
	})
	return out, err
}

// ListUsers returns the users matching q and the total number of matches.
func (s *Service) ListUsers(ctx context.Context, q store.Query) ([]UserView, int, error) {
	var (
		out   []UserView
		total int
	)
	err := s.store.View(ctx, func(tx store.Tx) error {
		users, n, err := tx.ListUsers(ctx, q)
		if err != nil {
			return err
		}
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		of, err := tx.GroupsOfUsers(ctx, ids)
		if err != nil {
			return err
		}
		names := newGroupNames(tx)
		out = make([]UserView, 0, len(users))
		for _, u := range users {
			groups, err := names.refs(ctx, of[u.ID])
			if err != nil {
				return err
			}
			out = append(out, UserView{User: u, Groups: groups})
		}
		total = n
		return nil
	})
	return out, total, err
}

// UpdateUser replaces the user with id by the attributes fn returns. fn receives
// the current user and may run more than once; it must not have side effects. A
// change that leaves every attribute as it was is not a write (the version stays).
// Attributes without "active" keep the user's current active state: an absent
// active never grants access.
func (s *Service) UpdateUser(ctx context.Context, id string, pre Precondition, fn func(cur UserView) (map[string]any, error)) (UserView, error) {
	var out UserView
	if !ValidID(id) {
		return out, fmt.Errorf("%w", ErrNotFound)
	}
	err := s.write(ctx, func(tx store.Tx) error {
		now := s.clock()
		t, err := s.begin(ctx, tx, now)
		if err != nil {
			return err
		}
		cur, groups, err := t.current(id, pre)
		if err != nil {
			return err
		}
		out = UserView{User: cur, Groups: groups}
		attrs, err := fn(out)
		if err != nil {
			return err
		}
		next, err := s.buildUser(attrs, &cur)
		if err != nil {
			return err
		}
		if reflect.DeepEqual(next.Attributes, cur.Attributes) {
			return nil
		}
		next.ID, next.Created, next.Sync = cur.ID, cur.Created, cur.Sync
		next.Version, next.Modified = cur.Version+1, now
		if err := tx.UpdateUser(ctx, next); err != nil {
			return userWriteError(ctx, tx, next, err)
		}
		stores := t.storesOf(groups)
		if err := t.finish(id, "user.update", "User", map[string]accessChange{
			id: {user: next, before: t.access(cur, stores), after: t.access(next, stores)},
		}); err != nil {
			return err
		}
		return t.readBack(&out, id, groups)
	})
	if err != nil {
		return UserView{}, err
	}
	return out, nil
}

// DeleteUser removes the user with id and its memberships; a present user is
// removed from the BigCommerce account.
func (s *Service) DeleteUser(ctx context.Context, id string, pre Precondition) error {
	if !ValidID(id) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	return s.write(ctx, func(tx store.Tx) error {
		t, err := s.begin(ctx, tx, s.clock())
		if err != nil {
			return err
		}
		cur, groups, err := t.current(id, pre)
		if err != nil {
			return err
		}
		before := t.access(cur, t.storesOf(groups))
		if err := tx.DeleteUser(ctx, id); err != nil {
			return notFound(err)
		}
		return t.finish(id, "user.delete", "User", map[string]accessChange{
			id: {user: cur, before: before, after: Access{}, deleted: true},
		})
	})
}

// CreateGroup validates attrs, stores the group with the given members and the
// intents their new store access implies.
func (s *Service) CreateGroup(ctx context.Context, attrs map[string]any, memberIDs []string) (GroupView, error) {
	g, err := buildGroup(attrs)
	if err != nil {
		return GroupView{}, err
	}
	if err := checkMemberIDs(memberIDs); err != nil {
		return GroupView{}, err
	}
	now := s.clock()
	g.ID = s.newID()
	g.Version = 1
	g.Created, g.Modified = now, now
	members := dedupe(memberIDs)
	var out GroupView
	err = s.write(ctx, func(tx store.Tx) error {
		t, err := s.begin(ctx, tx, now)
		if err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return groupWriteError(err)
		}
		t.names.renamed(g.ID, g.DisplayName)
		if err := t.changeMembership(g.ID, "group.create", members, func() error {
			if len(members) == 0 {
				return nil
			}
			if err := addMembers(ctx, tx, g.ID, members); err != nil {
				return err
			}
			t.names.membersChanged(g.ID, members, nil)
			return nil
		}); err != nil {
			return err
		}
		view, err := tx.GroupMembers(ctx, g.ID)
		out = GroupView{Group: g, Members: view, MembersLoaded: true}
		return err
	})
	if err != nil {
		return GroupView{}, err
	}
	return out, nil
}

// GetGroup returns the group with id, with its members when withMembers is set.
func (s *Service) GetGroup(ctx context.Context, id string, withMembers bool) (GroupView, error) {
	var out GroupView
	if !ValidID(id) {
		return out, fmt.Errorf("%w", ErrNotFound)
	}
	err := s.store.View(ctx, func(tx store.Tx) error {
		g, err := tx.GetGroup(ctx, id)
		if err != nil {
			return notFound(err)
		}
		out = GroupView{Group: g}
		if withMembers {
			if out.Members, err = tx.GroupMembers(ctx, id); err != nil {
				return err
			}
			out.MembersLoaded = true
		}
		return nil
	})
	return out, err
}

// ListGroups returns the groups matching q and the total number of matches.
func (s *Service) ListGroups(ctx context.Context, q store.Query, withMembers bool) ([]GroupView, int, error) {
	var (
		out   []GroupView
		total int
	)
	err := s.store.View(ctx, func(tx store.Tx) error {
		groups, n, err := tx.ListGroups(ctx, q)
		if err != nil {
			return err
		}
		out = make([]GroupView, 0, len(groups))
		for _, g := range groups {
			v := GroupView{Group: g}
			if withMembers {
				if v.Members, err = tx.GroupMembers(ctx, g.ID); err != nil {
					return err
				}
				v.MembersLoaded = true
			}
			out = append(out, v)
		}
		total = n
		return nil
	})
	return out, total, err
}

// MemberChange says how a group write changes its members.
type MemberChange struct {
	// Set, when true, makes Members the complete member list.
	Set     bool
	Members []string
	// Otherwise Add and Remove name the users that join and leave (disjoint);
	// adding a member or removing a non-member changes nothing.
	Add, Remove []string
}

// UpdateGroup changes the group with id to the attributes and members fn
// returns; fn receives the current group, with its members only when
// loadMembers is set (a PATCH that adds or removes named members needs none
// of them: only the users it names are read and written, so writes to large
// groups stay cheap). fn may run more than once and must not have side
// effects. It returns the group as committed, without members.
func (s *Service) UpdateGroup(ctx context.Context, id string, pre Precondition, loadMembers bool,
	fn func(cur GroupView) (map[string]any, MemberChange, error),
) (GroupView, error) {
	if !ValidID(id) {
		return GroupView{}, fmt.Errorf("%w", ErrNotFound)
	}
	// Concurrent writes to one group conflict in the store (they change one
	// row); serialising them here avoids aborted transactions in this replica.
	unlock := s.groupLock(id)
	defer unlock()
	var out GroupView
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		out, err = s.updateGroupIn(ctx, tx, id, pre, loadMembers, fn)
		return err
	})
	if err != nil {
		return GroupView{}, err
	}
	return out, nil
}

// updateGroupIn is one attempt of UpdateGroup inside the write transaction
// tx. It returns the group as it stands when the transaction commits: the
// current group when fn changes nothing (and nothing is written), else the
// new version.
func (s *Service) updateGroupIn(ctx context.Context, tx store.Tx, id string, pre Precondition, loadMembers bool,
	fn func(cur GroupView) (map[string]any, MemberChange, error),
) (GroupView, error) {
	now := s.clock()
	t, err := s.begin(ctx, tx, now)
	if err != nil {
		return GroupView{}, err
	}
	view, err := t.groupForUpdate(id, pre, loadMembers)
	if err != nil {
		return GroupView{}, err
	}
	cur := view.Group
	attrs, mc, err := fn(view)
	if err != nil {
		return GroupView{}, err
	}
	if mc, err = checkMemberChange(mc); err != nil {
		return GroupView{}, err
	}
	next, err := buildGroup(attrs)
	if err != nil {
		return GroupView{}, err
	}
	renamed := t.r.storeFor(next.DisplayName) != t.r.storeFor(cur.DisplayName)
	// The current members are needed to diff a complete list and, when the
	// group now grants another store, to re-evaluate every member.
	members, err := t.currentMembers(id, view, mc.Set || renamed)
	if err != nil {
		return GroupView{}, err
	}
	added, removed, err := t.memberDelta(id, mc, members)
	if err != nil {
		return GroupView{}, err
	}
	if len(added) == 0 && len(removed) == 0 && reflect.DeepEqual(next.Attributes, cur.Attributes) {
		return GroupView{Group: cur}, nil
	}
	next.ID, next.Created = cur.ID, cur.Created
	next.Version, next.Modified = cur.Version+1, now
	affected := affectedByGroupUpdate(added, removed, renamed, members)
	if err := t.changeMembership(id, "group.update", affected, func() error {
		return t.writeGroupUpdate(id, next, added, removed)
	}); err != nil {
		return GroupView{}, err
	}
	return GroupView{Group: next}, nil
}

// groupForUpdate reads the group a write starts from, checks the If-Match
// precondition and, when loadMembers is set, loads its members; the
// precondition is checked first so that a stale write does not pay for them.
func (t *txn) groupForUpdate(id string, pre Precondition, loadMembers bool) (GroupView, error) {
	cur, err := t.tx.GetGroup(t.ctx, id)
	if err != nil {
		return GroupView{}, notFound(err)
	}
	if pre != nil && !pre(cur.Version) {
		return GroupView{}, ErrPrecondition
	}
	view := GroupView{Group: cur}
	if loadMembers {
		if view.Members, err = t.tx.GroupMembers(t.ctx, id); err != nil {
			return GroupView{}, err
		}
		view.MembersLoaded = true
	}
	return view, nil
}

// currentMembers returns the group's current members when need is set,
// reusing those view already holds, and nil otherwise.
func (t *txn) currentMembers(id string, view GroupView, need bool) ([]store.Member, error) {
	if !need {
		return nil, nil
	}
	if view.MembersLoaded {
		return view.Members, nil
	}
	return t.tx.GroupMembers(t.ctx, id)
}

// affectedByGroupUpdate returns the users whose store access a group update
// can change, each once: those joining or leaving, and every member when the
// group now grants another store.
func affectedByGroupUpdate(added, removed []string, renamed bool, members []store.Member) []string {
	affected := append(append([]string(nil), added...), removed...)
	if renamed {
		for _, m := range members {
			affected = append(affected, m.UserID)
		}
	}
	return dedupe(affected)
}

// writeGroupUpdate stores the new version of the group and its member
// changes: the group row first, then the removals, then the additions.
func (t *txn) writeGroupUpdate(id string, next store.Group, added, removed []string) error {
	if err := t.tx.UpdateGroup(t.ctx, next); err != nil {
		return groupWriteError(err)
	}
	t.names.renamed(id, next.DisplayName)
	if len(removed) > 0 {
		if err := t.tx.RemoveMembers(t.ctx, id, removed); err != nil {
			return err
		}
	}
	if len(added) > 0 {
		if err := addMembers(t.ctx, t.tx, id, added); err != nil {
			return err
		}
	}
	t.names.membersChanged(id, added, removed)
	return nil
}

// memberDelta returns the users a change really adds and removes. For a
// complete list it diffs with the current members; for named changes it looks
// at the named users' memberships only. Users that do not exist are kept in
// added, so that the write fails on them with a clear error.
func (t *txn) memberDelta(groupID string, mc MemberChange, current []store.Member) (added, removed []string, err error) {
	if mc.Set {
		old := make(map[string]bool, len(current))
		for _, m := range current {
			old[m.UserID] = true
		}
		keep := map[string]bool{}
		for _, id := range dedupe(mc.Members) {
			keep[id] = true
			if !old[id] {
				added = append(added, id)
			}
		}
		for _, m := range current {
			if !keep[m.UserID] {
				removed = append(removed, m.UserID)
			}
		}
		return added, removed, nil
	}
	isMember := func(userID string) (bool, error) {
		groups, err := t.names.groupIDs(t.ctx, userID)
		return slices.Contains(groups, groupID), err
	}
	for _, id := range dedupe(mc.Add) {
		in, err := isMember(id)
		if err != nil {
			return nil, nil, err
		}
		if !in {
			added = append(added, id)
		}
	}
	for _, id := range dedupe(mc.Remove) {
		in, err := isMember(id)
		if err != nil {
			return nil, nil, err
		}
		if in {
			removed = append(removed, id)
		}
	}
	return added, removed, nil
}

// groupLock serialises writes to one group within this process, for stores
// whose concurrent writers abort each other on conflict (PostgreSQL at
// SERIALIZABLE). Locks are striped by id so their number stays bounded.
func (s *Service) groupLock(id string) func() {
	if !s.lockGroups {
		return func() {}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	mu := &s.groupLocks[h.Sum32()%uint32(len(s.groupLocks))]
	mu.Lock()
	return mu.Unlock
}

// DeleteGroup removes the group; its members lose the store it granted unless
// another group grants it too.
func (s *Service) DeleteGroup(ctx context.Context, id string, pre Precondition) error {
	if !ValidID(id) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	unlock := s.groupLock(id)
	defer unlock()
	return s.write(ctx, func(tx store.Tx) error {
		t, err := s.begin(ctx, tx, s.clock())
		if err != nil {
			return err
		}
		cur, err := tx.GetGroup(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if pre != nil && !pre(cur.Version) {
			return ErrPrecondition
		}
		members, err := tx.GroupMembers(ctx, id)
		if err != nil {
			return err
		}
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = m.UserID
		}
		return t.changeMembership(id, "group.delete", ids, func() error {
			if err := tx.DeleteGroup(ctx, id); err != nil {
				return notFound(err)
			}
			t.names.deleted(id)
			return nil
		})
	})
}

// txn carries what one write transaction needs.
type txn struct {
	s     *Service
	ctx   context.Context
	tx    store.Tx
	now   time.Time
	r     *resolver
	names *groupNames
}

func (s *Service) begin(ctx context.Context, tx store.Tx, now time.Time) (*txn, error) {
	r, err := s.mapping.resolver(ctx, tx)
	if err != nil {
		return nil, err
	}
	return &txn{s: s, ctx: ctx, tx: tx, now: now, r: r, names: newGroupNames(tx)}, nil
}

// current reads the user a write starts from, checks the If-Match
// precondition and loads the user's groups.
func (t *txn) current(id string, pre Precondition) (store.User, []GroupRef, error) {
	cur, err := t.tx.GetUser(t.ctx, id)
	if err != nil {
		return store.User{}, nil, notFound(err)
	}
	if pre != nil && !pre(cur.Version) {
		return store.User{}, nil, ErrPrecondition
	}
	groups, err := t.names.userGroups(t.ctx, id)
	return cur, groups, err
}

// readBack sets *out to the user as this transaction wrote it (the sync state
// included), so the answer to a write needs no second transaction.
func (t *txn) readBack(out *UserView, id string, groups []GroupRef) error {
	u, err := t.tx.GetUser(t.ctx, id)
	if err != nil {
		return err
	}
	*out = UserView{User: u, Groups: groups}
	return nil
}

// access returns what u should have in BigCommerce given the stores its groups grant.
func (t *txn) access(u store.User, stores map[string]bool) Access {
	if !u.Active || u.BCEmail == "" {
		return Access{Email: u.BCEmail}
	}
	return Access{Present: true, Email: u.BCEmail, Stores: stores}
}

func (t *txn) storesOf(groups []GroupRef) map[string]bool {
	stores := make(map[string]bool)
	for _, g := range groups {
		if h := t.r.storeFor(g.DisplayName); h != "" {
			stores[h] = true
		}
	}
	return stores
}

// accessOf loads a user and the stores its current groups grant.
func (t *txn) accessOf(userID string) (store.User, Access, error) {
	u, err := t.tx.GetUser(t.ctx, userID)
	if err != nil {
		return store.User{}, Access{}, err
	}
	groups, err := t.names.userGroups(t.ctx, userID)
	if err != nil {
		return store.User{}, Access{}, err
	}
	return u, t.access(u, t.storesOf(groups)), nil
}

// changeMembership computes the access of the affected users before and after
// apply runs and records the resulting intents. apply changes the group and
// its memberships, never a user's row, and reports the memberships it changed
// to t.names: the access after is computed from the users as read before and
// from what t.names knows, without reading back what apply wrote.
func (t *txn) changeMembership(groupID, action string, affected []string, apply func() error) error {
	changes := make(map[string]accessChange, len(affected))
	for _, id := range affected {
		u, before, err := t.accessOf(id)
		if errors.Is(err, store.ErrNotFound) {
			continue // added members are checked by AddMembers
		}
		if err != nil {
			return err
		}
		changes[id] = accessChange{user: u, before: before}
	}
	if err := apply(); err != nil {
		return err
	}
	for id, c := range changes {
		groups, err := t.names.userGroups(t.ctx, id)
		if err != nil {
			return err
		}
		c.after = t.access(c.user, t.storesOf(groups))
		changes[id] = c
	}
	return t.finish(groupID, action, "Group", changes)
}

// accessChange is one user's access before and after a write.
type accessChange struct {
	user          store.User
	before, after Access
	deleted       bool
}

// finish appends the intents of every change, moves the sync state of the users
// concerned, and records one audit event for the write.
func (t *txn) finish(resourceID, action, resourceType string, changes map[string]accessChange) error {
	requestID := RequestID(t.ctx)
	ids := make([]string, 0, len(changes))
	for id := range changes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var all []store.Intent
	for _, id := range ids {
		c := changes[id]
		intents := Diff(id, c.before, c.after)
		stamp(intents, store.SourceSCIM, requestID, t.now)
		for i := range intents {
			intents[i].Cause = causeOf(action, c, intents[i].Kind)
		}
		all = append(all, intents...)
		if c.deleted {
			continue
		}
		if next, ok := nextSync(c.user.Sync, c.user.Active, c.after, len(intents)); ok {
			if err := t.tx.SetUserSync(t.ctx, id, next); err != nil {
				return err
			}
		}
	}
	if len(all) > 0 {
		if _, err := t.tx.AppendIntents(t.ctx, all); err != nil {
			return fmt.Errorf("append intents: %w", err)
		}
	}
	t.s.log.Debug("write committed", zap.String("action", action), zap.String("resource_id", resourceID),
		zap.String("request_id", requestID), zap.Int("intents", len(all)))
	return t.tx.AppendAudit(t.ctx, store.AuditEvent{
		Time: t.now, Actor: Actor(t.ctx), Action: action, ResourceType: resourceType,
		ResourceID: resourceID, RequestID: requestID, Detail: fmt.Sprintf("intents=%d", len(all)),
	})
}

// causeOf names the kind of SCIM request behind an intent for the access
// history: the write's action, except that a user update which takes the
// account away from an inactive user is a deactivation, and one that gives
// it back to an active user with the same email an activation.
func causeOf(action string, c accessChange, kind store.IntentKind) string {
	if action != "user.update" {
		return action
	}
	switch {
	case kind == store.AccountRemove && !c.user.Active:
		return "user.deactivate"
	case kind == store.AccountAdd && c.user.Active && !c.before.Present && c.before.Email == c.after.Email:
		return "user.activate"
	}
	return action
}

// nextSync returns the sync state after a write and whether it changed.
func nextSync(cur store.SyncState, active bool, after Access, intents int) (store.SyncState, bool) {
	next := cur
	switch {
	case intents > 0:
		next.State, next.LastError = store.SyncPending, ""
	case active && after.Email == "":
		next.State, next.LastError = store.SyncFailed, noEmailError
	case cur.State == "" || (cur.State == store.SyncFailed && cur.LastError == noEmailError):
		next.State, next.LastError = store.SyncSynced, ""
	}
	return next, next != cur
}

// groupNames resolves group ids to display names and users to the groups they
// belong to within one transaction, reading each from the store once. A write
// that changes a group's name or members tells it what it wrote (renamed,
// membersChanged, deleted), so that the access a write computes after its own
// change needs no second read of what it has just written.
type groupNames struct {
	tx     store.Tx
	names  map[string]string
	groups map[string][]string // user id -> group ids
}

func newGroupNames(tx store.Tx) *groupNames {
	return &groupNames{tx: tx, names: map[string]string{}, groups: map[string][]string{}}
}

// renamed records that this transaction stored group id under name.
func (n *groupNames) renamed(id, name string) { n.names[id] = name }

// membersChanged records that this transaction added the users in added to
// group id and removed those in removed from it.
func (n *groupNames) membersChanged(id string, added, removed []string) {
	for _, u := range added {
		if ids, ok := n.groups[u]; ok && !slices.Contains(ids, id) {
			n.groups[u] = append(slices.Clone(ids), id)
		}
	}
	for _, u := range removed {
		if ids, ok := n.groups[u]; ok {
			n.groups[u] = slices.DeleteFunc(slices.Clone(ids), func(g string) bool { return g == id })
		}
	}
}

// deleted records that this transaction deleted group id with its
// memberships.
func (n *groupNames) deleted(id string) {
	delete(n.names, id)
	for u, ids := range n.groups {
		if slices.Contains(ids, id) {
			n.groups[u] = slices.DeleteFunc(slices.Clone(ids), func(g string) bool { return g == id })
		}
	}
}

// groupIDs returns the ids of the groups the user belongs to.
func (n *groupNames) groupIDs(ctx context.Context, userID string) ([]string, error) {
	if ids, ok := n.groups[userID]; ok {
		return ids, nil
	}
	ids, err := n.tx.UserGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	n.groups[userID] = ids
	return ids, nil
}

func (n *groupNames) userGroups(ctx context.Context, userID string) ([]GroupRef, error) {
	ids, err := n.groupIDs(ctx, userID)
	if err != nil {
		return nil, err
	}
	return n.refs(ctx, ids)
}

// refs returns the groups with these ids, sorted by id, with their names
// (read once per transaction); a group deleted in this transaction is left out.
func (n *groupNames) refs(ctx context.Context, ids []string) ([]GroupRef, error) {
	ids = slices.Clone(ids)
	sort.Strings(ids)
	refs := make([]GroupRef, 0, len(ids))
	for _, id := range ids {
		name, ok := n.names[id]
		if !ok {
			g, err := n.tx.GetGroup(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted in this transaction
			}
			if err != nil {
				return nil, err
			}
			name = g.DisplayName
			n.names[id] = name
		}
		refs = append(refs, GroupRef{ID: id, DisplayName: name})
	}
	return refs, nil
}

// buildUser validates SCIM user attributes and derives the indexed fields. cur
// is the stored user a write replaces (nil for a create): without "active" in
// attrs a create is active, and an existing user keeps its current state, so
// that removing active (or sending null, or a PUT without it) never grants
// access.
func (s *Service) buildUser(attrs map[string]any, cur *store.User) (store.User, error) {
	if err := checkStrings(attrs); err != nil {
		return store.User{}, err
	}
	a, err := canonical(attrs, readOnlyUserKeys)
	if err != nil {
		return store.User{}, err
	}
	name, _ := a["userName"].(string)
	if strings.TrimSpace(name) == "" {
		return store.User{}, &InvalidError{Attribute: "userName", Reason: "is required and must be a non-empty string"}
	}
	active := cur == nil || cur.Active
	switch v := a["active"].(type) {
	case nil:
	case bool:
		active = v
	default:
		return store.User{}, &InvalidError{Attribute: "active", Reason: "must be a boolean"}
	}
	a["active"] = active
	emails, err := emailsOf(a["emails"])
	if err != nil {
		return store.User{}, err
	}
	ext, _ := a["externalId"].(string)
	display, _ := a["displayName"].(string)
	for _, c := range []struct {
		attr, value string
		max         int
	}{{"userName", name, MaxUserNameBytes}, {"externalId", ext, MaxExternalIDBytes}, {"displayName", display, MaxDisplayNameBytes}} {
		if err := checkLength(c.attr, c.value, c.max); err != nil {
			return store.User{}, err
		}
	}
	return store.User{
		UserName: name, ExternalID: ext, DisplayName: display, Active: active, Emails: emails,
		BCEmail: BigCommerceEmail(s.source, name, emails), Attributes: a,
	}, nil
}

func emailsOf(v any) ([]store.Email, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, &InvalidError{Attribute: "emails", Reason: "must be an array"}
	}
	out := make([]store.Email, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, &InvalidError{Attribute: "emails", Reason: "each entry must be an object"}
		}
		value, _ := m["value"].(string)
		typ, _ := m["type"].(string)
		primary, _ := m["primary"].(bool)
		if value == "" {
			continue
		}
		if utf8.RuneCountInString(value) > MaxEmailChars {
			return nil, &InvalidError{Attribute: "emails", Reason: fmt.Sprintf("an address is longer than %d characters", MaxEmailChars)}
		}
		if err := checkLength("emails", typ, MaxEmailTypeBytes); err != nil {
			return nil, &InvalidError{Attribute: "emails", Reason: fmt.Sprintf("a type is longer than %d bytes", MaxEmailTypeBytes)}
		}
		out = append(out, store.Email{Value: value, Type: typ, Primary: primary})
	}
	return out, nil
}

// buildGroup validates SCIM group attributes.
func buildGroup(attrs map[string]any) (store.Group, error) {
	if err := checkStrings(attrs); err != nil {
		return store.Group{}, err
	}
	a, err := canonical(attrs, readOnlyGroupKeys)
	if err != nil {
		return store.Group{}, err
	}
	name, _ := a["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return store.Group{}, &InvalidError{Attribute: "displayName", Reason: "is required and must be a non-empty string"}
	}
	ext, _ := a["externalId"].(string)
	if err := checkLength("displayName", name, MaxDisplayNameBytes); err != nil {
		return store.Group{}, err
	}
	if err := checkLength("externalId", ext, MaxExternalIDBytes); err != nil {
		return store.Group{}, err
	}
	return store.Group{DisplayName: name, ExternalID: ext, Attributes: a}, nil
}

// canonical returns a JSON-normalised deep copy of attrs (numbers as float64,
// objects as map[string]any, arrays as []any) without the dropped keys and
// without null values, so stored documents compare reliably.
func canonical(attrs map[string]any, drop []string) (map[string]any, error) {
	raw, err := json.Marshal(attrs)
	if err != nil {
		return nil, &InvalidError{Attribute: "resource", Reason: "attributes are not representable as JSON"}
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("normalise attributes: %w", err)
	}
	if out == nil {
		out = map[string]any{}
	}
	for _, k := range drop {
		delete(out, k)
	}
	for k, v := range out {
		if v == nil {
			delete(out, k)
		}
	}
	return out, nil
}

func addMembers(ctx context.Context, tx store.Tx, groupID string, ids []string) error {
	err := tx.AddMembers(ctx, groupID, ids)
	if errors.Is(err, store.ErrNotFound) {
		return &InvalidError{Attribute: "members", Reason: "references a user that does not exist"}
	}
	return err
}

// checkMemberChange refuses members that cannot be user ids among those a
// write sets or adds, and drops them from those it removes (they cannot be
// members, and the store need not be asked).
func checkMemberChange(mc MemberChange) (MemberChange, error) {
	if err := checkMemberIDs(mc.Members); err != nil {
		return mc, err
	}
	if err := checkMemberIDs(mc.Add); err != nil {
		return mc, err
	}
	if len(mc.Add)+len(mc.Remove) > MaxMembers {
		return mc, &InvalidError{Attribute: "members", Reason: fmt.Sprintf("names more than %d members in one request", MaxMembers)}
	}
	remove := mc.Remove[:0:0]
	for _, id := range mc.Remove {
		if ValidID(id) {
			remove = append(remove, id)
		}
	}
	mc.Remove = remove
	return mc, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	return err
}

// userWriteError names the attribute behind a store conflict: the userName
// when another user has it (case-insensitively), otherwise the BigCommerce
// email, which two active users may not share.
func userWriteError(ctx context.Context, tx store.Tx, u store.User, err error) error {
	if !errors.Is(err, store.ErrConflict) {
		return notFound(err)
	}
	same, _, lerr := tx.ListUsers(ctx, store.Query{Filter: store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: u.UserName}, Limit: 2})
	if lerr != nil {
		return lerr
	}
	for _, o := range same {
		if o.ID != u.ID {
			return &ConflictError{Attribute: "userName"}
		}
	}
	return &ConflictError{Attribute: "emails",
		Reason: "another active user already has this email as its BigCommerce identity; deactivate that user first"}
}

func groupWriteError(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &ConflictError{Attribute: "displayName"}
	}
	return notFound(err)
}

// write runs fn in a read-write transaction and announces the commit.
func (s *Service) write(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.store.Update(ctx, fn); err != nil {
		return err
	}
	s.notify()
	return nil
}

// clock returns the time stamped on resources: UTC, whole seconds, because
// meta.created and meta.lastModified are rendered in RFC 3339 seconds and
// filters on them must compare what clients see.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }
