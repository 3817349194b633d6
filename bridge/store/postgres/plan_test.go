package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// testDSNEnv is storetest.PostgresDSNEnv (not imported: storetest imports this
// package through the backend factory).
const testDSNEnv = "SCIM_BRIDGE_TEST_POSTGRES_DSN"

// openTestStore opens a store in a fresh schema of the test database, dropped
// when t ends; it skips t when the database is not configured.
func openTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dsn := os.Getenv(testDSNEnv)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a PostgreSQL URL", testDSNEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "pgtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, conn.Close(context.WithoutCancel(t.Context())))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer func() { _ = conn.Close(ctx) }()
		_, err = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := Open(t.Context(), u.String(), zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, u.String()
}

// explain returns the EXPLAIN output of q with args bound.
func explain(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	var lines []string
	require.NoError(t, s.View(t.Context(), func(stx store.Tx) error {
		rows, err := stx.(*tx).q.Query(t.Context(), "EXPLAIN "+q, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	return strings.Join(lines, "\n")
}

// TestIndexUse proves that the lookups IdPs make (userName, externalId,
// emails.value with and without type, members.value) use indexes on a table
// large enough (and analyzed) for the planner to prefer them to a scan.
func TestIndexUse(t *testing.T) {
	ctx := t.Context()
	s, _ := openTestStore(t)

	const n = 5000
	require.NoError(t, s.Update(ctx, func(stx store.Tx) error {
		for _, id := range []string{"group-a", "group-b"} {
			if err := stx.CreateGroup(ctx, store.Group{ID: id, DisplayName: id, ExternalID: "ext-" + id}); err != nil {
				return err
			}
		}
		// Bulk insert: the fixture's content matters here, not the code path.
		if _, err := stx.(*tx).q.Exec(ctx, `
			WITH u AS (
				INSERT INTO users (id, user_name, user_name_lc, external_id, display_name, display_name_lc, active,
					bc_email, emails, attributes, version, created, modified)
				SELECT 'u-' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', '00u' || i,
					'User ' || i, 'user ' || i, true, '', '[]', '{}', 1, now(), now()
				FROM generate_series(1, $1::int) AS i
				RETURNING id, user_name_lc
			), e AS (
				INSERT INTO user_emails (user_id, value_lc, type_lc) SELECT id, user_name_lc, 'work' FROM u
			)
			INSERT INTO group_members (group_id, user_id)
			SELECT g, u.id FROM u CROSS JOIN (VALUES ('group-a'), ('group-b')) AS x (g)`, n); err != nil {
			return err
		}
		return nil
	}))
	require.NoError(t, s.Update(ctx, func(stx store.Tx) error {
		_, err := stx.(*tx).q.Exec(ctx, "ANALYZE")
		return err
	}))

	cases := []struct {
		name  string
		users bool
		expr  store.Expr
		want  []string
	}{
		{"users userName eq", true, store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "USER7@example.com"},
			[]string{"users_user_name_lc_key"}},
		{"users externalId eq", true, store.Cond{Field: store.FieldExternalID, Op: store.OpEq, Value: "00u7"},
			[]string{"users_external_id"}},
		{"users emails.value eq", true, store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "user7@example.com"},
			[]string{"user_emails_value", "users_pkey"}},
		{"users emails[type].value eq", true, store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "user7@example.com", EmailType: "work"},
			[]string{"user_emails_", "users_pkey"}},
		{"groups members.value eq", false, store.Cond{Field: store.FieldMember, Op: store.OpEq, Value: "u-7"},
			[]string{"group_members_user"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				where string
				args  []any
				err   error
				qs    []string
			)
			if tc.users {
				where, args, err = compileUserFilter(tc.expr)
				require.NoError(t, err)
				qs = []string{listUsersSQL(where, len(args)), countUsersSQL(where)}
			} else {
				where, args, err = compileGroupFilter(tc.expr)
				require.NoError(t, err)
				qs = []string{listGroupsSQL(where, len(args)), countGroupsSQL(where)}
			}
			for i, q := range qs {
				a := args
				if i == 0 {
					a = append(append([]any{}, args...), 100, 0)
				}
				p := explain(t, s, q, a...)
				t.Logf("%s\n%s", q, p)
				if tc.users {
					require.NotContains(t, p, "Seq Scan", "plan of %s:\n%s", q, p)
				} else {
					// The groups table has two rows; only the membership side must
					// avoid a scan.
					require.NotContains(t, p, "Seq Scan on group_members", "plan of %s:\n%s", q, p)
				}
				for _, w := range tc.want {
					require.Contains(t, p, w, "plan of %s:\n%s", q, p)
				}
			}
		})
	}
}
