package postgres

import (
	"strconv"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/sqlgen"
)

// sqlTrue is the compiled form of a filter that matches everything.
const sqlTrue = "TRUE"

// dialect is PostgreSQL's part of the shared filter compiler: numbered $n
// markers (a value used twice is bound once), boolean literals, timestamptz
// times.
var dialect = sqlgen.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	True:        sqlTrue,
	False:       "FALSE",
	Contains: func(x string, arg func() string) string {
		return "strpos(" + x + ", " + arg() + ") > 0"
	},
	HasPrefix: func(x string, arg func() string) string {
		a := arg()
		return "left(" + x + ", char_length(" + a + ")) = " + a
	},
	HasSuffix: func(x string, arg func() string) string {
		a := arg()
		return "right(" + x + ", char_length(" + a + ")) = " + a
	},
	// PostgreSQL plans EXISTS as a semi-join, driven from the user_emails
	// (group_members) index when the condition is selective.
	Related: func(outer, table, fk, cond string) string {
		return "EXISTS (SELECT 1 FROM " + table + " WHERE " + fk + " = " + outer + " AND (" + cond + "))"
	},
	Time: func(t time.Time) any { return t },
}

// compileUserFilter returns the WHERE clause (alias u) and its arguments.
func compileUserFilter(e store.Expr) (string, []any, error) { return dialect.UserFilter(e) }

// compileGroupFilter returns the WHERE clause (alias g) and its arguments.
func compileGroupFilter(e store.Expr) (string, []any, error) { return dialect.GroupFilter(e) }
