package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// outcome is what one Update gave its caller.
type outcome struct {
	err      error
	panicked any
	// exited is set when fn called runtime.Goexit (Update never returned).
	exited bool
}

func openGC(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gc.db")
	s, err := Open(t.Context(), path, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	// Slow fns (under the race detector) must not make the time bound split
	// the batches the tests build; TestGroupCommitBounds and the mixed load
	// use it.
	s.commits.maxSpan = time.Hour
	return s, path
}

// update runs s.Update in a new goroutine and reports its outcome on the
// returned channel, including a panic or a runtime.Goexit.
func update(s *Store, ctx context.Context, fn func(store.Tx) error) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		returned := false
		defer func() {
			if !returned {
				if o.panicked = recover(); o.panicked == nil {
					o.exited = true
				}
			}
			ch <- o
		}()
		o.err = s.Update(ctx, fn)
		returned = true
	}()
	return ch
}

// inOneBatch runs the calls as one batch: the writer is held busy while they
// queue (in order), then handed to the first, which begins a batch the others
// join. cancelled calls have their ctx cancelled while they queue, and
// leave the queue before the batch starts. It returns the outcomes and the
// number of COMMITs issued (one, unless the batch bounds were lowered).
func runBatch(t *testing.T, s *Store, calls []batchCall) ([]outcome, int64) {
	t.Helper()
	g := s.commits
	g.mu.Lock()
	require.False(t, g.busy)
	g.busy = true
	g.mu.Unlock()
	queued := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiting)
	}
	chans := make([]<-chan outcome, len(calls))
	n := 0
	for i, c := range calls {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		chans[i] = update(s, ctx, c.fn)
		n++
		require.Eventually(t, func() bool { return queued() == n }, 5*time.Second, time.Millisecond)
		if c.cancelQueued {
			cancel()
			n--
			require.Eventually(t, func() bool { return queued() == n }, 5*time.Second, time.Millisecond)
		}
	}
	before := g.commits.Load()
	g.handOff()
	out := make([]outcome, len(calls))
	for i, ch := range chans {
		select {
		case out[i] = <-ch:
		case <-time.After(60 * time.Second):
			t.Fatalf("call %d did not finish", i)
		}
	}
	return out, g.commits.Load() - before
}

// inOneBatch is runBatch for calls that must share one COMMIT.
func inOneBatch(t *testing.T, s *Store, calls []batchCall) []outcome {
	t.Helper()
	out, commits := runBatch(t, s, calls)
	require.Equal(t, int64(1), commits, "one COMMIT for the whole batch")
	return out
}

type batchCall struct {
	fn           func(store.Tx) error
	cancelQueued bool
}

func gcUser(id, userName string) store.User {
	now := store.Truncate(time.Now())
	return store.User{ID: id, UserName: userName, Active: true, Version: 1, Created: now, Modified: now,
		Attributes: map[string]any{"userName": userName}}
}

// userIDs returns the ids of the stored users among ids.
func storedUsers(t *testing.T, s store.Store, ids ...string) []string {
	t.Helper()
	var found []string
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		for _, id := range ids {
			_, err := tx.GetUser(t.Context(), id)
			if err == nil {
				found = append(found, id)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	}))
	return found
}

func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	require.NoError(t, s.Close())
	s2, err := Open(t.Context(), path, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

var errBoom = errors.New("boom")

// TestGroupCommitOneBatch: in one batch (one COMMIT), a failing, a panicking,
// a conflicting, a self-cancelling and a cancelled-while-queued Update lose
// their own writes only and get their own outcome; the successes are kept and
// survive a reopen.
func TestGroupCommitOneBatch(t *testing.T) {
	s, path := openGC(t)
	ctx := t.Context()
	ranCancelled := false
	calls := []batchCall{
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("ok1", "jane")) }},
		{fn: func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, gcUser("fail", "fail")); err != nil {
				return err
			}
			return errBoom
		}},
		{fn: func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, gcUser("panic", "panic")); err != nil {
				return err
			}
			panic("fn panicked")
		}},
		// Same userName as ok1, which this batch wrote before.
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("dup", "JANE")) }},
		{fn: func(store.Tx) error { ranCancelled = true; return nil }, cancelQueued: true},
		// Reads what earlier fns of the batch wrote.
		{fn: func(tx store.Tx) error {
			if _, err := tx.GetUser(ctx, "ok1"); err != nil {
				return err
			}
			return tx.CreateUser(ctx, gcUser("ok2", "john"))
		}},
	}
	out := inOneBatch(t, s, calls)

	require.NoError(t, out[0].err)
	require.ErrorIs(t, out[1].err, errBoom)
	require.Equal(t, "fn panicked", out[2].panicked)
	require.ErrorIs(t, out[3].err, store.ErrConflict)
	require.ErrorIs(t, out[4].err, context.Canceled)
	require.False(t, ranCancelled, "a caller cancelled while queued must not run its fn")
	require.NoError(t, out[5].err)

	all := []string{"ok1", "fail", "panic", "dup", "ok2"}
	require.Equal(t, []string{"ok1", "ok2"}, storedUsers(t, s, all...))
	s = reopen(t, s, path)
	require.Equal(t, []string{"ok1", "ok2"}, storedUsers(t, s, all...))
}

// TestGroupCommitCancelDuringFn: a fn whose ctx ends while it runs gets the
// ctx error at its next statement, and a statement already running is not
// interrupted: SQLite answers an interrupted write by rolling back the whole
// transaction, which would take the earlier fns of the batch with it.
func TestGroupCommitCancelDuringFn(t *testing.T) {
	s, path := openGC(t)
	ctx := t.Context()
	var longErr, nextErr error
	calls := []batchCall{
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("before", "before")) }},
		{fn: func(stx store.Tx) error {
			fctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if err := stx.CreateUser(fctx, gcUser("cancelled", "cancelled")); err != nil {
				return err
			}
			// A write that runs for a while (tens of milliseconds), cancelled
			// a few milliseconds in.
			timer := time.AfterFunc(5*time.Millisecond, cancel)
			defer timer.Stop()
			_, longErr = stx.(*tx).exec(fctx, `INSERT INTO probe (token, at)
				WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000)
				SELECT 'gc' || x, x FROM n`)
			<-fctx.Done()
			nextErr = stx.CreateUser(fctx, gcUser("after-cancel", "after-cancel"))
			return nextErr
		}},
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("after", "after")) }},
	}
	out := inOneBatch(t, s, calls)
	require.NoError(t, out[0].err, "the cancelled fn took an earlier fn of its batch down")
	require.NoError(t, longErr, "a running statement is not interrupted")
	require.ErrorIs(t, nextErr, context.Canceled)
	require.ErrorIs(t, out[1].err, context.Canceled)
	require.NoError(t, out[2].err)

	all := []string{"before", "cancelled", "after-cancel", "after"}
	check := func(s *Store) {
		require.Equal(t, []string{"before", "after"}, storedUsers(t, s, all...))
		var probes int
		require.NoError(t, s.View(ctx, func(stx store.Tx) error {
			return stx.(*tx).queryRow(ctx, `SELECT COUNT(*) FROM probe`).Scan(&probes)
		}))
		require.Zero(t, probes)
	}
	check(s)
	check(reopen(t, s, path))
}

// TestGroupCommitBounds: a batch takes at most maxFns fns, and none after
// maxSpan; the callers beyond form the next batches.
func TestGroupCommitBounds(t *testing.T) {
	s, _ := openGC(t)
	ctx := t.Context()
	calls := make([]batchCall, 7)
	ids := make([]string, len(calls))
	for i := range calls {
		ids[i] = fmt.Sprintf("u%d", i)
		calls[i] = batchCall{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser(ids[i], ids[i])) }}
	}
	s.commits.maxFns = 3
	out, commits := runBatch(t, s, calls)
	require.Equal(t, int64(3), commits, "3 + 3 + 1")
	for _, o := range out {
		require.NoError(t, o.err)
	}

	s.commits.maxFns, s.commits.maxSpan = maxBatchFns, 0
	for i := range calls {
		ids[i] = fmt.Sprintf("v%d", i)
	}
	out, commits = runBatch(t, s, calls)
	require.Equal(t, int64(len(calls)), commits, "no fn joins a batch past its time bound")
	for _, o := range out {
		require.NoError(t, o.err)
	}
	require.Len(t, storedUsers(t, s, append(ids, "u0", "u6")...), len(calls)+2)
}

// TestGroupCommitGoexit: a fn that ends its goroutine (runtime.Goexit, as
// t.FailNow does) loses its own writes; the rest of its batch commits.
func TestGroupCommitGoexit(t *testing.T) {
	s, _ := openGC(t)
	ctx := t.Context()
	out := inOneBatch(t, s, []batchCall{
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("a", "a")) }},
		{fn: func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, gcUser("exit", "exit")); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		}},
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("c", "c")) }},
	})
	require.NoError(t, out[0].err)
	require.True(t, out[1].exited)
	require.NoError(t, out[2].err)
	require.Equal(t, []string{"a", "c"}, storedUsers(t, s, "a", "exit", "c"))
}

// TestGroupCommitFailedCommit: when the COMMIT fails, every caller of the
// batch gets the error (also one whose own fn was fine) and nothing of the
// batch is kept; the next Update works.
func TestGroupCommitFailedCommit(t *testing.T) {
	s, _ := openGC(t)
	ctx := t.Context()
	out := inOneBatch(t, s, []batchCall{
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("a", "a")) }},
		// A deferred foreign-key violation makes the COMMIT itself fail.
		{fn: func(stx store.Tx) error {
			t := stx.(*tx)
			if _, err := t.exec(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			_, err := t.exec(ctx, `INSERT INTO group_members (group_id, user_id) VALUES ('nogroup', 'nouser')`)
			return err
		}},
		{fn: func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("c", "c")) }},
		{fn: func(tx store.Tx) error { return errBoom }},
	})
	for i, o := range out {
		require.ErrorContains(t, o.err, "commit transaction", "call %d", i)
	}
	require.Empty(t, storedUsers(t, s, "a", "c"))
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser("d", "d")) }))
	require.Equal(t, []string{"d"}, storedUsers(t, s, "a", "c", "d"))
}

// TestGroupCommitMixedLoad: many goroutines run Updates that succeed, fail,
// panic, are cancelled before or while they run, or race another goroutine
// for the same userName, interleaved. Every success is stored (also after a
// reopen), nothing of a failure is, each userName race has exactly one
// winner, whose id is stored, and the Updates shared COMMITs.
func TestGroupCommitMixedLoad(t *testing.T) {
	s, path := openGC(t)
	const (
		workers = 32
		rounds  = 25
	)
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := t.Context()
	type result struct {
		id, userName string
		kept         bool
	}
	var (
		mu      sync.Mutex
		results []result
		updates int
	)
	record := func(id, userName string, kept bool) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, result{id, userName, kept})
		updates++
	}
	s.commits.maxSpan = maxBatchSpan
	before := s.commits.commits.Load()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				id := fmt.Sprintf("w%d-r%d", w, r)
				switch kind := rng.IntN(6); kind {
				case 0, 1: // success
					err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser(id, id)) })
					require.NoError(t, err)
					record(id, id, true)
				case 2: // failure after a write
					err := s.Update(ctx, func(tx store.Tx) error {
						if err := tx.CreateUser(ctx, gcUser(id, id)); err != nil {
							return err
						}
						return errBoom
					})
					require.ErrorIs(t, err, errBoom)
					record(id, id, false)
				case 3: // panic after a write
					func() {
						defer func() { require.Equal(t, "fn panicked", recover()) }()
						_ = s.Update(ctx, func(tx store.Tx) error {
							if err := tx.CreateUser(ctx, gcUser(id, id)); err != nil {
								return err
							}
							panic("fn panicked")
						})
					}()
					record(id, id, false)
				case 4: // cancelled: before the Update, or by the fn itself after a write
					cctx, cancel := context.WithCancel(ctx)
					if rng.IntN(2) == 0 {
						cancel()
					}
					err := s.Update(cctx, func(tx store.Tx) error {
						if err := tx.CreateUser(cctx, gcUser(id, id)); err != nil {
							return err
						}
						cancel()
						return tx.AppendAudit(cctx, store.AuditEvent{Actor: "test", Action: "gc"})
					})
					cancel()
					require.ErrorIs(t, err, context.Canceled)
					record(id, id, false)
				case 5: // userName race: workers w and w^1 both create "race-r"
					name := fmt.Sprintf("race-%d-%d", w/2, r)
					err := s.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, gcUser(id, name)) })
					if err != nil {
						require.ErrorIs(t, err, store.ErrConflict)
					}
					record(id, name, err == nil)
				}
			}
		})
	}
	wg.Wait()
	commits := s.commits.commits.Load() - before
	t.Logf("%d updates, %d commits", updates, commits)
	require.Less(t, commits, int64(updates), "concurrent Updates share COMMITs")

	check := func(s *Store) {
		winners := map[string]string{}
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			for _, r := range results {
				u, err := tx.GetUser(ctx, r.id)
				if !r.kept {
					require.ErrorIs(t, err, store.ErrNotFound, "%s left a trace", r.id)
					continue
				}
				require.NoError(t, err, "%s lost", r.id)
				require.Equal(t, r.userName, u.UserName)
				require.NotContains(t, winners, r.userName, "two winners for one userName")
				winners[r.userName] = r.id
			}
			for _, r := range results {
				if strings.HasPrefix(r.userName, "race-") {
					require.Contains(t, winners, r.userName, "nobody won %s", r.userName)
				}
			}
			users, _, err := tx.ListUsers(ctx, store.Query{Limit: -1})
			require.NoError(t, err)
			require.Len(t, users, len(winners))
			return nil
		}))
	}
	check(s)
	check(reopen(t, s, path))
}
