// Package sqlite is the embedded store backend: a single database file driven by
// the pure-Go modernc.org/sqlite driver (no cgo), for a deployment with one
// replica.
//
// # Connections
//
// The file is opened in WAL mode with foreign keys on and a busy timeout. Writes
// go through one connection (a *sql.DB limited to a single open connection) and
// every Update starts with BEGIN IMMEDIATE: SQLite allows one writer at a time
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
