package resource

import (
	"fmt"
	"slices"
	"strings"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func (s *Schema) setSimple(doc map[string]any, a *Attribute, val any, st *patchState) error {
	v, err := coerceSimple(a, val)
	if err != nil {
		return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
	}
	if v == nil {
		if a.Required {
			return st.fail(scimerrors.ScimTypeInvalidValue, "required attribute %s cannot be cleared", quoteName(a.Name))
		}
		removeTop(doc, a)
		return nil
	}
	setKey(holder(doc, a, true), a.Name, v)
	return nil
}

// cleanComplex converts a complex value to canonical sub-attribute names,
// checking their types and dropping unknown and readOnly sub-attributes.
// Sub-attributes given as "" or null map to nil (meaning "clear").
func cleanComplex(a *Attribute, m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		sub := a.Sub(k)
		if sub == nil || sub.ReadOnly() {
			continue
		}
		cv, err := coerceSimple(sub, v)
		if err != nil {
			return nil, err
		}
		out[sub.Name] = cv
	}
	return out, nil
}

// withoutEmpty returns m without nil values.
func withoutEmpty(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// mergeInto applies the sub-attributes of clean (nil clears) to elem.
func mergeInto(elem, clean map[string]any) {
	for k, v := range clean {
		if v == nil {
			deleteKey(elem, k)
		} else {
			setKey(elem, k, v)
		}
	}
}

func (s *Schema) setComplex(doc map[string]any, a *Attribute, val any, st *patchState) error {
	if isEmpty(val) {
		removeTop(doc, a)
		return nil
	}
	m, ok := val.(map[string]any)
	if !ok {
		return st.fail(scimerrors.ScimTypeInvalidValue, "expected an object for %s", quoteName(a.Name))
	}
	clean, err := cleanComplex(a, m)
	if err != nil {
		return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
	}
	if vs := a.valueSub(); vs != nil {
		// A reference (manager) is replaced whole; without a value it is cleared.
		nv := withoutEmpty(clean)
		if !present(nv[vs.Name]) {
			removeTop(doc, a)
			return nil
		}
		setKey(holder(doc, a, true), a.Name, nv)
		return nil
	}
	h := holder(doc, a, true)
	cur := map[string]any{}
	if _, v, ok := findKey(h, a.Name); ok {
		if old, ok := v.(map[string]any); ok {
			cur = old
		}
	}
	mergeInto(cur, clean)
	if len(cur) == 0 {
		removeTop(doc, a)
		return nil
	}
	setKey(h, a.Name, cur)
	return nil
}

func (s *Schema) setSub(doc map[string]any, t *patchTarget, val any, st *patchState) error {
	v, err := coerceSimple(t.sub, val)
	if err != nil {
		return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
	}
	top := t.top
	if !top.MultiValued {
		h := holder(doc, top, v != nil)
		if h == nil {
			return nil
		}
		cur := map[string]any{}
		if _, old, ok := findKey(h, top.Name); ok {
			if m, ok := old.(map[string]any); ok {
				cur = m
			}
		}
		mergeInto(cur, map[string]any{t.sub.Name: v})
		if len(cur) == 0 || (v == nil && t.sub == top.valueSub()) {
			removeTop(doc, top)
			return nil
		}
		setKey(h, top.Name, cur)
		return nil
	}
	list := elements(doc, top)
	if len(list) == 0 {
		if v == nil {
			return nil
		}
		list = []any{map[string]any{}}
	}
	keep := -1
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			mergeInto(m, map[string]any{t.sub.Name: v})
			if keep < 0 && t.sub.Name == "primary" && v == true {
				keep = i
			}
		}
	}
	enforcePrimary(list, keep)
	storeElements(doc, top, list)
	return nil
}

// sameElement reports whether two elements of a multi-valued complex
// attribute denote the same value: equal "value" (per its caseExact) and, for
// attributes other than members, equal "type"; without "value", equal JSON.
func sameElement(a *Attribute, x, y map[string]any) bool {
	vs := a.valueSub()
	if vs == nil {
		return jsonEqual(x, y)
	}
	xv, _ := getFold(x, vs.Name).(string)
	yv, _ := getFold(y, vs.Name).(string)
	if xv == "" || yv == "" {
		return jsonEqual(x, y)
	}
	if vs.CaseExact {
		if xv != yv {
			return false
		}
	} else if !strings.EqualFold(xv, yv) {
		return false
	}
	if a.Name == "members" {
		return true
	}
	xt, _ := getFold(x, "type").(string)
	yt, _ := getFold(y, "type").(string)
	// strings.ToLower, as elementKey buckets by it.
	return strings.EqualFold(xt, yt)
}

// enforcePrimary clears primary on every element but keep (RFC 7643 §2.4:
// primary true appears at most once). keep < 0 leaves the list alone.
func enforcePrimary(list []any, keep int) {
	if keep < 0 {
		return
	}
	for i, e := range list {
		if i == keep {
			continue
		}
		if m, ok := e.(map[string]any); ok {
			if k, v, found := findKey(m, "primary"); found && v == true {
				m[k] = false
			}
		}
	}
}

func isPrimary(m map[string]any) bool {
	_, v, _ := findKey(m, "primary")
	return v == true
}

// cleanElements converts the values of an add/replace of a whole multi-valued
// attribute, dropping empty ones.
func cleanElements(a *Attribute, val any) ([]any, error) {
	var items []any
	switch v := val.(type) {
	case nil:
	case []any:
		items = v
	default:
		items = []any{v}
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if a.Type != TypeComplex {
			cv, err := coerceSimple(a, it)
			if err != nil {
				return nil, err
			}
			if cv != nil {
				out = append(out, cv)
			}
			continue
		}
		m, ok := it.(map[string]any)
		if !ok {
			if isEmpty(it) {
				continue
			}
			return nil, fmt.Errorf("expected objects as values of %s", quoteName(a.Name))
		}
		clean, err := cleanComplex(a, m)
		if err != nil {
			return nil, err
		}
		clean = withoutEmpty(clean)
		if len(clean) > 0 {
			out = append(out, clean)
		}
	}
	return out, nil
}

// addElements appends items to list, merging each into the first element it
// denotes the same value as (found through ix, which describes list and is
// kept up to date; merging never changes an element's key). It returns the
// list and the index of the last element an item with primary true landed in
// (-1 if none).
func addElements(a *Attribute, ix *elemIndex, list, items []any) ([]any, int) {
	primary := -1
	for _, it := range items {
		idx := -1
		if m, ok := it.(map[string]any); ok {
			k := elementKey(a, m)
			for _, i := range ix.maps[k] {
				if em, ok := list[i].(map[string]any); ok && sameElement(a, em, m) {
					mergeInto(em, m)
					idx = i
					break
				}
			}
			if idx < 0 {
				list = append(list, m)
				idx = len(list) - 1
				ix.maps[k] = append(ix.maps[k], idx)
			}
			if isPrimary(m) {
				primary = idx
			}
			continue
		}
		k := canonical(it)
		if !slices.ContainsFunc(ix.simple[k], func(i int) bool { return jsonEqual(list[i], it) }) {
			list = append(list, it)
			ix.simple[k] = append(ix.simple[k], len(list)-1)
		}
	}
	ix.track(list)
	return list, primary
}

// limited reports whether a's values count against bridge.MaxValues (every
// multi-valued attribute but a group's members, whose number is not limited).
func limited(a *Attribute) bool {
	return !(a.Name == "members" && a.SchemaURN == GroupURN)
}

func (s *Schema) setMulti(doc map[string]any, kind string, a *Attribute, val any, st *patchState) error {
	items, err := cleanElements(a, val)
	if err != nil {
		return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
	}
	var list []any
	if kind == opAdd {
		list = elements(doc, a)
	}
	list, primary := addElements(a, st.indexFor(a, list), list, items)
	if limited(a) && len(list) > bridge.MaxValues {
		return st.fail(scimerrors.ScimTypeInvalidValue, "%s would have more than %d values", quoteName(a.Name), bridge.MaxValues)
	}
	if primary >= 0 {
		// enforcePrimary may change elements the index keys by their JSON.
		delete(st.index, a)
	}
	enforcePrimary(list, primary)
	storeElements(doc, a, list)
	return nil
}

func (s *Schema) remove(doc map[string]any, t *patchTarget, val any, st *patchState) error {
	top := t.top
	if t.sub != nil {
		if !top.MultiValued {
			return s.setSub(doc, t, nil, st)
		}
		list := elements(doc, top)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				deleteKey(m, t.sub.Name)
			}
		}
		storeElements(doc, top, list)
		return nil
	}
	if top.MultiValued && val != nil {
		// Entra ID: remove only the listed values.
		items, err := cleanElements(top, val)
		if err != nil {
			return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
		}
		list := elements(doc, top)
		named := newRemovalSet(top, items)
		kept := list[:0:0]
		for _, e := range list {
			if named.names(e) {
				continue
			}
			kept = append(kept, e)
		}
		storeElements(doc, top, kept)
		return nil
	}
	if top.Required {
		return st.fail(scimerrors.ScimTypeInvalidValue, "required attribute %s cannot be removed", quoteName(top.Name))
	}
	removeTop(doc, top)
	return nil
}

// sameValue reports whether element e is the one item names for removal: by
// "value" when the item has one, else by equal JSON.
func sameValue(a *Attribute, e, item map[string]any) bool {
	vs := a.valueSub()
	if vs == nil {
		return jsonEqual(e, item)
	}
	iv, _ := getFold(item, vs.Name).(string)
	if iv == "" {
		return jsonEqual(e, item)
	}
	ev, _ := getFold(e, vs.Name).(string)
	if vs.CaseExact {
		return ev == iv
	}
	return strings.EqualFold(ev, iv)
}

func (s *Schema) applyFiltered(doc map[string]any, kind string, t *patchTarget, val any, st *patchState) error {
	top := t.top
	list := elements(doc, top)
	var matches []int
	matched := make([]bool, len(list))
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && evalElem(t.filter, m) {
			matches = append(matches, i)
			matched[i] = true
		}
	}
	if kind == opRemove {
		if len(matches) == 0 {
			return nil
		}
		if t.filterSub == nil {
			kept := list[:0:0]
			for i, e := range list {
				if !matched[i] {
					kept = append(kept, e)
				}
			}
			s.storeFiltered(doc, top, kept)
			return nil
		}
		for _, i := range matches {
			deleteKey(list[i].(map[string]any), t.filterSub.Name)
		}
		s.storeFiltered(doc, top, list)
		return nil
	}
	var clean map[string]any
	if t.filterSub != nil {
		v, err := coerceSimple(t.filterSub, val)
		if err != nil {
			return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
		}
		clean = map[string]any{t.filterSub.Name: v}
	} else {
		m, ok := val.(map[string]any)
		if !ok {
			return st.fail(scimerrors.ScimTypeInvalidValue, "expected an object for the elements of %s", quoteName(top.Name))
		}
		var err error
		if clean, err = cleanComplex(top, m); err != nil {
			return st.fail(scimerrors.ScimTypeInvalidValue, "%s", err.Error())
		}
	}
	created := false
	if len(matches) == 0 {
		if len(withoutEmpty(clean)) == 0 {
			return nil
		}
		seed, ok := seedFromFilter(t.filter)
		if !ok {
			return st.fail(scimerrors.ScimTypeNoTarget, "no element of %s matches the filter, and the filter does not describe one to create", quoteName(top.Name))
		}
		list = append(list, seed)
		matches = []int{len(list) - 1}
		created = true
	}
	primary := -1
	for _, i := range matches {
		mergeInto(list[i].(map[string]any), clean)
		if clean["primary"] == true {
			primary = i
		}
	}
	if primary < 0 && created && isPrimary(list[matches[0]].(map[string]any)) {
		// The filter that created the element (primary eq true) made it primary.
		primary = matches[0]
	}
	enforcePrimary(list, primary)
	s.storeFiltered(doc, top, list)
	return nil
}

// storeFiltered writes back elements changed through a value filter; a
// single-valued complex attribute keeps its single form.
func (s *Schema) storeFiltered(doc map[string]any, top *Attribute, list []any) {
	if !top.MultiValued {
		if len(list) == 0 {
			removeTop(doc, top)
			return
		}
		setKey(holder(doc, top, true), top.Name, list[0])
		return
	}
	storeElements(doc, top, list)
}

// seedFromFilter builds the element a filter of eq comparisons (joined by
// and) describes: type eq "work" gives {"type": "work"}.
func seedFromFilter(n *node) (map[string]any, bool) {
	switch n.kind {
	case kindCmp:
		if n.op != store.OpEq {
			return nil, false
		}
		var v any
		switch n.val.kind {
		case valueString:
			if n.val.s == "" {
				return nil, false
			}
			v = n.val.s
		case valueBool:
			v = n.val.b
		case valueNumber:
			v = n.val.f
		case valueTime:
			v = n.val.t.UTC().Format(time.RFC3339Nano)
		}
		return map[string]any{n.attr.Name: v}, true
	case kindAnd:
		out := map[string]any{}
		for _, k := range n.kids {
			m, ok := seedFromFilter(k)
			if !ok {
				return nil, false
			}
			for key, v := range m {
				if old, dup := out[key]; dup && !jsonEqual(old, v) {
					return nil, false
				}
				out[key] = v
			}
		}
		return out, true
	}
	return nil, false
}
