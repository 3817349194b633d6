package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// racers is how many goroutines the concurrency tests start at once.
const racers = 16

// race runs fn(i) for i in [0, n) on n goroutines released together, and returns
// their errors by index.
func race(n int, fn func(i int) error) []error {
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentCreateSameUserName(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := race(racers, func(i int) error {
		// The same userName in different cases, each with its own id.
		name := "racer@example.com"
		if i%2 == 1 {
			name = strings.ToUpper(name)
		}
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.CreateUser(ctx, newUser(fmt.Sprintf("user-%d", i), name))
		})
	})
	winners := 0
	for _, err := range errs {
		if err == nil {
			winners++
			continue
		}
		require.ErrorIs(t, err, store.ErrConflict)
	}
	require.Equal(t, 1, winners)
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, 1, total)
}

func testConcurrentCreateSameGroupName(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := race(racers, func(i int) error {
		return s.Update(ctx, func(tx store.Tx) error {
			// Also race on the id for half of them.
			id := fmt.Sprintf("group-%d", i/2)
			return tx.CreateGroup(ctx, newGroup(id, fmt.Sprintf("Racers %s", strings.Repeat("!", i%2))))
		})
	})
	winners := 0
	for _, err := range errs {
		if err == nil {
			winners++
			continue
		}
		require.ErrorIs(t, err, store.ErrConflict)
	}
	// "Racers" and "Racers !" are distinct names, each created once.
	require.Equal(t, 2, winners)
}

// testConcurrentReadModifyWrite increments one user's Version from many
// goroutines with GetUser + UpdateUser in one Update each: no increment may be
// lost. On PostgreSQL some transactions may exhaust their retries under this
// contention; those report an error and must not have incremented.
func testConcurrentReadModifyWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "counter@example.com"))
	const perRacer = 5
	var (
		mu        sync.Mutex
		succeeded int
		failures  []error
	)
	race(racers/2, func(int) error {
		for range perRacer {
			err := s.Update(ctx, func(tx store.Tx) error {
				u, err := tx.GetUser(ctx, "user-1")
				if err != nil {
					return err
				}
				u.Version++
				u.Modified = store.Truncate(time.Now())
				return tx.UpdateUser(ctx, u)
			})
			mu.Lock()
			if err == nil {
				succeeded++
			} else {
				failures = append(failures, err)
			}
			mu.Unlock()
		}
		return nil
	})
	for _, err := range failures {
		require.NotErrorIs(t, err, store.ErrNotFound)
		require.NotErrorIs(t, err, store.ErrConflict)
	}
	if len(failures) > 0 {
		t.Logf("%d of %d updates gave up under contention: %v", len(failures), racers/2*perRacer, failures[0])
	}
	require.Positive(t, succeeded)
	u, err := getUser(t, s, "user-1")
	require.NoError(t, err)
	require.Equal(t, int64(1+succeeded), u.Version, "lost update")
}

func testConcurrentMembership(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = racers
	users := make([]store.User, n)
	for i := range users {
		users[i] = newUser(fmt.Sprintf("user-%02d", i), fmt.Sprintf("m%02d@example.com", i))
	}
	createUsers(t, s, users...)
	createGroups(t, s, newGroup("group-1", "Shared"))

	// Every racer adds itself and its neighbour (overlapping adds); odd racers
	// then remove themselves.
	errs := race(n, func(i int) error {
		self, next := users[i].ID, users[(i+1)%n].ID
		if err := s.Update(ctx, func(tx store.Tx) error {
			return tx.AddMembers(ctx, "group-1", []string{self, next})
		}); err != nil {
			return err
		}
		if i%2 == 0 {
			return nil
		}
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.RemoveMembers(ctx, "group-1", []string{self})
		})
	})
	for _, err := range errs {
		require.NoError(t, err)
	}

	// Even users are members. Odd user i removed itself, but racer i-1 may
	// have re-added it afterwards as its neighbour; either way no duplicates.
	got := memberIDs(members(t, s, "group-1"))
	seen := map[string]bool{}
	for _, id := range got {
		require.False(t, seen[id], "duplicate member %s", id)
		seen[id] = true
	}
	for i := 0; i < n; i += 2 {
		require.True(t, seen[users[i].ID], "member %s missing", users[i].ID)
	}
	for _, id := range got {
		require.Contains(t, userGroups(t, s, id), "group-1")
	}

	// Deleting users while others add them: an add either happens before the
	// delete (and is cascaded away) or fails with ErrNotFound.
	errs = race(n, func(i int) error {
		id := users[i/2].ID
		if i%2 == 0 {
			return s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUser(ctx, id) })
		}
		return s.Update(ctx, func(tx store.Tx) error { return tx.AddMembers(ctx, "group-1", []string{id}) })
	})
	for i, err := range errs {
		if i%2 == 0 {
			require.NoError(t, err)
		} else if err != nil {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	for _, id := range memberIDs(members(t, s, "group-1")) {
		var idx int
		_, err := fmt.Sscanf(id, "user-%d", &idx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, idx, n/2, "deleted user %s is still a member", id)
	}
}

func testConcurrentLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	type result struct {
		lease    store.Lease
		acquired bool
	}
	results := make([]result, racers)
	errs := race(racers, func(i int) error {
		l, ok, err := s.TryLease(ctx, "leader", fmt.Sprintf("replica-%d", i), time.Minute)
		results[i] = result{l, ok}
		return err
	})
	winner := ""
	for i, err := range errs {
		require.NoError(t, err)
		if results[i].acquired {
			require.Empty(t, winner, "two holders acquired the lease")
			winner = results[i].lease.Holder
			require.Equal(t, fmt.Sprintf("replica-%d", i), winner)
		}
	}
	require.NotEmpty(t, winner)
	for _, r := range results {
		require.Equal(t, winner, r.lease.Holder)
		require.Equal(t, int64(1), r.lease.Epoch)
	}

	// Renewals by the holder racing with attempts by everyone else: the holder
	// keeps it throughout.
	errs = race(racers, func(i int) error {
		holder := fmt.Sprintf("replica-%d", i)
		l, ok, err := s.TryLease(ctx, "leader", holder, time.Minute)
		if err != nil {
			return err
		}
		if ok != (holder == winner) || l.Holder != winner || l.Epoch != 1 {
			return fmt.Errorf("%s: got holder %s epoch %d acquired %t", holder, l.Holder, l.Epoch, ok)
		}
		return nil
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
}

func testConcurrentAppendIntents(t *testing.T, s store.Store) {
	ctx := t.Context()
	const perRacer = 5
	var (
		mu  sync.Mutex
		all []int64
	)
	errs := race(racers/2, func(i int) error {
		for j := range perRacer {
			var seqs []int64
			err := s.Update(ctx, func(tx store.Tx) error {
				var err error
				seqs, err = tx.AppendIntents(ctx, []store.Intent{
					{Kind: store.AccountAdd, Email: fmt.Sprintf("r%d-%d@example.com", i, j), UserID: fmt.Sprintf("user-%d", i)},
					{Kind: store.StoreAdd, Email: fmt.Sprintf("r%d-%d@example.com", i, j), StoreHash: "abc", UserID: fmt.Sprintf("user-%d", i)},
				})
				return err
			})
			if err != nil {
				return err
			}
			if len(seqs) != 2 || seqs[1] <= seqs[0] {
				return fmt.Errorf("bad sequence numbers %v", seqs)
			}
			mu.Lock()
			all = append(all, seqs...)
			mu.Unlock()
		}
		return nil
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	got := listIntents(t, s, store.IntentFilter{})
	require.Len(t, got, racers/2*perRacer*2)
	requireIncreasing(t, intentSeqs(got))
	require.ElementsMatch(t, all, intentSeqs(got))
	// Per user, the intents of one racer keep their order.
	for i := range racers / 2 {
		mine := listIntents(t, s, store.IntentFilter{UserID: fmt.Sprintf("user-%d", i)})
		require.Len(t, mine, perRacer*2)
		for j := range perRacer {
			require.Equal(t, store.AccountAdd, mine[2*j].Kind)
			require.Equal(t, fmt.Sprintf("r%d-%d@example.com", i, j), mine[2*j].Email)
		}
	}
}

// testConcurrentViews checks that every View sees a consistent snapshot while
// writers commit: a page listing all users and the total agree, and users are
// always created together with their group membership.
func testConcurrentViews(t *testing.T, s store.Store) {
	ctx := t.Context()
	createGroups(t, s, newGroup("group-1", "All"))
	const writers, perWriter = 4, 10
	var (
		stop      = make(chan struct{})
		mu        sync.Mutex
		readerErr error
		readers   sync.WaitGroup
	)
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(ctx, func(tx store.Tx) error {
					users, total, err := tx.ListUsers(ctx, store.Query{Limit: -1})
					if err != nil {
						return err
					}
					ms, err := tx.GroupMembers(ctx, "group-1")
					if err != nil {
						return err
					}
					if len(users) != total || len(ms) != total {
						return fmt.Errorf("inconsistent snapshot: %d users, total %d, %d members", len(users), total, len(ms))
					}
					return nil
				})
				if err != nil {
					mu.Lock()
					readerErr = errors.Join(readerErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	errs := race(writers, func(i int) error {
		for j := range perWriter {
			id := fmt.Sprintf("user-%d-%d", i, j)
			if err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.CreateUser(ctx, newUser(id, id+"@example.com")); err != nil {
					return err
				}
				return tx.AddMembers(ctx, "group-1", []string{id})
			}); err != nil {
				return err
			}
		}
		return nil
	})
	close(stop)
	readers.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, readerErr)
	_, total := listUsers(t, s, store.Query{Limit: 0})
	require.Equal(t, writers*perWriter, total)
}
