package sqlite

import (
	"fmt"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// colKind says how a filterable field is stored and compared.
type colKind int

const (
	kindExact  colKind = iota // case-exact text column
	kindFolded                // lower-cased text column; values are lower-cased too
	kindBool                  // INTEGER 0/1
	kindTime                  // INTEGER microseconds
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

const (
	sqlTrue  = "1"
	sqlFalse = "0"
)

// compiler turns a store.Expr into a WHERE clause with "?" placeholders. Values
// only ever travel as bind arguments, in the order their placeholders appear.
type compiler struct {
	column func(store.Field) (column, bool)
	args   []any
}

// compileUserFilter returns the WHERE clause (alias u) and its arguments.
func compileUserFilter(e store.Expr) (string, []any, error) {
	if err := store.Validate(e, store.UserFields); err != nil {
		return "", nil, fmt.Errorf("invalid filter: %w", err)
	}
	c := &compiler{column: userColumn}
	where, err := c.expr(e)
	return where, c.args, err
}

// compileGroupFilter returns the WHERE clause (alias g) and its arguments.
func compileGroupFilter(e store.Expr) (string, []any, error) {
	if err := store.Validate(e, store.GroupFields); err != nil {
		return "", nil, fmt.Errorf("invalid filter: %w", err)
	}
	c := &compiler{column: groupColumn}
	where, err := c.expr(e)
	return where, c.args, err
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) expr(e store.Expr) (string, error) {
	switch e := e.(type) {
	case nil:
		return sqlTrue, nil
	case store.And:
		return c.list(e, " AND ", sqlTrue)
	case store.Or:
		return c.list(e, " OR ", sqlFalse)
	case store.Not:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		// Every compiled condition is NOT NULL (columns are NOT NULL, EXISTS-style
		// subqueries are true or false), so NOT is plain negation.
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
			return sqlTrue, nil
		}
		b, _ := cd.Value.(bool)
		if cd.Op == store.OpEq {
			return col.expr + " = " + c.arg(b), nil
		}
		return col.expr + " <> " + c.arg(b), nil
	case kindTime:
		if cd.Op == store.OpPr {
			return sqlTrue, nil
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
		// IN (subquery) rather than a correlated EXISTS: SQLite then drives the
		// lookup from the user_emails index instead of testing every user.
		v, _ := cd.Value.(string)
		inner, err := c.stringCond("e.value_lc", cd.Op, strings.ToLower(v))
		if err != nil {
			return "", err
		}
		if cd.EmailType != "" {
			inner = "(" + inner + ") AND e.type_lc = " + c.arg(strings.ToLower(cd.EmailType))
		}
		return "u.id IN (SELECT e.user_id FROM user_emails e WHERE " + inner + ")", nil
	case kindMember:
		v, _ := cd.Value.(string)
		inner, err := c.stringCond("m.user_id", cd.Op, v)
		if err != nil {
			return "", err
		}
		return "g.id IN (SELECT m.group_id FROM group_members m WHERE " + inner + ")", nil
	}
	return "", fmt.Errorf("field %q has no column", cd.Field)
}

// stringCond compares text expression x with v. co, sw and ew are exact
// substring/prefix/suffix tests counting characters (no LIKE wildcards).
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
			return sqlTrue, nil
		}
		switch op {
		case store.OpCo:
			return "instr(" + x + ", " + c.arg(v) + ") > 0", nil
		case store.OpSw:
			a := c.arg(v)
			return "substr(" + x + ", 1, length(" + a + ")) = " + c.arg(v), nil
		default:
			a := c.arg(v)
			return "substr(" + x + ", -length(" + a + ")) = " + c.arg(v), nil
		}
	}
	return "", fmt.Errorf("operator %q is not defined for strings", op)
}

// timeCond compares a microsecond column with t exactly: stored values are whole
// microseconds, so a t with a sub-microsecond part never equals one and sits
// between two.
func (c *compiler) timeCond(x string, op store.Op, t time.Time) (string, error) {
	us := t.UnixMicro() // floor
	frac := t.Nanosecond()%1000 != 0
	switch op {
	case store.OpEq:
		if frac {
			return sqlFalse, nil
		}
		return x + " = " + c.arg(us), nil
	case store.OpNe:
		if frac {
			return sqlTrue, nil
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
