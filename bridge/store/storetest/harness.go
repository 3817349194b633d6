package storetest

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// subtestTimeout is how long one conformance sub-test may run before the
// watchdog declares a deadlock. The slowest sub-tests (concurrency against
// PostgreSQL under -race) take a few seconds; a minute is far beyond that.
const subtestTimeout = time.Minute

type subtest struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the conformance suite: one parallel sub-test per behaviour, each on
// its own store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	runAll(t, newStore, []subtest{
		{"Ping", testPing},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserCRUD", testUserCRUD},
		{"UserSync", testUserSync},
		{"UserConflicts", testUserConflicts},
		{"GroupRoundTrip", testGroupRoundTrip},
		{"GroupConflicts", testGroupConflicts},
		{"Members", testMembers},
		{"GroupsOfUsers", testGroupsOfUsers},
		{"MemberCascade", testMemberCascade},
		{"UserFilters", testUserFilters},
		{"GroupFilters", testGroupFilters},
		{"InvalidFilters", testInvalidFilters},
		{"UserPaging", testUserPaging},
		{"GroupPaging", testGroupPaging},
		{"Rollback", testRollback},
		{"RollbackKeepsOldState", testRollbackKeepsOldState},
		{"PanicRollsBack", testPanicRollsBack},
		{"ReadYourWrites", testReadYourWrites},
		{"ViewReadOnly", testViewReadOnly},
		{"ViewSnapshot", testViewSnapshot},
		{"TxAfterReturn", testTxAfterReturn},
		{"CanceledContext", testCanceledContext},
		{"Intents", testIntents},
		{"IntentFilters", testIntentFilters},
		{"OutboxWindow", testOutboxWindow},
		{"Audit", testAudit},
		{"State", testState},
		{"History", testHistory},
		{"KnownUsers", testKnownUsers},
		{"ActiveEmailUnique", testActiveEmailUnique},
		{"Lease", testLease},
		{"LeaseExpiry", testLeaseExpiry},
	})
}

// RunConcurrency runs the concurrency suite: many goroutines racing on one
// store, checking uniqueness, lost updates and lease exclusivity.
func RunConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	runAll(t, newStore, []subtest{
		{"CreateSameUserName", testConcurrentCreateSameUserName},
		{"CreateSameGroupName", testConcurrentCreateSameGroupName},
		{"ReadModifyWrite", testConcurrentReadModifyWrite},
		{"Membership", testConcurrentMembership},
		{"Lease", testConcurrentLease},
		{"AppendIntents", testConcurrentAppendIntents},
		{"ViewsDuringWrites", testConcurrentViews},
	})
}

func runAll(t *testing.T, newStore func(t *testing.T) store.Store, tests []subtest) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			WithWatchdog(t, subtestTimeout, func() {
				tc.fn(t, newStore(t))
			})
		})
	}
}

// WithWatchdog runs fn and, if it has not returned after timeout, prints every
// goroutine's stack to stderr and panics, so a deadlocked test shows where it
// is stuck instead of hanging (the idea of dex's withTimeout). The panic happens
// on the watchdog goroutine, which ends the test binary: by then the test
// cannot be failed in any more orderly way.
func WithWatchdog(t testing.TB, timeout time.Duration, fn func()) {
	t.Helper()
	name := t.Name()
	done := make(chan struct{})
	defer close(done) // also runs when fn ends the test with FailNow or SkipNow
	go func() {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			buf := make([]byte, 8<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "storetest: %s did not finish within %s; goroutines:\n%s\n", name, timeout, buf)
			panic(fmt.Sprintf("storetest: %s did not finish within %s (deadlock?)", name, timeout))
		}
	}()
	fn()
}

// update runs fn in s.Update and fails the test on error.
func update(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	require.NoError(t, s.Update(t.Context(), fn))
}

// view runs fn in s.View and fails the test on error.
func view(t testing.TB, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	require.NoError(t, s.View(t.Context(), fn))
}

// t0 is the base time of the fixtures.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// newUser returns a minimal valid user.
func newUser(id, userName string) store.User {
	return store.User{
		ID:         id,
		UserName:   userName,
		Active:     true,
		Attributes: map[string]any{"userName": userName},
		Version:    1,
		Created:    t0,
		Modified:   t0,
	}
}

// newGroup returns a minimal valid group.
func newGroup(id, displayName string) store.Group {
	return store.Group{
		ID:          id,
		DisplayName: displayName,
		Attributes:  map[string]any{"displayName": displayName},
		Version:     1,
		Created:     t0,
		Modified:    t0,
	}
}

func createUsers(t testing.TB, s store.Store, users ...store.User) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, u := range users {
			if err := tx.CreateUser(t.Context(), u); err != nil {
				return err
			}
		}
		return nil
	})
}

func createGroups(t testing.TB, s store.Store, groups ...store.Group) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, g := range groups {
			if err := tx.CreateGroup(t.Context(), g); err != nil {
				return err
			}
		}
		return nil
	})
}

func getUser(t testing.TB, s store.Store, id string) (store.User, error) {
	t.Helper()
	var u store.User
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(t.Context(), id)
		return err
	})
	return u, err
}

func getGroup(t testing.TB, s store.Store, id string) (store.Group, error) {
	t.Helper()
	var g store.Group
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		g, err = tx.GetGroup(t.Context(), id)
		return err
	})
	return g, err
}

func listUsers(t testing.TB, s store.Store, q store.Query) ([]store.User, int) {
	t.Helper()
	var (
		users []store.User
		total int
	)
	view(t, s, func(tx store.Tx) error {
		var err error
		users, total, err = tx.ListUsers(t.Context(), q)
		return err
	})
	return users, total
}

func listGroups(t testing.TB, s store.Store, q store.Query) ([]store.Group, int) {
	t.Helper()
	var (
		groups []store.Group
		total  int
	)
	view(t, s, func(tx store.Tx) error {
		var err error
		groups, total, err = tx.ListGroups(t.Context(), q)
		return err
	})
	return groups, total
}

func members(t testing.TB, s store.Store, groupID string) []store.Member {
	t.Helper()
	var ms []store.Member
	view(t, s, func(tx store.Tx) error {
		var err error
		ms, err = tx.GroupMembers(t.Context(), groupID)
		return err
	})
	return ms
}

func memberIDs(ms []store.Member) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.UserID)
	}
	return ids
}

func userIDs(us []store.User) []string {
	ids := []string{}
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

func groupIDs(gs []store.Group) []string {
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

func testPing(t *testing.T, s store.Store) {
	require.NoError(t, s.Ping(t.Context()))
	require.NoError(t, s.Ping(t.Context()), "a second ping must find no leftover probe row")
}
