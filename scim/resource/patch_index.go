package resource

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// elemIndex finds the elements of a multi-valued attribute that an added
// value denotes (sameElement), without comparing with every element: elements
// are bucketed by a key that equal elements share, and only the candidates of
// a bucket are compared. It indexes one list (identified by its length and
// backing array) and is kept up to date by addElements.
type elemIndex struct {
	n     int
	first *any
	// maps holds the indices of complex elements by elementKey; simple holds
	// the indices of other elements by canonical JSON.
	maps, simple map[string][]int
}

// valueKey returns the key under which sameElement (and, with withType
// false, sameValue) compares an element that has a non-empty string
// "value": the value (lower-cased unless caseExact) and, for attributes other
// than members, the lower-cased type. ok is false when the element has no
// such value (it is then compared as a whole, by canonical JSON).
func valueKey(a *Attribute, m map[string]any, withType bool) (string, bool) {
	vs := a.valueSub()
	if vs == nil {
		return "", false
	}
	v, _ := getFold(m, vs.Name).(string)
	if v == "" {
		return "", false
	}
	if !vs.CaseExact {
		v = strings.ToLower(v)
	}
	if !withType || a.Name == "members" {
		return "v" + v, true
	}
	t, _ := getFold(m, "type").(string)
	return "v" + strconv.Itoa(len(v)) + ":" + v + strings.ToLower(t), true
}

// elementKey is the bucket of a complex element for sameElement.
func elementKey(a *Attribute, m map[string]any) string {
	if k, ok := valueKey(a, m, true); ok {
		return k
	}
	return "j" + canonical(m)
}

// canonical renders v so that values jsonEqual considers equal render alike
// (map keys sorted, numbers by value, a nil map like an empty one). Different
// values may share a rendering only for types JSON does not have; callers
// confirm candidates with the real comparison.
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("{}")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, x[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			writeCanonical(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case string:
		b.WriteString(strconv.Quote(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	default:
		if f, ok := toFloat(x); ok {
			b.WriteString("n" + strconv.FormatFloat(f, 'g', -1, 64))
			return
		}
		fmt.Fprintf(b, "?%T", x)
	}
}

// indexFor returns the element index of list for a, reusing the cached one
// while it still describes list.
func (st *patchState) indexFor(a *Attribute, list []any) *elemIndex {
	if ix := st.index[a]; ix != nil && ix.n == len(list) && (len(list) == 0 || ix.first == &list[0]) {
		return ix
	}
	ix := &elemIndex{maps: map[string][]int{}, simple: map[string][]int{}}
	for i, e := range list {
		ix.add(a, e, i)
	}
	ix.track(list)
	st.index[a] = ix
	return ix
}

func (ix *elemIndex) add(a *Attribute, e any, i int) {
	if m, ok := e.(map[string]any); ok {
		k := elementKey(a, m)
		ix.maps[k] = append(ix.maps[k], i)
		return
	}
	k := canonical(e)
	ix.simple[k] = append(ix.simple[k], i)
}

// track records the list the index now describes.
func (ix *elemIndex) track(list []any) {
	ix.n = len(list)
	ix.first = nil
	if len(list) > 0 {
		ix.first = &list[0]
	}
}

// removalSet finds the elements a remove with a value list names (sameValue
// for complex items, jsonEqual otherwise) without comparing every element
// with every item.
type removalSet struct {
	top   *Attribute
	items []any
	keys  map[string][]int
}

func newRemovalSet(top *Attribute, items []any) *removalSet {
	rs := &removalSet{top: top, items: items, keys: map[string][]int{}}
	for i, it := range items {
		k := "j" + canonical(it)
		if m, ok := it.(map[string]any); ok {
			if vk, ok := valueKey(top, m, false); ok {
				k = vk
			}
		}
		rs.keys[k] = append(rs.keys[k], i)
	}
	return rs
}

// names reports whether element e is one of the items.
func (rs *removalSet) names(e any) bool {
	em, isMap := e.(map[string]any)
	check := func(k string) bool {
		for _, i := range rs.keys[k] {
			it := rs.items[i]
			if im, ok := it.(map[string]any); ok && isMap {
				if sameValue(rs.top, em, im) {
					return true
				}
			} else if jsonEqual(e, it) {
				return true
			}
		}
		return false
	}
	if isMap {
		if vk, ok := valueKey(rs.top, em, false); ok && check(vk) {
			return true
		}
	}
	return check("j" + canonical(e))
}
