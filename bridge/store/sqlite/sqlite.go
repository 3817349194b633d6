package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"
	// The pure-Go SQLite driver registers itself as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Store is the SQLite implementation of store.Store. It is safe for concurrent
// use; see the package documentation for how connections are used.
type Store struct {
	writerDB *sql.DB
	readerDB *sql.DB
	// writer holds the one writer connection; readers the read-only ones.
	writer  *connPool
	readers *connPool
	// commits runs Updates on the writer connection with group commit.
	commits *committer
	logger  *zap.Logger
	now     func() time.Time
	// lock is held by an exclusive store (Options.Exclusive), else nil.
	lock *fileLock
	// positions caches where unfiltered user pages start.
	positions positions
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.SingleWriter = (*Store)(nil)
)

// SingleWriter reports true: writes go through one connection, one at a time.
func (s *Store) SingleWriter() bool { return true }

// busyTimeout is how long a connection waits for a lock held by another process
// (for example a one-off "scim-bridge reconcile" next to a running server) before
// giving up with SQLITE_BUSY. Within this process writers queue on the single
// writer connection instead.
const busyTimeout = 10 * time.Second

// Options tunes OpenWith.
type Options struct {
	// Exclusive makes the store take an exclusive OS-level lock (flock, or
	// LockFileEx on Windows) on the file PATH.lock and hold it until Close.
	// An exclusive open of a database another process holds exclusively
	// fails at once with an error wrapping ErrInUse that names that
	// process's id. A serving bridge opens its store exclusively: SQLite
	// mode is one process (one delivery worker spending the budget), and a
	// second server on the same file would answer SCIM and spend BigCommerce
	// requests next to the first. Short-lived operator commands (report,
	// reconcile, dead-letters, ...) open without it, so they work while the
	// server runs (their writes wait for SQLite's write lock).
	Exclusive bool
}

// Open opens (creating if needed) the SQLite database at path and applies the
// schema migrations, without the exclusive lock (see OpenWith). The logger
// receives only counts and ids.
func Open(ctx context.Context, path string, logger *zap.Logger) (*Store, error) {
	return OpenWith(ctx, path, logger, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, logger *zap.Logger, opts Options) (s *Store, err error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	logger = logger.Named("sqlite")

	var lock *fileLock
	if opts.Exclusive {
		// Taken before the database is touched, so that a second server
		// neither migrates nor serves.
		if lock, err = lockFile(path); err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
		defer func() {
			if err != nil {
				_ = lock.release()
			}
		}()
	}

	common := commonPragmas()
	writer, applied, err := openWriter(ctx, path, common)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	reader, readers, err := openReader(path, common)
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	wpool, rpool, err := pinConnections(ctx, writer, reader, readers)
	if err != nil {
		_ = writer.Close()
		_ = reader.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	logger.Info("store opened", zap.Int("migrations_applied", applied), zap.Int("read_connections", readers),
		zap.Bool("exclusive", opts.Exclusive))
	return &Store{
		lock:     lock,
		writerDB: writer,
		readerDB: reader,
		writer:   wpool,
		readers:  rpool,
		commits:  &committer{pool: wpool, maxFns: maxBatchFns, maxSpan: maxBatchSpan},
		logger:   logger,
		now:      time.Now,
	}, nil
}

// checkPath rejects paths the store cannot open. A plain file path is
// required: the writer and the readers must share one database, which an
// in-memory database or a URI with its own parameters would not guarantee.
func checkPath(path string) error {
	if path == "" {
		return errors.New("open sqlite store: empty path")
	}
	if strings.HasPrefix(path, "file:") || path == ":memory:" {
		return errors.New("open sqlite store: path must be a plain file path")
	}
	return nil
}

// commonPragmas returns the driver parameters the writer and the readers share.
//
// synchronous=FULL: every commit is fsynced before COMMIT returns, so a
// change the bridge has acknowledged to the IdP survives a power loss or
// kernel crash, not only a crash of this process (which NORMAL, SQLite's
// usual WAL setting, already covers). The cost is one fsync per commit
// (0.3–0.5 ms on the development machine); group commit lets concurrent
// writers share it (13,000–16,000 small writes/s from 8 writers, against
// ~2,000 with one commit each).
func commonPragmas() []string {
	return []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(FULL)",
	}
}

// openWriter opens the writer database, switches it to WAL and applies the
// schema migrations, returning how many were applied. It runs before any
// reader connects, so that the file exists and is in WAL mode by then. On
// error nothing is left open.
//
// temp_store=MEMORY keeps the writer's statement journal in memory. Group
// commit runs every Update in a SAVEPOINT, and SQLite journals the pages a
// savepoint changes so that it can roll them back; past 64 KiB that journal
// spilled into a temporary file, and its write system calls were 15 % of the
// CPU time of POST /Users at 8 clients (1,580 → 2,000 POSTs/s on average
// without them). The journal is only needed while the transaction runs: crash
// recovery uses the WAL, so durability is unchanged.
func openWriter(ctx context.Context, path string, common []string) (writer *sql.DB, applied int, err error) {
	writerDSN := dsn(path, append(common, "_pragma=journal_mode(WAL)", "_pragma=temp_store(MEMORY)", "_txlock=immediate"))
	writer, err = sql.Open("sqlite", writerDSN)
	if err != nil {
		return nil, 0, err
	}
	// One writer connection: SQLite has a single write lock per database, so a
	// second writer connection could only wait for it (or fail with SQLITE_BUSY).
	// Writers queue for the connection in Go instead (see connPool), which is
	// cheaper and honours the caller's context.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, 0, err
	}
	applied, err = migrate(ctx, writer)
	if err != nil {
		_ = writer.Close()
		return nil, 0, err
	}
	return writer, applied, nil
}

// openReader opens the read-only database and returns it with the number of
// connections it may hold (readConnections).
//
// query_only makes any write through the readers an error, in addition to
// the read-only check the store itself does for View.
// Readers keep a small page cache (readerCacheKiB each) and leave the
// rest to the kernel's page cache: at 100,000 users an IdP's read mix
// touches pages all over the users table, so a per-connection cache
// mostly evicts, and with SQLite's default 2 MiB on sixteen connections
// the read mix ran at 1,042 requests/s at 32 clients with 85 MB resident;
// with 256 KiB, 1,968 requests/s with 77 MB.
func openReader(path string, common []string) (reader *sql.DB, readers int, err error) {
	reader, err = sql.Open("sqlite", dsn(path, append(common, "_query_only=1", fmt.Sprintf("_pragma=cache_size(-%d)", readerCacheKiB))))
	if err != nil {
		return nil, 0, err
	}
	readers = readConnections()
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	return reader, readers, nil
}

// pinConnections pins the connections (see pinnedConn): the writer pool holds
// the writer DB's only connection, the reader pool all of the reader DB's.
// On error it closes any pool it made; the databases stay open for the
// caller to close.
func pinConnections(ctx context.Context, writer, reader *sql.DB, readers int) (wpool, rpool *connPool, err error) {
	wpool, err = newConnPool(ctx, writer, 1)
	if err != nil {
		return nil, nil, err
	}
	rpool, err = newConnPool(ctx, reader, readers)
	if err != nil {
		_ = wpool.close()
		return nil, nil, err
	}
	return wpool, rpool, nil
}

// readerCacheKiB is each read connection's page cache, in KiB.
const readerCacheKiB = 256

// readConnections is the size of the read pool. It is sized for concurrent
// requests, not for cores: a View that waits for a connection waits behind
// whatever holds one (a page of 100 users takes several times as long as a GET
// by id), so with as many connections as cores a burst of requests from an IdP
// queues in the pool while the CPU still has room. More reader connections are
// safe in WAL mode: a reader takes a shared lock on one of the WAL's read marks,
// which any number of connections at the same snapshot share, so readers never
// block each other or the single writer, and the writer never blocks them. Their
// cost is memory (each connection has its own page cache, readerCacheKiB, and
// its prepared statements) and that a checkpoint cannot reset the
// WAL while a read transaction is open; View transactions last one request.
func readConnections() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// dsn builds the driver data source name for path: a file: URI whose path part is
// escaped so that '?', '#' and '%' in a file name cannot be read as URI syntax.
func dsn(path string, params []string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + strings.Join(params, "&")
}

// Close closes the store's connections and releases the exclusive lock, if
// held. Transactions still running must have finished.
func (s *Store) Close() error {
	err := errors.Join(s.readers.close(), s.writer.close(), s.readerDB.Close(), s.writerDB.Close())
	if s.lock != nil {
		err = errors.Join(err, s.lock.release())
		s.lock = nil
	}
	return err
}

// Update runs fn in a write transaction on the writer connection and returns
// once its writes are durably committed (or rolled back, if fn returns an
// error or panics). fn runs exactly once, one fn at a time. Concurrent
// Updates are group-committed: fns that queue while another batch runs share
// one BEGIN IMMEDIATE transaction, each inside its own savepoint, and one
// fsynced COMMIT (see the package documentation). A queued Update gives up
// when its ctx ends before its fn runs.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.update(ctx, fn)
}

// View runs fn in a read-only transaction on a reader connection; it sees the
// database as of its first read.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.view(ctx, fn)
}

// view executes fn in a read-only transaction on a reader connection (write
// transactions go through the committer, see update). BEGIN, COMMIT and
// ROLLBACK are issued as statements on the pinned connection (rather than
// through sql.Tx) so that its cached prepared statements serve the transaction.
func (s *Store) view(ctx context.Context, fn func(tx store.Tx) error) error {
	pool := s.readers
	c, err := pool.get(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	var connErr error
	defer func() { pool.put(c, connErr) }()
	if _, err := c.exec(ctx, "BEGIN"); err != nil {
		connErr = err
		return fmt.Errorf("begin transaction: %w", err)
	}
	t := &tx{c: c, readOnly: true, now: s.now, positions: &s.positions}
	committed := false
	defer func() {
		t.done = true
		if !committed {
			// Also reached when fn panics (the panic continues afterwards) and
			// when ctx ended: the rollback must run regardless.
			if _, err := c.exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil && broken(err) {
				connErr = err
			}
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	// Once fn is done, the outcome is decided: a cancelled ctx must not
	// interrupt the COMMIT itself.
	if _, err := c.exec(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		connErr = err
		return fmt.Errorf("commit transaction: %w", err)
	}
	committed = true
	return nil
}

// TryLease acquires or renews the named lease; see store.Store. Times come from
// this process's clock, which is the only clock a single-replica store has.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	if holder == "" {
		return store.Lease{}, false, errors.New("try lease: empty holder")
	}
	var (
		lease    store.Lease
		acquired bool
	)
	err := s.Update(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		now := store.Truncate(s.now())
		lease = store.Lease{Name: name, Holder: holder, Epoch: 1, Expires: store.Truncate(now.Add(ttl))}
		var cur store.Lease
		var expires int64
		err := t.queryRow(ctx, `SELECT holder, epoch, expires FROM leases WHERE name = ?`, name).
			Scan(&cur.Holder, &cur.Epoch, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			acquired = true
			_, err := t.exec(ctx, `INSERT INTO leases (name, holder, epoch, expires) VALUES (?, ?, ?, ?)`,
				name, holder, lease.Epoch, micros(lease.Expires))
			return err
		case err != nil:
			return err
		}
		cur.Name = name
		cur.Expires = fromMicros(expires)
		switch {
		case cur.Holder == holder:
			lease.Epoch = cur.Epoch
		case cur.Holder == "" || !cur.Expires.After(now):
			lease.Epoch = cur.Epoch + 1
		default:
			lease, acquired = cur, false
			return nil
		}
		acquired = true
		_, err = t.exec(ctx, `UPDATE leases SET holder = ?, epoch = ?, expires = ? WHERE name = ?`,
			holder, lease.Epoch, micros(lease.Expires), name)
		return err
	})
	if err != nil {
		return store.Lease{}, false, fmt.Errorf("try lease %s: %w", name, err)
	}
	return lease, acquired, nil
}

// ReleaseLease gives the lease up if holder holds it. The row stays (with no
// holder) so that the next holder's epoch is higher.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.Update(ctx, func(stx store.Tx) error {
		_, err := stx.(*tx).exec(ctx, `UPDATE leases SET holder = '', expires = ? WHERE name = ? AND holder = ?`,
			micros(store.Truncate(s.now())), name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Ping writes and deletes a probe row in one committed transaction, which proves
// the file is writable and the write lock obtainable.
func (s *Store) Ping(ctx context.Context) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	err := s.Update(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		if _, err := t.exec(ctx, `INSERT INTO probe (token, at) VALUES (?, ?)`, token, s.now().UnixMicro()); err != nil {
			return err
		}
		_, err := t.exec(ctx, `DELETE FROM probe WHERE token = ?`, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("ping sqlite store: %w", err)
	}
	return nil
}

// micros encodes t as integer microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros decodes micros into a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros encodes an optional time: the zero time is NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromNullMicros decodes an optional time; NULL is the zero time.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}
