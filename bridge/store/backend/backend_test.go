package backend_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func TestOpenSQLite(t *testing.T) {
	for _, rel := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "store.db")
		if rel {
			t.Chdir(dir)
			path = "store.db"
		}
		s, err := backend.Open(t.Context(), "sqlite:"+path, zap.NewNop())
		require.NoError(t, err)
		require.NoError(t, s.Ping(t.Context()))
		require.NoError(t, s.Close())
		require.FileExists(t, filepath.Join(dir, "store.db"))
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := os.Getenv(storetest.PostgresDSNEnv)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL", storetest.PostgresDSNEnv)
	}
	// Work in a schema of our own, as every test using the shared database does.
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "backendtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		_, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
		require.NoError(t, conn.Close(ctx))
	})
	_, err = conn.Exec(t.Context(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)

	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	for _, scheme := range []string{"postgres", "postgresql"} {
		u.Scheme = scheme
		s, err := backend.Open(t.Context(), u.String(), zap.NewNop())
		require.NoError(t, err, scheme)
		require.NoError(t, s.Ping(t.Context()))
		require.NoError(t, s.Close())
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name     string
		database string
		contains string
	}{
		{"empty", "", `"sqlite:PATH"`},
		{"sqlite URL form", "sqlite:///var/lib/x.db", "sqlite:PATH"},
		{"sqlite without path", "sqlite:", "needs a path"},
		{"other scheme", "mysql://root:hunter2@db/x", `"mysql"`},
		{"postgres without slashes", "postgres:hunter2", `"postgres://..."`},
		{"bare string", "hunter2", `"sqlite:PATH"`},
		{"scheme-like secret", "hunter2:x", `"postgres://..."`},
		{"unreachable postgres", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", "open postgres store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := backend.Open(t.Context(), tc.database, zap.NewNop())
			require.Error(t, err)
			require.Nil(t, s)
			require.Contains(t, err.Error(), tc.contains)
			// The database string may carry a password: errors never repeat it.
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}
