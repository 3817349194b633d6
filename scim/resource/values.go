package resource

import (
	"encoding/json"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Emails extracts a user's emails for the store's index: every element of
// "emails" with a non-empty string "value", with its "type" and "primary"
// ("True"/"False" strings read as booleans). It is the extraction Filter's
// pushdown assumes (see Filter.Exact).
func Emails(doc map[string]any) []store.Email {
	var out []store.Email
	visit := func(e any) {
		m, ok := e.(map[string]any)
		if !ok {
			return
		}
		v, _ := getFold(m, "value").(string)
		if v == "" {
			return
		}
		t, _ := getFold(m, "type").(string)
		p, _ := toBool(getFold(m, "primary"))
		out = append(out, store.Email{Value: v, Type: t, Primary: p})
	}
	switch l := getFold(doc, "emails").(type) {
	case []any:
		for _, e := range l {
			visit(e)
		}
	case map[string]any:
		visit(l)
	}
	return out
}

// Active returns the user's "active" flag and whether the document has one
// ("True"/"False" strings read as booleans).
func Active(doc map[string]any) (active, ok bool) {
	return toBool(getFold(doc, "active"))
}

// String returns the top-level string attribute name (case-insensitive key),
// or "" when it is absent or not a string. Use it for userName, externalId and
// displayName.
func String(doc map[string]any, name string) string {
	s, _ := getFold(doc, name).(string)
	return s
}

// MemberIDs returns the "value" of each element of a group's "members", in
// order and without duplicates (values are ids, compared case-exactly).
func MemberIDs(doc map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	visit := func(e any) {
		m, ok := e.(map[string]any)
		if !ok {
			return
		}
		v, _ := getFold(m, "value").(string)
		if v == "" || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, v)
	}
	switch l := getFold(doc, "members").(type) {
	case []any:
		for _, e := range l {
			visit(e)
		}
	case map[string]any:
		visit(l)
	}
	return out
}

// Writable returns a copy of doc restricted to what a client may store: it
// drops id, meta, schemas, password (writeOnly; never stored), readOnly
// attributes and sub-attributes (groups, manager.displayName, the sync
// extension), and empty values (null, "", empty arrays and objects, which
// elimity passes on for "roles": [] and the like), including extension
// objects left empty. Keys of unknown attributes are kept unless empty. Use it
// on POST and PUT bodies (RFC 7644 §3.5.1: readOnly values in a PUT are
// ignored).
func (s *Schema) Writable(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if e := s.extension(k); e != nil {
			obj, ok := v.(map[string]any)
			if !ok || e.readOnly {
				continue
			}
			ext := map[string]any{}
			for k2, v2 := range obj {
				a := e.byName[strings.ToLower(k2)]
				if a != nil && (a.ReadOnly() || a.Mutability == MutabilityWriteOnly) {
					continue
				}
				if w := writableValue(a, v2); w != nil {
					ext[k2] = w
				}
			}
			if len(ext) > 0 {
				out[e.urn] = ext
			}
			continue
		}
		a := s.byName[strings.ToLower(k)]
		if a != nil {
			switch {
			case a.Name == "id", a.Name == "meta", a.Name == "schemas":
				continue
			case a.ReadOnly(), a.Mutability == MutabilityWriteOnly:
				continue
			}
		}
		if w := writableValue(a, v); w != nil {
			out[k] = w
		}
	}
	return out
}

// writableValue copies v without readOnly sub-attributes (when a is a known
// complex attribute) and without empty values; it returns nil when nothing is
// left.
func writableValue(a *Attribute, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		return x
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if w := writableValue(a, e); w != nil {
				out = append(out, w)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if a != nil && a.Type == TypeComplex {
				if sub := a.Sub(k); sub != nil && sub.ReadOnly() {
					continue
				}
			}
			if w := writableValue(nil, e); w != nil {
				out[k] = w
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	default:
		return v
	}
}

// deepCopy copies maps and slices recursively; other values are immutable.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

// jsonEqual reports whether a and b have the same JSON meaning (numbers
// compare by value whatever their Go type; a nil map equals an empty one).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return b == nil && len(x) == 0
		}
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		if m, ok := b.(map[string]any); ok {
			return len(m) == 0
		}
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case json.Number:
		if y, ok := b.(json.Number); ok && x == y {
			return true
		}
	}
	fa, oka := toFloat(a)
	fb, okb := toFloat(b)
	return oka && okb && fa == fb
}
