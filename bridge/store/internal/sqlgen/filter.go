// Package sqlgen compiles store filters to SQL for both backends. The
// compiler, the column map and the comparison rules are written once; a
// Dialect holds the few pieces of SQL that differ between SQLite and
// PostgreSQL (bind markers, boolean literals, substring functions, the shape
// of a related-rows test, the bind form of a time), in the manner of the
// "flavors" of dex's storage/sql. It also holds the SQL text and query helpers
// that do not differ at all (select lists, when to count a page's total).
package sqlgen

import (
	"fmt"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Dialect is the engine-specific part of the filter compiler. Every function
// field must be set.
type Dialect struct {
	// Placeholder returns the bind marker of the n-th argument, counting from 1.
	Placeholder func(n int) string
	// True and False are the SQL literals of a condition that always or never
	// holds.
	True, False string
	// Contains, HasPrefix and HasSuffix return an exact, character-counting
	// test (no LIKE wildcards) that text expression x contains, starts or ends
	// with the value. arg binds the value once more and returns its marker;
	// call it once per use where markers cannot be reused.
	Contains, HasPrefix, HasSuffix func(x string, arg func() string) string
	// Related returns the test that the row whose key is outer has at least
	// one row in table (with its alias) whose foreign key fk satisfies cond.
	Related func(outer, table, fk, cond string) string
	// Time returns the bind argument of a time already floored to the
	// microsecond, in the form the time columns store.
	Time func(t time.Time) any
}

// colKind says how a filterable field is stored and compared.
type colKind int

const (
	kindExact  colKind = iota // case-exact text column
	kindFolded                // lower-cased text column; values are lower-cased too
	kindBool                  // boolean (SQLite: INTEGER 0/1)
	kindTime                  // time to the microsecond (SQLite: INTEGER, PostgreSQL: timestamptz)
	kindEmail                 // user_emails rows of the user
	kindMember                // group_members rows of the group
)

type column struct {
	expr string
	kind colKind
}

// userColumn maps a user filter field to its column (alias u).
func userColumn(f store.Field) (column, bool) {
	switch f {
	case store.FieldID:
		return column{"u.id", kindExact}, true
	case store.FieldExternalID:
		return column{"u.external_id", kindExact}, true
	case store.FieldUserName:
		return column{"u.user_name_lc", kindFolded}, true
	case store.FieldDisplayName:
		return column{"u.display_name_lc", kindFolded}, true
	case store.FieldActive:
		return column{"u.active", kindBool}, true
	case store.FieldEmail:
		return column{"", kindEmail}, true
	case store.FieldCreated:
		return column{"u.created", kindTime}, true
	case store.FieldModified:
		return column{"u.modified", kindTime}, true
	}
	return column{}, false
}

// groupColumn maps a group filter field to its column (alias g).
func groupColumn(f store.Field) (column, bool) {
	switch f {
	case store.FieldID:
		return column{"g.id", kindExact}, true
	case store.FieldExternalID:
		return column{"g.external_id", kindExact}, true
	case store.FieldDisplayName:
		return column{"g.display_name_lc", kindFolded}, true
	case store.FieldMember:
		return column{"", kindMember}, true
	case store.FieldCreated:
		return column{"g.created", kindTime}, true
	case store.FieldModified:
		return column{"g.modified", kindTime}, true
	}
	return column{}, false
}

// UserFilter returns the WHERE clause of a filter on users (alias u) and its
// arguments, in the order their markers appear. Values only ever travel as
// bind arguments.
func (d *Dialect) UserFilter(e store.Expr) (string, []any, error) {
	return d.compile(e, store.UserFields, userColumn)
}

// GroupFilter returns the WHERE clause of a filter on groups (alias g) and its
// arguments (see UserFilter).
func (d *Dialect) GroupFilter(e store.Expr) (string, []any, error) {
	return d.compile(e, store.GroupFields, groupColumn)
}

func (d *Dialect) compile(e store.Expr, fields []store.Field, col func(store.Field) (column, bool)) (string, []any, error) {
	if err := store.Validate(e, fields); err != nil {
		return "", nil, fmt.Errorf("invalid filter: %w", err)
	}
	c := &compiler{d: d, column: col}
	where, err := c.expr(e)
	return where, c.args, err
}

// compiler holds the state of one compilation.
type compiler struct {
	d      *Dialect
	column func(store.Field) (column, bool)
	args   []any
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return c.d.Placeholder(len(c.args))
}

func (c *compiler) expr(e store.Expr) (string, error) {
	switch e := e.(type) {
	case nil:
		return c.d.True, nil
	case store.And:
		return c.list(e, " AND ", c.d.True)
	case store.Or:
		return c.list(e, " OR ", c.d.False)
	case store.Not:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		// Every compiled condition is NOT NULL (columns are NOT NULL, related-row
		// tests are true or false), so NOT is plain negation.
		return "NOT (" + x + ")", nil
	case store.Cond:
		return c.cond(e)
	default:
		return "", fmt.Errorf("unknown filter expression %T", e)
	}
}

func (c *compiler) list(xs []store.Expr, sep, empty string) (string, error) {
	if len(xs) == 0 {
		return empty, nil
	}
	parts := make([]string, 0, len(xs))
	for _, x := range xs {
		p, err := c.expr(x)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+p+")")
	}
	return strings.Join(parts, sep), nil
}

func (c *compiler) cond(cd store.Cond) (string, error) {
	col, ok := c.column(cd.Field)
	if !ok {
		return "", fmt.Errorf("field %q cannot be filtered here", cd.Field)
	}
	switch col.kind {
	case kindBool:
		if cd.Op == store.OpPr {
			return c.d.True, nil
		}
		b, _ := cd.Value.(bool)
		if cd.Op == store.OpEq {
			return col.expr + " = " + c.arg(b), nil
		}
		return col.expr + " <> " + c.arg(b), nil
	case kindTime:
		if cd.Op == store.OpPr {
			return c.d.True, nil
		}
		t, _ := cd.Value.(time.Time)
		return c.timeCond(col.expr, cd.Op, t)
	case kindExact:
		v, _ := cd.Value.(string)
		return c.stringCond(col.expr, cd.Op, v)
	case kindFolded:
		v, _ := cd.Value.(string)
		return c.stringCond(col.expr, cd.Op, strings.ToLower(v))
	case kindEmail:
		v, _ := cd.Value.(string)
		inner, err := c.stringCond("e.value_lc", cd.Op, strings.ToLower(v))
		if err != nil {
			return "", err
		}
		if cd.EmailType != "" {
			inner = "(" + inner + ") AND e.type_lc = " + c.arg(strings.ToLower(cd.EmailType))
		}
		return c.d.Related("u.id", "user_emails e", "e.user_id", inner), nil
	case kindMember:
		v, _ := cd.Value.(string)
		inner, err := c.stringCond("m.user_id", cd.Op, v)
		if err != nil {
			return "", err
		}
		return c.d.Related("g.id", "group_members m", "m.group_id", inner), nil
	}
	return "", fmt.Errorf("field %q has no column", cd.Field)
}

// stringCond compares text expression x with v. co, sw and ew are exact
// substring/prefix/suffix tests counting characters (no LIKE wildcards).
// Ordering comparisons are byte order (PostgreSQL columns use COLLATE "C").
func (c *compiler) stringCond(x string, op store.Op, v string) (string, error) {
	switch op {
	case store.OpPr:
		return x + " <> ''", nil
	case store.OpEq:
		return x + " = " + c.arg(v), nil
	case store.OpNe:
		return x + " <> " + c.arg(v), nil
	case store.OpGt:
		return x + " > " + c.arg(v), nil
	case store.OpGe:
		return x + " >= " + c.arg(v), nil
	case store.OpLt:
		return x + " < " + c.arg(v), nil
	case store.OpLe:
		return x + " <= " + c.arg(v), nil
	case store.OpCo, store.OpSw, store.OpEw:
		if v == "" {
			// Every string contains, starts and ends with the empty string.
			return c.d.True, nil
		}
		arg := func() string { return c.arg(v) }
		switch op {
		case store.OpCo:
			return c.d.Contains(x, arg), nil
		case store.OpSw:
			return c.d.HasPrefix(x, arg), nil
		default:
			return c.d.HasSuffix(x, arg), nil
		}
	}
	return "", fmt.Errorf("operator %q is not defined for strings", op)
}

// timeCond compares a time column with t exactly: stored values are whole
// microseconds, so a t with a sub-microsecond part never equals one and sits
// between two.
func (c *compiler) timeCond(x string, op store.Op, t time.Time) (string, error) {
	us := c.d.Time(time.UnixMicro(t.UnixMicro()).UTC()) // floor to the microsecond
	frac := t.Nanosecond()%1000 != 0
	switch op {
	case store.OpEq:
		if frac {
			return c.d.False, nil
		}
		return x + " = " + c.arg(us), nil
	case store.OpNe:
		if frac {
			return c.d.True, nil
		}
		return x + " <> " + c.arg(us), nil
	case store.OpGt:
		return x + " > " + c.arg(us), nil
	case store.OpGe:
		if frac {
			return x + " > " + c.arg(us), nil
		}
		return x + " >= " + c.arg(us), nil
	case store.OpLt:
		if frac {
			return x + " <= " + c.arg(us), nil
		}
		return x + " < " + c.arg(us), nil
	case store.OpLe:
		return x + " <= " + c.arg(us), nil
	}
	return "", fmt.Errorf("operator %q is not defined for times", op)
}
