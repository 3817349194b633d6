package resource

import (
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// pushdown translates a compiled filter into the store.Expr a backend can
// evaluate, and reports whether that expression is exactly the filter.
//
// Soundness: the result never excludes a document the filter accepts.
//   - and: the pushable operands (dropping the others only widens the result);
//   - or: all operands or nothing;
//   - not: only an exact operand (negating a wider set would narrow it).
//
// A comparison with an impossible string (NUL or invalid UTF-8, see
// value.impossible) is never sent to the store: eq, co, sw and ew match
// nothing (an empty store.Or), ne matches every resource that has the
// attribute (pr), and an ordering is left to Match.
//
// Exactness of a single comparison relies on the store agreeing with Match:
// case folding by strings.ToLower, "any value" semantics for emails and
// members (ne included), and "" standing for an absent externalId or user
// displayName. A comparison that "" would satisfy (displayName ne "x",
// externalId le "m", externalId eq "") is therefore pushed but not exact:
// Match treats an absent attribute as matching nothing.
func pushdown(n *node) (store.Expr, bool) {
	switch n.kind {
	case kindAnd:
		var parts store.And
		exact := true
		for _, k := range n.kids {
			e, ex := pushdown(k)
			if e == nil {
				exact = false
				continue
			}
			exact = exact && ex
			parts = append(parts, e)
		}
		switch len(parts) {
		case 0:
			return nil, false
		case 1:
			return parts[0], exact
		}
		return parts, exact
	case kindOr:
		parts := make(store.Or, 0, len(n.kids))
		exact := true
		for _, k := range n.kids {
			e, ex := pushdown(k)
			if e == nil {
				return nil, false
			}
			exact = exact && ex
			parts = append(parts, e)
		}
		return parts, exact
	case kindNot:
		e, ex := pushdown(n.kids[0])
		if e == nil || !ex {
			return nil, false
		}
		return store.Not{X: e}, true
	case kindCmp:
		return pushCmp(n)
	case kindValuePath:
		return pushValuePath(n)
	}
	return nil, false
}

// condValue converts a compiled comparison value for a store.Cond on field.
func condValue(op store.Op, v value) (any, bool) {
	if op == store.OpPr {
		return nil, true
	}
	switch v.kind {
	case valueString:
		if v.impossible {
			return nil, false
		}
		return v.s, true
	case valueBool:
		return v.b, true
	case valueTime:
		return timeValue(v.t)
	}
	return nil, false
}

func pushCmp(n *node) (store.Expr, bool) {
	if n.top == nil || n.whole || n.attr.field == "" || !pushableOp(n.attr.field, n.op) {
		return nil, false
	}
	if n.op != store.OpPr && n.val.kind == valueString && n.val.impossible {
		switch n.op {
		case store.OpEq, store.OpCo, store.OpSw, store.OpEw:
			return store.Or{}, true
		case store.OpNe:
			return store.Cond{Field: n.attr.field, Op: store.OpPr}, true
		}
		return nil, false
	}
	val, ok := condValue(n.op, n.val)
	if !ok {
		return nil, false
	}
	exact := true
	if n.attr.absentable && n.op != store.OpPr {
		// The store holds "" for an absent value; Match never matches one.
		exact = !compareStrings(n.op, "", foldFor(n))
	}
	return store.Cond{Field: n.attr.field, Op: n.op, Value: val}, exact
}

// pushableOp reports whether op may be pushed for field. expr.go defines ne
// on a multi-valued field as "some value differs" only for emails; members
// ne is left to Match rather than risk a store reading it as "not a member".
func pushableOp(f store.Field, op store.Op) bool {
	return f != store.FieldMember || op != store.OpNe
}

// foldFor returns the comparison operand of n as compareStrings expects it.
func foldFor(n *node) string {
	if n.attr.CaseExact {
		return n.val.s
	}
	return n.val.fold
}

// pushValuePath pushes emails[...] and members[...] filters. The element
// filter is read as a conjunction of terms: comparisons of "value" become
// Conds, one `type eq "x"` (emails only) becomes Cond.EmailType, anything else
// is dropped (widening the result, so not exact). An "or" of element filters
// is pushed branch by branch.
func pushValuePath(n *node) (store.Expr, bool) {
	vs := n.top.valueSub()
	if vs == nil || vs.field == "" {
		return nil, false
	}
	inner := n.kids[0]
	if inner.kind == kindOr && !n.hasCmp {
		parts := make(store.Or, 0, len(inner.kids))
		exact := true
		for _, k := range inner.kids {
			e, ex := pushValuePath(&node{kind: kindValuePath, top: n.top, kids: []*node{k}})
			if e == nil {
				return nil, false
			}
			exact = exact && ex
			parts = append(parts, e)
		}
		return parts, exact
	}
	terms := []*node{inner}
	if inner.kind == kindAnd {
		terms = inner.kids
	}
	if n.hasCmp {
		terms = append(terms[:len(terms):len(terms)], &node{kind: kindCmp, attr: n.sub, op: n.op, val: n.val})
	}
	for _, t := range terms {
		// The terms are a conjunction: one that no element can satisfy
		// makes the whole value path match nothing.
		if t.kind == kindCmp && t.val.kind == valueString && t.val.impossible &&
			(t.op == store.OpEq || t.op == store.OpCo || t.op == store.OpSw || t.op == store.OpEw) {
			return store.Or{}, true
		}
	}
	var values, types []*node
	others := 0
	for _, t := range terms {
		switch {
		case t.kind == kindCmp && t.attr == vs:
			values = append(values, t)
		case t.kind == kindCmp && vs.field == store.FieldEmail && t.attr.Name == "type" &&
			t.op == store.OpEq && t.val.kind == valueString && t.val.s != "":
			types = append(types, t)
		default:
			others++
		}
	}
	emailType := ""
	if len(types) > 0 {
		emailType = types[0].val.s
	}
	var parts store.And
	for _, t := range values {
		val, ok := condValue(t.op, t.val)
		if !ok || !pushableOp(vs.field, t.op) {
			continue
		}
		parts = append(parts, store.Cond{Field: vs.field, Op: t.op, Value: val, EmailType: emailType})
	}
	exact := len(values) == 1 && len(parts) == 1 && others == 0 && len(types) <= 1
	switch len(parts) {
	case 0:
		return nil, false
	case 1:
		return parts[0], exact
	}
	return parts, false
}
