package migrations

import (
	"context"
	"fmt"
)

// Tx is what Apply needs of a backend's open transaction.
type Tx interface {
	// Exec runs one statement.
	Exec(ctx context.Context, query string, args ...any) error
	// QueryInt runs a query that returns one integer.
	QueryInt(ctx context.Context, query string) (int, error)
}

// Table is a backend's form of the schema_migrations table, which records the
// versions applied.
type Table struct {
	// Create creates the table if it does not exist.
	Create string
	// Record returns the statement and arguments that record m as applied.
	Record func(m Migration) (string, []any)
}

// Apply brings the schema up to date inside tx: it creates the table, reads
// the current version and applies and records every later migration of ms,
// returning how many it applied. A database whose version is past the last of
// ms was migrated by a newer build and is refused. The caller owns tx: it
// commits on success and rolls back on error, so a failed migration leaves the
// schema as it was on backends with transactional DDL.
func Apply(ctx context.Context, tx Tx, t Table, ms []Migration) (applied int, err error) {
	if err := tx.Exec(ctx, t.Create); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := tx.QueryInt(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return 0, fmt.Errorf("database schema version %d is newer than this build supports (%d): upgrade scim-bridge", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := tx.Exec(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		q, args := t.Record(m)
		if err := tx.Exec(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		applied++
	}
	return applied, nil
}
