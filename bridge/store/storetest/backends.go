package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
)

// PostgresDSNEnv names the environment variable with the URL of a PostgreSQL
// database the tests may use (for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). Tests create and drop
// their own schemas in it and touch nothing else.
const PostgresDSNEnv = "SCIM_BRIDGE_TEST_POSTGRES_DSN"

// Backend is one store implementation under test.
type Backend struct {
	// Name is "sqlite" or "postgres", usable as a sub-test name.
	Name string
	// New returns a fresh, empty store that is closed (and its data removed) when
	// t ends. It skips t when the backend is not available.
	New func(t *testing.T) store.Store
}

// Backends returns every backend: SQLite always, PostgreSQL always listed but
// skipping its tests unless SCIM_BRIDGE_TEST_POSTGRES_DSN is set.
func Backends(t testing.TB) []Backend {
	t.Helper()
	return []Backend{
		{Name: "sqlite", New: func(t *testing.T) store.Store { return NewSQLite(t) }},
		{Name: "postgres", New: func(t *testing.T) store.Store { return NewPostgres(t) }},
	}
}

// testLogger logs warnings and errors of the store through tb.
func testLogger(tb testing.TB) *zap.Logger {
	return zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel))
}

// NewSQLite returns a fresh SQLite store in a file under tb.TempDir, closed when
// tb ends.
func NewSQLite(tb testing.TB) store.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "store.db")
	s, err := backend.Open(tb.Context(), "sqlite:"+path, testLogger(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// NewPostgres returns a fresh PostgreSQL store in a new schema with a random
// name in the database named by SCIM_BRIDGE_TEST_POSTGRES_DSN; the schema is
// dropped when tb ends. It skips tb when the variable is not set.
func NewPostgres(tb testing.TB) store.Store {
	tb.Helper()
	s, err := backend.Open(tb.Context(), PostgresDSN(tb), testLogger(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, s.Close()) })
	return s
}

// PostgresDSN creates a fresh schema as NewPostgres does and returns a DSN that
// selects it (for bridge processes started by a test), without opening a store.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresDSNEnv)
	}
	u, err := url.Parse(dsn)
	require.NoError(tb, err, "%s must be a postgres:// URL", PostgresDSNEnv)

	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "storetest_" + hex.EncodeToString(b[:])

	conn, err := pgx.Connect(tb.Context(), dsn)
	require.NoError(tb, err, "connect to %s", PostgresDSNEnv)
	_, err = conn.Exec(tb.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(tb, conn.Close(context.WithoutCancel(tb.Context())))
	require.NoError(tb, err)
	// Registered before the store's Close, so it runs after it.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop test schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop test schema: %v", err)
		}
	})

	// pgx passes unknown URL parameters to the server as run-time parameters
	// (pgconn.Config.RuntimeParams): search_path selects the test's schema on
	// every pooled connection.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
