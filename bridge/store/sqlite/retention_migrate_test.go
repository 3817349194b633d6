package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/migrations"
)

// The retention migration copies the removed identities out of the outbox
// history a database already has, so pruning after an upgrade forgets no
// deleted user.
func TestRetentionMigrationKeepsRemovedIdentities(t *testing.T) {
	ctx := t.Context()
	ms, err := loadMigrations()
	require.NoError(t, err)
	var before []migrations.Migration
	for _, m := range ms {
		if m.Version < 6 {
			before = append(before, m)
		}
	}
	require.Len(t, before, 5)
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = migrations.Apply(ctx, migrationTx{tx}, migrationTable, before)
	require.NoError(t, err)
	for _, row := range [][]string{
		{"account.remove", "a@x.io", "u1", "scim"},
		{"account.remove", "a@x.io", "u1", "scim"},
		{"account.remove", "b@x.io", "u2", "reconcile"},
		{"account.add", "c@x.io", "u3", "scim"},
		{"account.remove", "d@x.io", "", "scim"},
	} {
		_, err = tx.ExecContext(ctx, `INSERT INTO intents (kind, email, store_hash, user_id, source, request_id, created_at,
			state, attempts, last_error) VALUES (?, ?, '', ?, ?, '', 0, 'done', 1, '')`, row[0], row[1], row[2], row[3])
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())

	s, err := Open(ctx, path, zap.NewNop())
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		got, err := tx.ListRemovedIdentities(ctx)
		require.Equal(t, []store.RemovedIdentity{{UserID: "u1", Email: "a@x.io"}}, got)
		return err
	}))
}
