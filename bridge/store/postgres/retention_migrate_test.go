package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// The retention migration copies the removed identities out of the outbox
// history a database already has, so pruning after an upgrade forgets no
// deleted user.
func TestRetentionMigrationKeepsRemovedIdentities(t *testing.T) {
	ctx := t.Context()
	s, dsn := openTestStore(t)
	// Back to the schema before the migration, with some history.
	_, err := s.pool.Exec(ctx, `DROP TABLE removed_identities; DROP FUNCTION intents_removed_identity() CASCADE;
		DROP INDEX intents_settled, audit_time, intents_pending_email, intents_pending_kind, bc_users_updated;
		DELETE FROM schema_migrations WHERE version >= 5`)
	require.NoError(t, err)
	for _, row := range [][]string{
		{"account.remove", "a@x.io", "u1", "scim"},
		{"account.remove", "a@x.io", "u1", "scim"},
		{"account.remove", "b@x.io", "u2", "reconcile"},
		{"account.add", "c@x.io", "u3", "scim"},
		{"account.remove", "d@x.io", "", "scim"},
	} {
		_, err = s.pool.Exec(ctx, `INSERT INTO intents (kind, email, store_hash, user_id, source, request_id, created_at,
			state, attempts, last_error) VALUES ($1, $2, '', $3, $4, '', now(), 'done', 1, '')`, row[0], row[1], row[2], row[3])
		require.NoError(t, err)
	}
	again, err := Open(ctx, dsn, zap.NewNop())
	require.NoError(t, err)
	defer again.Close()
	require.NoError(t, again.View(ctx, func(tx store.Tx) error {
		got, err := tx.ListRemovedIdentities(ctx)
		require.Equal(t, []store.RemovedIdentity{{UserID: "u1", Email: "a@x.io"}}, got)
		return err
	}))
}
