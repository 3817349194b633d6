package resource

import (
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// refEval is a reference evaluator of a store.Expr, written from the contract
// in bridge/store/expr.go: it reads the fields a store record would hold for
// the document (absent strings as "", emails via Emails, members via
// MemberIDs, meta times truncated to microseconds) and applies Cond as
// documented. Tests use it to check that Filter.Pushdown is sound (and exact
// when Filter.Exact says so).
func refEval(e store.Expr, s *Schema, doc map[string]any) bool {
	switch e := e.(type) {
	case nil:
		return true
	case store.And:
		for _, x := range e {
			if !refEval(x, s, doc) {
				return false
			}
		}
		return true
	case store.Or:
		for _, x := range e {
			if refEval(x, s, doc) {
				return true
			}
		}
		return false
	case store.Not:
		return !refEval(e.X, s, doc)
	case store.Cond:
		return refCond(e, s, doc)
	}
	panic("unknown store.Expr")
}

func refCond(c store.Cond, s *Schema, doc map[string]any) bool {
	switch c.Field {
	case store.FieldID, store.FieldExternalID, store.FieldUserName, store.FieldDisplayName:
		v := String(doc, string(c.Field))
		if c.Op == store.OpPr {
			return v != ""
		}
		ci := c.Field == store.FieldUserName || c.Field == store.FieldDisplayName
		return refString(c.Op, v, c.Value.(string), ci)
	case store.FieldActive:
		b, _ := Active(doc)
		switch c.Op {
		case store.OpPr:
			return true
		case store.OpEq:
			return b == c.Value.(bool)
		case store.OpNe:
			return b != c.Value.(bool)
		}
		return false
	case store.FieldEmail:
		for _, e := range Emails(doc) {
			if c.EmailType != "" && !strings.EqualFold(e.Type, c.EmailType) {
				continue
			}
			if c.Op == store.OpPr || refString(c.Op, e.Value, c.Value.(string), true) {
				return true
			}
		}
		return false
	case store.FieldMember:
		for _, m := range MemberIDs(doc) {
			if c.Op == store.OpPr || refString(c.Op, m, c.Value.(string), false) {
				return true
			}
		}
		return false
	case store.FieldCreated, store.FieldModified:
		meta, _ := doc["meta"].(map[string]any)
		key := "created"
		if c.Field == store.FieldModified {
			key = "lastModified"
		}
		str, _ := meta[key].(string)
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			// A store record always has both times; documents in tests do too.
			panic("sample document without a valid meta." + key)
		}
		if c.Op == store.OpPr {
			return true
		}
		return refOrder(c.Op, store.Truncate(t).Compare(c.Value.(time.Time)))
	}
	panic("unknown field " + string(c.Field))
}

func refString(op store.Op, field, value string, ci bool) bool {
	if ci {
		field, value = strings.ToLower(field), strings.ToLower(value)
	}
	switch op {
	case store.OpEq:
		return field == value
	case store.OpNe:
		return field != value
	case store.OpCo:
		return strings.Contains(field, value)
	case store.OpSw:
		return strings.HasPrefix(field, value)
	case store.OpEw:
		return strings.HasSuffix(field, value)
	}
	return refOrder(op, strings.Compare(field, value))
}

func refOrder(op store.Op, c int) bool {
	switch op {
	case store.OpEq:
		return c == 0
	case store.OpNe:
		return c != 0
	case store.OpGt:
		return c > 0
	case store.OpGe:
		return c >= 0
	case store.OpLt:
		return c < 0
	case store.OpLe:
		return c <= 0
	}
	return false
}
