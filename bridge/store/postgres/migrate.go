package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scim-bridge/scim-bridge/bridge/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migrations.Migration, error) { return migrations.Load(migrationFiles) }

// migrationTable is PostgreSQL's schema_migrations: applied_at from the
// server's clock.
var migrationTable = migrations.Table{
	Create: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`,
	Record: func(m migrations.Migration) (string, []any) {
		return `INSERT INTO schema_migrations (version) VALUES ($1)`, []any{m.Version}
	},
}

// migrationTx adapts a pgx transaction to migrations.Tx.
type migrationTx struct{ tx pgx.Tx }

func (t migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.Exec(ctx, query, args...)
	return err
}

func (t migrationTx) QueryInt(ctx context.Context, query string) (n int, err error) {
	err = t.tx.QueryRow(ctx, query).Scan(&n)
	return n, err
}

// migrate brings the schema up to date in one transaction. The transaction first
// takes an advisory lock derived from the current schema name, so replicas that
// start together (sharing a schema) apply each migration once, while databases
// with several bridge schemas (tests) do not wait for each other. PostgreSQL DDL
// is transactional: a failed migration leaves the schema as it was.
func migrate(ctx context.Context, pool *pgxpool.Pool) (applied int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("read current schema: %w", err)
	}
	if schema == nil {
		return 0, errors.New("no schema on the search_path exists")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "scim-bridge migrate "+*schema); err != nil {
		return 0, fmt.Errorf("lock schema for migration: %w", err)
	}
	if applied, err = migrations.Apply(ctx, migrationTx{tx}, migrationTable, ms); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit migration: %w", err)
	}
	return applied, nil
}
