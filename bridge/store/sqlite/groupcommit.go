package sqlite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Group commit bounds. A batch takes no more fns once it holds maxBatchFns or
// began maxBatchSpan ago: a caller that joins a batch waits for the fns before
// it and for the COMMIT, so the bounds cap that wait. With small SCIM writes
// (~100 µs of fn time each) a full batch is a few milliseconds, a few fsyncs'
// worth, which already divides the fsync cost by 30 or more; larger batches
// would add latency and gain little.
const (
	maxBatchFns  = 64
	maxBatchSpan = 4 * time.Millisecond
)

// committer runs the store's write transactions with group commit: Updates
// that arrive while a batch is open (its fns running or its COMMIT under way)
// queue, and the queue's head is handed the open batch, or a new one. Each
// caller runs its own fn in its own goroutine, inside a savepoint of the
// shared transaction; the right to use the writer connection (the baton)
// passes from one caller to the next, so fns still run one at a time.
type committer struct {
	pool *connPool
	// maxFns and maxSpan bound a batch (maxBatchFns, maxBatchSpan; tests
	// change them).
	maxFns  int
	maxSpan time.Duration

	mu sync.Mutex
	// busy is set while some caller holds the baton: it runs a fn, begins,
	// commits, or is about to hand the baton on.
	busy bool
	// waiting are the callers queued for the baton, oldest first.
	waiting []*waiter

	// commits counts the COMMITs issued, successful or not (tests compare
	// it with the number of Updates).
	commits atomic.Int64
}

// waiter is a queued Update. grant receives the batch to join, or nil when
// the waiter is to begin a new batch; it is buffered, and each waiter is
// granted at most once (it is removed from waiting when granted).
type waiter struct {
	grant chan *batch
}

// batch is one write transaction shared by several Updates. Its fields are
// used only by the caller holding the baton, except err, which is written
// before committed is closed and read after.
type batch struct {
	c     *pinnedConn
	began time.Time
	fns   int
	// broken is set when SQLite rolled the whole transaction back under the
	// batch (the savepoint of a fn was gone afterwards): nothing of the batch
	// is kept, no more fns may join it, and every member fails with it.
	broken error
	// committed is closed once the batch's COMMIT (or final ROLLBACK) has
	// returned; err is its outcome.
	committed chan struct{}
	err       error
}

// Savepoint statements. One name serves every fn: a fn's savepoint is
// released (or rolled back to and released) before the next fn runs, so at
// most one is open. Fixed texts keep them in the connection's statement
// cache.
const (
	savepoint         = "SAVEPOINT fn"
	releaseSavepoint  = "RELEASE fn"
	rollbackSavepoint = "ROLLBACK TO fn"
)

// update is Store.Update: it joins (or begins) a batch, runs fn in a
// savepoint of it, and answers once the batch's COMMIT returned.
func (s *Store) update(ctx context.Context, fn func(tx store.Tx) error) error {
	g := s.commits
	b, err := g.join(ctx)
	if err != nil {
		return err
	}
	// The baton is held from here on and must be passed on (g.leave) on every
	// path, including a panic or runtime.Goexit in fn.
	if err := ctx.Err(); err != nil {
		// Cancelled while queued, after being granted the baton: fn never runs.
		g.leave(b)
		return fmt.Errorf("begin transaction: %w", context.Cause(ctx))
	}
	if _, err := b.c.exec(context.Background(), savepoint); err != nil {
		// The connection cannot take a savepoint, so it cannot isolate this fn
		// from the others: end the batch with nothing kept.
		b.broken = fmt.Errorf("begin transaction: %w", err)
		g.leave(b)
		<-b.committed
		return b.err
	}
	b.fns++
	t := &tx{c: b.c, now: s.now, shield: true, positions: &s.positions}
	returned := false
	defer func() {
		t.done = true
		if !returned {
			// fn panicked or called runtime.Goexit: undo its part only and let
			// the batch go on; the panic then continues in this goroutine.
			b.undo(nil)
			g.leave(b)
		}
	}()
	ferr := fn(t)
	returned = true
	t.done = true
	if ferr != nil {
		b.undo(ferr)
	} else {
		b.keep()
	}
	g.leave(b)
	// Answer only after the COMMIT, also when fn failed: its error may depend
	// on what earlier fns of the batch wrote (a conflict with a user created
	// just before), which is true only if their writes commit.
	<-b.committed
	if b.err != nil {
		return b.err
	}
	return ferr
}

// join returns the batch the caller is to run its fn in, holding the baton:
// at once when the writer is idle, else after queueing. A caller whose ctx
// ends (or whose store closes) while it queues leaves the queue; its fn never
// runs.
func (g *committer) join(ctx context.Context) (*batch, error) {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return g.begin(ctx)
	}
	w := &waiter{grant: make(chan *batch, 1)}
	g.waiting = append(g.waiting, w)
	g.mu.Unlock()

	var b *batch
	select {
	case b = <-w.grant:
	case <-ctx.Done():
	case <-g.pool.done:
	}
	if b == nil {
		g.mu.Lock()
		if i := slices.Index(g.waiting, w); i >= 0 {
			g.waiting = slices.Delete(g.waiting, i, i+1)
			g.mu.Unlock()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("begin transaction: %w", context.Cause(ctx))
			}
			return nil, fmt.Errorf("begin transaction: %w", errClosed)
		}
		g.mu.Unlock()
		// Granted in the meantime (or granted a new batch): the baton is ours.
		select {
		case b = <-w.grant:
		default:
		}
	}
	if b == nil {
		return g.begin(ctx)
	}
	return b, nil
}

// begin starts a new batch on the writer connection (BEGIN IMMEDIATE) for the
// caller holding the baton. If it fails the baton goes to the next waiter,
// which tries a batch of its own.
func (g *committer) begin(ctx context.Context) (*batch, error) {
	if err := ctx.Err(); err != nil {
		g.handOff()
		return nil, fmt.Errorf("begin transaction: %w", context.Cause(ctx))
	}
	c, err := g.pool.get(ctx)
	if err != nil {
		g.handOff()
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	// ctx bounds the wait for a write lock another process holds (busy
	// timeout); no fn has run yet, so an interruption costs nobody anything.
	if _, err := c.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		g.pool.put(c, err)
		g.handOff()
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	return &batch{c: c, began: time.Now(), committed: make(chan struct{})}, nil
}

// undo rolls the transaction back to the current fn's savepoint and releases
// it. cause is the fn's error (nil after a panic); if the savepoint is gone,
// SQLite rolled the whole transaction back and the batch is broken.
func (b *batch) undo(cause error) {
	if b.broken != nil {
		return
	}
	_, err := b.c.exec(context.Background(), rollbackSavepoint)
	if err == nil {
		_, err = b.c.exec(context.Background(), releaseSavepoint)
	}
	if err != nil {
		b.breakOff(cause, err)
	}
}

// keep releases the current fn's savepoint: its writes become part of the
// batch.
func (b *batch) keep() {
	if b.broken != nil {
		return
	}
	if _, err := b.c.exec(context.Background(), releaseSavepoint); err != nil {
		b.breakOff(nil, err)
	}
}

// breakOff marks the batch broken after a savepoint statement failed.
func (b *batch) breakOff(cause, err error) {
	if cause != nil {
		b.broken = fmt.Errorf("write transaction rolled back by a failed write: %w", cause)
		return
	}
	b.broken = fmt.Errorf("write transaction rolled back: %w", err)
}

// full reports whether b takes no more fns.
func (g *committer) full(b *batch) bool {
	return b.broken != nil || b.fns >= g.maxFns || time.Since(b.began) >= g.maxSpan
}

// leave passes the baton on after the holder's fn ran (or was skipped): to
// the next waiter, which joins b, or, if nobody waits or b is full, to
// nobody: then the holder ends b (COMMIT) and hands the writer to the next
// waiter for a new batch.
func (g *committer) leave(b *batch) {
	g.mu.Lock()
	if !g.full(b) && len(g.waiting) > 0 {
		w := g.waiting[0]
		g.waiting = slices.Delete(g.waiting, 0, 1)
		w.grant <- b
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.end(b)
}

// end commits b, answers its members and hands the writer on. Once the fns
// are done the outcome is decided, so no caller's ctx interrupts the COMMIT.
func (g *committer) end(b *batch) {
	var connErr error
	switch {
	case b.broken != nil:
		b.err = b.broken
		// SQLite has ended the transaction already; this only makes sure.
		if _, err := b.c.exec(context.Background(), "ROLLBACK"); err != nil && broken(err) {
			connErr = err
		}
	case b.fns == 0:
		// Every caller left before running a fn: nothing to make durable.
		if _, err := b.c.exec(context.Background(), "ROLLBACK"); err != nil && broken(err) {
			connErr = err
		}
	default:
		g.commits.Add(1)
		if _, err := b.c.exec(context.Background(), "COMMIT"); err != nil {
			b.err = fmt.Errorf("commit transaction: %w", err)
			connErr = err
			// A COMMIT that failed with SQLITE_BUSY leaves the transaction
			// open; other failures have rolled it back already.
			_, _ = b.c.exec(context.Background(), "ROLLBACK")
		}
	}
	g.pool.put(b.c, connErr)
	close(b.committed)
	g.handOff()
}

// handOff gives the idle writer to the oldest waiter, which begins a new
// batch, or marks it idle when nobody waits.
func (g *committer) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.busy = false
		return
	}
	w := g.waiting[0]
	g.waiting = slices.Delete(g.waiting, 0, 1)
	w.grant <- nil
}

// stmtCtx returns the context a statement of t runs with. Statements of a
// write transaction are not interrupted when the caller's ctx ends: SQLite
// answers an interrupted INSERT, UPDATE or DELETE by rolling back the whole
// transaction, savepoints included, which would undo every other fn of the
// batch. A ctx that has ended stops the fn at its next statement instead.
func (t *tx) stmtCtx(ctx context.Context) (context.Context, error) {
	if !t.shield {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}
