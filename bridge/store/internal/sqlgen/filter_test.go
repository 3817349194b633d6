package sqlgen

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// testDialect numbers its markers and binds a repeated value once, as
// PostgreSQL does, or with perUse binds it at each use, as SQLite does.
func testDialect(perUse bool) *Dialect {
	fn := func(name string) func(x string, arg func() string) string {
		return func(x string, arg func() string) string {
			if perUse {
				return name + "(" + x + ", " + arg() + ", " + arg() + ")"
			}
			a := arg()
			return name + "(" + x + ", " + a + ", " + a + ")"
		}
	}
	return &Dialect{
		Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
		True:        "T", False: "F",
		Contains: fn("co"), HasPrefix: fn("sw"), HasSuffix: fn("ew"),
		Related: func(outer, table, fk, cond string) string {
			return "rel(" + outer + ", " + table + ", " + fk + ", " + cond + ")"
		},
		Time: func(t time.Time) any { return t.UnixMicro() },
	}
}

func TestCompile(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 6_000_500, time.UTC) // half a microsecond past 6µs
	for _, tc := range []struct {
		name      string
		perUse    bool
		users     bool
		expr      store.Expr
		where     string
		args      []any
		errSubstr string
	}{
		{"nil matches all", false, true, nil, "T", nil, ""},
		{"empty or matches none", false, true, store.Or{}, "F", nil, ""},
		{"folded", false, true, store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "Ab"}, "u.user_name_lc = $1", []any{"ab"}, ""},
		{"reused marker", false, true, store.Cond{Field: store.FieldID, Op: store.OpSw, Value: "x"}, "sw(u.id, $1, $1)", []any{"x"}, ""},
		{"marker per use", true, true, store.Cond{Field: store.FieldID, Op: store.OpSw, Value: "x"}, "sw(u.id, $1, $2)", []any{"x", "x"}, ""},
		{"empty substring", false, true, store.Cond{Field: store.FieldID, Op: store.OpCo, Value: ""}, "T", nil, ""},
		{"email of a type", false, true,
			store.And{store.Cond{Field: store.FieldEmail, Op: store.OpEq, Value: "A@x"}, store.Not{X: store.Cond{Field: store.FieldActive, Op: store.OpEq, Value: true}}},
			"(rel(u.id, user_emails e, e.user_id, e.value_lc = $1)) AND (NOT (u.active = $2))", []any{"a@x", true}, ""},
		{"member", false, false, store.Cond{Field: store.FieldMember, Op: store.OpEq, Value: "U1"},
			"rel(g.id, group_members m, m.group_id, m.user_id = $1)", []any{"U1"}, ""},
		{"time between microseconds", false, true, store.Cond{Field: store.FieldCreated, Op: store.OpGe, Value: at},
			"u.created > $1", []any{at.UnixMicro()}, ""},
		{"time never equal", false, true, store.Cond{Field: store.FieldCreated, Op: store.OpEq, Value: at}, "F", nil, ""},
		{"field of the other resource", false, false, store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "x"}, "", nil, "invalid filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDialect(tc.perUse)
			compile := d.GroupFilter
			if tc.users {
				compile = d.UserFilter
			}
			where, args, err := compile(tc.expr)
			if tc.errSubstr != "" {
				require.ErrorContains(t, err, tc.errSubstr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.where, where)
			require.Equal(t, tc.args, args)
		})
	}
}
