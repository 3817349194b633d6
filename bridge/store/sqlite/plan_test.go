package sqlite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// plan returns the detail lines of EXPLAIN QUERY PLAN for q.
func plan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	var lines []string
	require.NoError(t, s.View(t.Context(), func(stx store.Tx) error {
		rows, err := stx.(*tx).query(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, parent, notUsed int
				detail              string
			)
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				return err
			}
			lines = append(lines, detail)
		}
		return rows.Err()
	}))
	return lines
}

// TestIndexUse proves that the lookups IdPs make (userName, externalId,
// emails.value with and without type, members.value) are index searches, not
// table scans, for both the page query and the count query, before and after
// the planner has statistics (ANALYZE).
func TestIndexUse(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, t.TempDir()+"/plan.db", zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })

	// A few thousand rows with realistic skew: every user active, every email
	// of type work, everyone in the same two groups.
	const n = 2000
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		for _, id := range []string{"group-a", "group-b"} {
			if err := tx.CreateGroup(ctx, store.Group{ID: id, DisplayName: id, ExternalID: "ext-" + id}); err != nil {
				return err
			}
		}
		ids := make([]string, 0, n)
		for i := range n {
			name := fmt.Sprintf("user%04d@example.com", i)
			u := store.User{
				ID: fmt.Sprintf("u-%04d", i), UserName: name, ExternalID: fmt.Sprintf("00u%04d", i), Active: true,
				Emails: []store.Email{{Value: name, Type: "work", Primary: true}}, Created: time.Unix(0, 0),
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		if err := tx.AddMembers(ctx, "group-a", ids); err != nil {
			return err
		}
		return tx.AddMembers(ctx, "group-b", ids)
	}))

	userCases := []struct {
		name   string
		filter store.Expr
		want   []string // plan fragments that must all appear
	}{
		{"userName eq", store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "USER0007@example.com"},
			[]string{"SEARCH u USING", "(user_name_lc=?)"}},
		{"externalId eq", store.Cond{Field: store.FieldExternalID, Op: store.OpEq, Value: "00u0007"},
			[]string{"SEARCH u USING", "users_external_id (external_id=?)"}},
		{"emails.value eq", store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "user0007@example.com"},
			[]string{"SEARCH u USING", "(id=?)", "SEARCH e USING COVERING INDEX user_emails_value (value_lc=?)"}},
		{"emails[type].value eq", store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "user0007@example.com", EmailType: "work"},
			[]string{"SEARCH u USING", "(id=?)", "SEARCH e USING COVERING INDEX user_emails_"}},
		{"userName eq and active", store.And{
			store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "user0007@example.com"},
			store.Cond{Field: store.FieldActive, Op: store.OpEq, Value: true},
		}, []string{"SEARCH u USING", "(user_name_lc=?)"}},
	}
	groupCases := []struct {
		name   string
		filter store.Expr
		want   []string
	}{
		{"members.value eq", store.Cond{Field: store.FieldMember, Op: store.OpEq, Value: "u-0007"},
			[]string{"SEARCH g USING", "(id=?)", "SEARCH m USING COVERING INDEX group_members_user (user_id=?)"}},
		{"displayName eq", store.Cond{Field: store.FieldDisplayName, Op: store.OpEq, Value: "GROUP-A"},
			[]string{"SEARCH g USING", "(display_name_lc=?)"}},
		{"externalId eq", store.Cond{Field: store.FieldExternalID, Op: store.OpEq, Value: "ext-group-a"},
			[]string{"SEARCH g USING", "groups_external_id (external_id=?)"}},
	}

	check := func(t *testing.T, queries []string, args []any, want []string) {
		t.Helper()
		for _, q := range queries {
			a := args
			if strings.HasSuffix(q, "LIMIT ? OFFSET ?") {
				a = append(append([]any{}, args...), 100, 0)
			}
			lines := plan(t, s, q, a...)
			joined := strings.Join(lines, "\n")
			for _, l := range lines {
				require.False(t, strings.HasPrefix(l, "SCAN "), "full scan in plan of %s:\n%s", q, joined)
			}
			for _, w := range want {
				require.Contains(t, joined, w, "plan of %s", q)
			}
		}
	}
	for _, stats := range []string{"without statistics", "after ANALYZE"} {
		if stats == "after ANALYZE" {
			require.NoError(t, s.Update(ctx, func(stx store.Tx) error {
				_, err := stx.(*tx).exec(ctx, "ANALYZE")
				return err
			}))
		}
		for _, tc := range userCases {
			t.Run(stats+"/users "+tc.name, func(t *testing.T) {
				where, args, err := compileUserFilter(tc.filter)
				require.NoError(t, err)
				check(t, []string{listUsersSQL(where), countUsersSQL(where)}, args, tc.want)
			})
		}
		for _, tc := range groupCases {
			t.Run(stats+"/groups "+tc.name, func(t *testing.T) {
				where, args, err := compileGroupFilter(tc.filter)
				require.NoError(t, err)
				check(t, []string{listGroupsSQL(where), countGroupsSQL(where)}, args, tc.want)
			})
		}
	}
}
