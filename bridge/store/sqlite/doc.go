// Package sqlite is the embedded store backend: a single database file driven by
// the pure-Go modernc.org/sqlite driver (no cgo), for a deployment with one
// replica.
//
// # Connections
//
// The file is opened in WAL mode with foreign keys on and a busy timeout. Writes
// go through one connection (a *sql.DB limited to a single open connection) and
// every write transaction starts with BEGIN IMMEDIATE (several Updates may
// share one; see Group commit): SQLite allows one writer at a time
// anyway, so queueing writers in Go costs nothing, and taking the write lock at
// BEGIN means a transaction never has to upgrade a read lock to a write lock,
// which is where concurrent SQLite writers deadlock (SQLITE_BUSY that no busy
// timeout can resolve). View uses a separate pool of read-only connections: in
// WAL mode readers see a consistent snapshot without blocking the writer or being
// blocked by it, so reads run concurrently while writes are serialised (the pool
// is sized for concurrent requests rather than cores; see readConnections). Each
// connection is pinned for the life of the store and keeps its prepared
// statements, because parsing SQL is the largest cost of a small query in the
// pure-Go driver.
//
// # One process
//
// SQLite mode runs one bridge process. A serving process opens the store with
// Options.Exclusive, which holds an OS-level lock on the file PATH.lock until
// Close (the operating system drops it when the process dies); a second
// exclusive open fails at once with ErrInUse and the holder's pid. Operator
// commands open without the lock and share the file with the server.
//
// Commits use synchronous=FULL: a committed write survives a crash of the
// process and a power loss (see Open).
//
// A function passed to Update must not call Update again (it would wait for the
// one writer connection it already holds).
//
// # Group commit
//
// With synchronous=FULL each COMMIT costs an fsync of the WAL, which is most of
// the time of a small write. Update therefore commits concurrent callers
// together (groupcommit.go), without weakening what a caller is told:
//
//   - Batches form from what already waits. A caller that finds the writer idle
//     begins a batch (BEGIN IMMEDIATE) at once; callers that arrive while a
//     batch runs its fns or commits queue in arrival order. When a fn is done
//     the oldest waiter joins the open batch, until the batch holds 64 fns or
//     began 4 ms ago; then the last member commits, and whoever queued
//     meanwhile forms the next batch. Nothing ever waits on a timer for
//     company, so a lone caller costs what it did before.
//   - Each caller runs its own fn in its own goroutine, one fn at a time,
//     inside SAVEPOINT fn on the shared transaction: the right to use the
//     writer connection passes from caller to caller. A fn sees the writes of
//     the fns before it in the batch, as it would have seen them committed.
//   - A fn that returns an error, panics or calls runtime.Goexit is rolled back
//     to its savepoint, so nothing it wrote is kept and nothing anyone else
//     wrote is lost; the error goes to its caller only, and the panic continues
//     in the caller's goroutine with its own stack. Uniqueness conflicts
//     between fns of one batch are found statement by statement, as between
//     consecutive transactions, and reported to the later fn. The writer
//     keeps the savepoints' statement journal in memory (temp_store=MEMORY),
//     so they cost no temporary-file writes; crash recovery never reads it.
//   - A caller whose ctx ends while it queues leaves the queue and its fn never
//     runs. A ctx that ends while its fn runs fails the fn's next statement; a
//     running statement is not interrupted, because SQLite answers an
//     interrupted write by rolling back the whole transaction, which would
//     undo the other fns of the batch.
//   - Every caller is answered only after the batch's COMMIT has returned, the
//     callers whose fn failed included (their errors may rest on writes of
//     earlier fns). A failed COMMIT fails every caller of the batch. If SQLite
//     rolls the whole transaction back on its own (a disk full or I/O error
//     in some fn), the batch ends there and each of its callers gets an error:
//     an answer of success still means the write is durable.
//
// Observably this is the same contract as one transaction per Update, run one
// after another (store.SingleWriter): fns run once each and in turn, the
// outcome of each is its own, and success means durably committed.
//
// # Storage
//
// Times are integer microseconds since the Unix epoch; optional times (a zero
// time.Time) are NULL. Case-insensitive columns (userName, displayName, email
// values and types) have a lower-cased twin computed in Go with strings.ToLower,
// because SQLite's lower() folds ASCII only; filter values are lower-cased the
// same way. Attributes and the emails list are stored as JSON text; emails are
// also kept one per row in user_emails for filtering.
//
// # Filters
//
// Filters compile to SQL with bind parameters only. Absent optional strings
// (externalId, displayName) are stored as "" and compare as "": "pr" means "not
// empty". co, sw and ew are exact substring, prefix and suffix tests (instr and
// substr), so "%" and "_" in values have no special meaning. String order for
// gt/ge/lt/le is byte order (SQLite's BINARY collation).
//
// # Intents
//
// Intent sequence numbers come from an AUTOINCREMENT rowid: with one writer they
// are assigned in commit order. Consumers should nevertheless select intents by
// state rather than by a high-water mark, as the PostgreSQL backend cannot give
// that guarantee.
//
// # Schema
//
// Schema migrations are embedded (migrations/NNNN_*.sql), recorded in
// schema_migrations and applied by Open inside one write transaction. Open
// refuses a database whose schema is newer than this build knows.
//
// # Errors
//
// Error texts name the operation only, never a resource id or an attribute
// value: ids arrive from SCIM clients (a GET by an id the client made up) and
// the texts of internal errors end up in the server's log.
package sqlite
