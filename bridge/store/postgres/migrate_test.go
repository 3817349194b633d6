package postgres

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestConcurrentMigration opens several stores on one fresh schema at once, as
// replicas starting together do: each migration is applied exactly once and
// every Open succeeds.
func TestConcurrentMigration(t *testing.T) {
	ctx := t.Context()
	first, dsn := openTestStore(t)
	// openTestStore migrated the schema; start over on an empty one.
	_, err := first.pool.Exec(ctx, `DO $$ DECLARE t text; BEGIN
		FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
			EXECUTE 'DROP TABLE ' || quote_ident(t) || ' CASCADE';
		END LOOP; END $$`)
	require.NoError(t, err)
	_, err = first.pool.Exec(ctx, `DROP FUNCTION intents_removed_identity()`)
	require.NoError(t, err)

	const replicas = 6
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	stores := make([]*Store, replicas)
	for i := range replicas {
		wg.Go(func() {
			stores[i], errs[i] = Open(ctx, dsn, zap.NewNop())
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		require.NoError(t, stores[i].Ping(ctx))
		require.NoError(t, stores[i].Close())
	}
	ms, err := loadMigrations()
	require.NoError(t, err)
	var count, max int
	require.NoError(t, first.pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&count, &max))
	require.Equal(t, len(ms), count)
	require.Equal(t, len(ms), max)

	// A schema migrated by a newer build is refused.
	_, err = first.pool.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, len(ms)+1)
	require.NoError(t, err)
	_, err = Open(ctx, dsn, zap.NewNop())
	require.ErrorContains(t, err, "newer than this build supports")
}

func TestOpenBadDSN(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:hunter2@127.0.0.1:1/db?connect_timeout=2", zap.NewNop())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
	_, err = Open(t.Context(), "postgres://user:hunter2@[bad", zap.NewNop())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}
