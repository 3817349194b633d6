package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestMigrations(t *testing.T) {
	ms, err := loadMigrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
		require.NotEmpty(t, m.SQL)
	}

	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	versions := func() []int {
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		require.NoError(t, err)
		defer rows.Close()
		var vs []int
		for rows.Next() {
			var v int
			require.NoError(t, rows.Scan(&v))
			vs = append(vs, v)
		}
		require.NoError(t, rows.Err())
		return vs
	}

	s, err := Open(ctx, path, zap.NewNop())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	want := make([]int, len(ms))
	for i := range want {
		want[i] = i + 1
	}
	require.Equal(t, want, versions())

	// Opening again applies nothing and keeps the data.
	s, err = Open(ctx, path, zap.NewNop())
	require.NoError(t, err)
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, s.Close())
	require.Equal(t, want, versions())

	// A database migrated by a newer build is refused.
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, len(ms)+1)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = Open(ctx, path, zap.NewNop())
	require.ErrorContains(t, err, "newer than this build supports")
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		_, err := Open(t.Context(), p, zap.NewNop())
		require.Error(t, err, p)
	}
}

func TestOpenPathWithURISyntax(t *testing.T) {
	// Characters that mean something in a file: URI are part of the name.
	dir := t.TempDir()
	path := filepath.Join(dir, "odd?name#with%chars.db")
	s, err := Open(t.Context(), path, zap.NewNop())
	require.NoError(t, err)
	require.NoError(t, s.Ping(t.Context()))
	require.NoError(t, s.Close())
	require.FileExists(t, path)
}
