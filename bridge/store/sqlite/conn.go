package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// maxCachedStmts bounds the prepared statements kept per connection. The store
// issues a few dozen distinct statements plus one per filter shape (values are
// bound, so shapes repeat); the bound only matters for unusual filter traffic.
const maxCachedStmts = 256

// pinnedConn is one SQLite connection taken out of its *sql.DB for the life of
// the store, with the statements prepared on it. Pinning is what makes prepared
// statements reusable across transactions: database/sql can only prepare a
// DB-level statement on an idle connection, which the single writer connection
// never is while a transaction needs the statement. Parsing SQL is the largest
// cost of a small query in the pure-Go driver, so reuse matters.
//
// A pinnedConn is used by one transaction at a time (it is handed out through
// a channel), so it needs no lock of its own.
type pinnedConn struct {
	db    *sql.DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func pin(ctx context.Context, db *sql.DB) (*pinnedConn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &pinnedConn{db: db, conn: c, stmts: make(map[string]*sql.Stmt)}, nil
}

// stmt returns the prepared statement for query, preparing it on first use.
func (p *pinnedConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	if len(p.stmts) >= maxCachedStmts {
		// Evict an arbitrary statement. No statement of this connection is in use
		// here: a transaction runs its statements one after another and every
		// method closes its rows before returning.
		for q, st := range p.stmts {
			_ = st.Close()
			delete(p.stmts, q)
			break
		}
	}
	st, err := p.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.stmts[query] = st
	return st, nil
}

// exec runs a statement (BEGIN, COMMIT, ROLLBACK) through the cache.
func (p *pinnedConn) exec(ctx context.Context, query string) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx)
}

// close closes the statements and returns the connection to its pool.
func (p *pinnedConn) close() error {
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	p.stmts = nil
	errs = append(errs, p.conn.Close())
	return errors.Join(errs...)
}

// broken reports whether err means the connection can no longer be used.
func broken(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// connPool hands out pinned connections, one transaction at a time each.
type connPool struct {
	db     *sql.DB
	conns  chan *pinnedConn
	done   chan struct{} // closed by close: waiting for a connection stops
	closer sync.Once
}

// errClosed is returned by transactions started after the store was closed.
var errClosed = errors.New("store is closed")

func newConnPool(ctx context.Context, db *sql.DB, n int) (*connPool, error) {
	p := &connPool{db: db, conns: make(chan *pinnedConn, n), done: make(chan struct{})}
	for range n {
		c, err := pin(ctx, db)
		if err != nil {
			_ = p.close()
			return nil, err
		}
		p.conns <- c
	}
	return p, nil
}

// get waits for a free connection, for ctx to end, or for the pool to close.
func (p *connPool) get(ctx context.Context) (*pinnedConn, error) {
	select {
	case <-p.done:
		return nil, errClosed
	default:
	}
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, errClosed
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// put returns c to the pool. If the transaction found c broken, a fresh
// connection replaces it (the slot must not be lost, or the pool would shrink
// and, for the writer, stop).
func (p *connPool) put(c *pinnedConn, err error) {
	select {
	case <-p.done: // closed while c was in use
		_ = c.close()
		return
	default:
	}
	if err != nil && broken(err) {
		_ = c.close()
		if fresh, perr := pin(context.Background(), p.db); perr == nil {
			c = fresh
		} else {
			// Keep the broken one: the next transaction gets a clear error, and
			// the one after tries to replace it again.
			c = &pinnedConn{db: p.db, conn: c.conn, stmts: map[string]*sql.Stmt{}}
		}
	}
	p.conns <- c
}

// close stops the pool: waiting transactions fail with errClosed, connections
// in use are closed when they come back, and the idle ones now.
func (p *connPool) close() error {
	p.closer.Do(func() { close(p.done) })
	var errs []error
	for {
		select {
		case c := <-p.conns:
			errs = append(errs, c.close())
		default:
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("close connections: %w", err)
			}
			return nil
		}
	}
}
