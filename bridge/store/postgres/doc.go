// Package postgres is the multi-replica store backend on PostgreSQL, driven by
// github.com/jackc/pgx/v5 (pgxpool). Several bridge processes may share one
// database (and one schema): every guarantee of the store contract holds across
// processes.
//
// # Transactions
//
// Update runs at SERIALIZABLE isolation and re-runs fn when PostgreSQL reports a
// serialization failure (SQLSTATE 40001) or a deadlock (40P01), after a short
// jittered backoff, for up to 20 s (or the context's deadline); then it returns the
// last error.
// View runs at REPEATABLE READ, READ ONLY: one snapshot for the whole function.
// A unique violation (23505) is reported as store.ErrConflict and a foreign-key
// violation (23503, a member added concurrently with its user's deletion) as
// store.ErrNotFound. The Tx methods detect the ordinary conflicts and missing
// rows with statements that cannot fail (INSERT ... ON CONFLICT DO NOTHING,
// guarded UPDATEs, existence checks), so after a Tx method returns ErrConflict
// or ErrNotFound the transaction is still usable, as on SQLite.
//
// # Leases
//
// Leases are judged by the database clock (now()), so replicas whose clocks
// disagree still agree on who holds a lease and when it expires. TryLease is one
// INSERT ... ON CONFLICT DO UPDATE statement, serialised on the lease row.
//
// # Sequence numbers
//
// users.seq, groups.seq, group_members.added_seq and intents.seq are identity
// columns: a number is taken when the row is inserted, so a transaction that
// commits later can hold a smaller number than one that committed earlier.
// Orders by these numbers are stable, but a reader must not treat "the highest
// number seen so far" as a high-water mark: the outbox consumer selects intents
// by state, not by sequence number.
//
// # Filters
//
// Filters compile to SQL with bind parameters only. Absent optional strings are
// stored as "" and compare as "" ("pr" means "not empty"). co, sw and ew are
// exact character tests (strpos, left, right), so "%" and "_" in values are
// ordinary characters. Filtered text columns use COLLATE "C": gt/ge/lt/le compare
// bytes. Multi-valued fields (emails.value, members.value) are EXISTS subqueries.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_*.sql) and applied by Open in one
// transaction that holds a transaction-level advisory lock derived from the
// current schema name, so replicas starting together migrate once. Open refuses
// a database whose schema is newer than this build knows. The schema used is the
// first one on the connection's search_path (set search_path in the URL to use
// another than public).
//
// # Errors
//
// Error texts name the operation only, never a resource id or an attribute
// value: ids arrive from SCIM clients (a GET by an id the client made up) and
// the texts of internal errors end up in the server's log. PostgreSQL refuses
// NUL and invalid UTF-8 in text and index entries over about 2,700 bytes; the
// bridge's service refuses such values before they reach the store.
package postgres
