package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migrations.Migration, error) { return migrations.Load(migrationFiles) }

// migrationTable is SQLite's schema_migrations: applied_at in microseconds.
var migrationTable = migrations.Table{
	Create: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`,
	Record: func(m migrations.Migration) (string, []any) {
		return `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, []any{m.Version, time.Now().UnixMicro()}
	},
}

// migrationTx adapts a database/sql transaction to migrations.Tx.
type migrationTx struct{ tx *sql.Tx }

func (t migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, query, args...)
	return err
}

func (t migrationTx) QueryInt(ctx context.Context, query string) (n int, err error) {
	err = t.tx.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// migrate brings the schema up to date. It runs in one BEGIN IMMEDIATE
// transaction on the writer, so two processes opening the same new file cannot
// both apply a migration, and a failed migration leaves the schema unchanged.
func migrate(ctx context.Context, db *sql.DB) (applied int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if applied, err = migrations.Apply(ctx, migrationTx{tx}, migrationTable, ms); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit migration: %w", err)
	}
	return applied, nil
}
