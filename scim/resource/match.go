package resource

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// evalRoot evaluates a compiled filter against a document.
func evalRoot(n *node, doc map[string]any) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !evalRoot(k, doc) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if evalRoot(k, doc) {
				return true
			}
		}
		return false
	case kindNot:
		return !evalRoot(n.kids[0], doc)
	case kindCmp:
		return anyRootValue(doc, n.top, n.sub, func(v any) bool { return compare(n, v) })
	case kindValuePath:
		return anyElement(doc, n.top, func(elem map[string]any) bool {
			if !evalElem(n.kids[0], elem) {
				return false
			}
			return !n.hasCmp || compare(n, getFold(elem, n.sub.Name))
		})
	}
	return false
}

// evalElem evaluates the inside of a value filter against one element.
func evalElem(n *node, elem map[string]any) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !evalElem(k, elem) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if evalElem(k, elem) {
				return true
			}
		}
		return false
	case kindNot:
		return !evalElem(n.kids[0], elem)
	case kindCmp:
		return compare(n, getFold(elem, n.attr.Name))
	}
	return false
}

// getFold returns m[key], falling back to a case-insensitive key match.
func getFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// container returns the object holding top: the document itself, or the
// extension object for extension attributes (nil when absent).
func container(doc map[string]any, top *Attribute) map[string]any {
	if !top.extension {
		return doc
	}
	m, _ := getFold(doc, top.SchemaURN).(map[string]any)
	return m
}

// anyRootValue calls fn for each value of top (or of top's sub-attribute sub)
// in doc until fn returns true, and reports whether it did.
func anyRootValue(doc map[string]any, top, sub *Attribute, fn func(any) bool) bool {
	c := container(doc, top)
	if c == nil {
		return false
	}
	v := getFold(c, top.Name)
	if v == nil {
		return false
	}
	visit := func(e any) bool {
		if sub == nil {
			return fn(e)
		}
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		return fn(getFold(m, sub.Name))
	}
	if list, ok := v.([]any); ok && top.MultiValued {
		for _, e := range list {
			if visit(e) {
				return true
			}
		}
		return false
	}
	return visit(v)
}

// anyElement calls fn for each element of top (a single complex value counts
// as one element; simple values are wrapped as {"value": v}) until fn returns
// true.
func anyElement(doc map[string]any, top *Attribute, fn func(map[string]any) bool) bool {
	c := container(doc, top)
	if c == nil {
		return false
	}
	v := getFold(c, top.Name)
	visit := func(e any) bool {
		if top.Type != TypeComplex {
			if e == nil {
				return false
			}
			return fn(map[string]any{"value": e})
		}
		m, ok := e.(map[string]any)
		return ok && fn(m)
	}
	switch v := v.(type) {
	case nil:
		return false
	case []any:
		for _, e := range v {
			if visit(e) {
				return true
			}
		}
		return false
	default:
		return visit(v)
	}
}

// present reports whether v is a non-empty value (RFC 7644 "pr").
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		for _, e := range v {
			if present(e) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range v {
			if present(e) {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// compare applies n's operator to one attribute value.
func compare(n *node, v any) bool {
	if n.op == store.OpPr {
		return present(v)
	}
	switch n.val.kind {
	case valueString:
		s, ok := v.(string)
		if !ok || s == "" {
			return false
		}
		if n.val.impossible {
			// No stored string equals, contains, starts or ends with it
			// (strings.ToLower would turn its invalid bytes into U+FFFD,
			// which a stored string may hold). Ordering compares bytes.
			switch n.op {
			case store.OpEq, store.OpCo, store.OpSw, store.OpEw:
				return false
			case store.OpNe:
				return true
			}
			return compareStrings(n.op, s, n.val.s)
		}
		if n.attr.CaseExact {
			return compareStrings(n.op, s, n.val.s)
		}
		return compareStrings(n.op, strings.ToLower(s), n.val.fold)
	case valueBool:
		b, ok := toBool(v)
		if !ok {
			return false
		}
		switch n.op {
		case store.OpEq:
			return b == n.val.b
		case store.OpNe:
			return b != n.val.b
		}
		return false
	case valueNumber:
		f, ok := toFloat(v)
		if !ok {
			return false
		}
		return compareOrdered(n.op, compareFloat(f, n.val.f))
	case valueTime:
		s, ok := v.(string)
		if !ok {
			return false
		}
		t, ok := parseTime(s)
		if !ok {
			return false
		}
		return compareOrdered(n.op, t.Compare(n.val.t))
	}
	return false
}

// compareStrings applies a string operator (both sides already folded when
// the attribute is case-insensitive). Ordering is by bytes, as the store does.
func compareStrings(op store.Op, s, v string) bool {
	switch op {
	case store.OpEq:
		return s == v
	case store.OpNe:
		return s != v
	case store.OpCo:
		return strings.Contains(s, v)
	case store.OpSw:
		return strings.HasPrefix(s, v)
	case store.OpEw:
		return strings.HasSuffix(s, v)
	case store.OpGt:
		return s > v
	case store.OpGe:
		return s >= v
	case store.OpLt:
		return s < v
	case store.OpLe:
		return s <= v
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareOrdered applies an ordering or equality operator to a comparison
// result c (-1, 0, 1).
func compareOrdered(op store.Op, c int) bool {
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

// toBool reads a boolean document value; "true"/"false" strings (any case)
// are accepted because Entra ID sends them.
func toBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil || (!strings.EqualFold(v, "true") && !strings.EqualFold(v, "false")) {
			return false, false
		}
		return b, true
	}
	return false, false
}

// toFloat reads a numeric document value.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// timeValue converts a compiled time for the store, which keeps microseconds.
func timeValue(t time.Time) (time.Time, bool) {
	u := t.UTC()
	return u, store.Truncate(u).Equal(u)
}
