package sqlite

import (
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/sqlgen"
)

const (
	sqlTrue  = "1"
	sqlFalse = "0"
)

// dialect is SQLite's part of the shared filter compiler: positional "?"
// markers (so a value used twice is bound twice), 0/1 booleans, times as
// INTEGER microseconds.
var dialect = sqlgen.Dialect{
	Placeholder: func(int) string { return "?" },
	True:        sqlTrue,
	False:       sqlFalse,
	Contains: func(x string, arg func() string) string {
		return "instr(" + x + ", " + arg() + ") > 0"
	},
	HasPrefix: func(x string, arg func() string) string {
		return "substr(" + x + ", 1, length(" + arg() + ")) = " + arg()
	},
	HasSuffix: func(x string, arg func() string) string {
		return "substr(" + x + ", -length(" + arg() + ")) = " + arg()
	},
	// IN (subquery) rather than a correlated EXISTS: SQLite then drives the
	// lookup from the user_emails (group_members) index instead of testing
	// every user (group).
	Related: func(outer, table, fk, cond string) string {
		return outer + " IN (SELECT " + fk + " FROM " + table + " WHERE " + cond + ")"
	},
	Time: func(t time.Time) any { return t.UnixMicro() },
}

// compileUserFilter returns the WHERE clause (alias u) and its arguments.
func compileUserFilter(e store.Expr) (string, []any, error) { return dialect.UserFilter(e) }

// compileGroupFilter returns the WHERE clause (alias g) and its arguments.
func compileGroupFilter(e store.Expr) (string, []any, error) { return dialect.GroupFilter(e) }
