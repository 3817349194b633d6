package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	filter "github.com/scim2/filter-parser/v2"
)

const (
	opAdd     = "add"
	opReplace = "replace"
	opRemove  = "remove"
)

// ApplyPatch applies PATCH operations (RFC 7644 §3.5.2), as elimity's server
// hands them to a ResourceHandler, to a copy of doc. It returns the new
// document, whether it differs from doc, or a *errors.ScimError (invalidPath,
// noTarget, invalidValue or mutability); doc is never modified.
//
// Beyond the RFC it implements what Okta and Entra ID rely on:
//   - op names in any case; path-less add/replace whose value object has plain,
//     dotted ("name.givenName"), URN-qualified ("urn:…:User:employeeNumber")
//     or filtered keys, or a nested extension object;
//   - add on a single-valued attribute replaces it; add to a multi-valued
//     attribute appends, merging into an element with the same value (and
//     type), so members are de-duplicated by value;
//   - a filtered path (emails[type eq "work"].value) that matches no element
//     creates one from the filter's eq comparisons ({"type":"work","value":…}),
//     so several sub-attribute adds with one filter build one element;
//   - setting primary true on one element clears it on the others;
//   - "" or null for a single-valued attribute or sub-attribute clears it (a
//     reference such as manager is cleared when its value is);
//   - remove of a multi-valued attribute with a value array removes only the
//     listed elements (Entra's member removal); without a value it clears;
//     remove matching nothing succeeds without change (idempotent retries);
//   - readOnly attributes (id, meta, schemas, groups, the sync extension,
//     manager.displayName) named by a path give 400 mutability, but are
//     ignored inside a path-less value object; password is accepted and
//     discarded everywhere.
//
// Single-valued complex attributes are merged sub-attribute by sub-attribute
// (RFC 7644 §3.5.2.3), except references with a "value" sub-attribute
// (manager), which are replaced whole. A filtered path without a trailing
// sub-attribute merges the value into each matching element. A path that is
// an extension's URN addresses that extension's attributes as one complex
// value: add and replace merge the object given, remove clears them all.
//
// Work is linear in the size of doc and ops (values added to a multi-valued
// attribute are matched through an index, not by comparing with every
// element), and no multi-valued attribute other than a group's members may
// grow beyond bridge.MaxValues values (400 invalidValue).
func (s *Schema) ApplyPatch(doc map[string]any, ops []scim.PatchOperation) (map[string]any, bool, error) {
	return s.ApplyPatchContext(context.Background(), doc, ops)
}

// ApplyPatchContext is ApplyPatch that stops between operations when ctx
// ends (the client went away), returning ctx's error.
func (s *Schema) ApplyPatchContext(ctx context.Context, doc map[string]any, ops []scim.PatchOperation) (map[string]any, bool, error) {
	out := deepCopyMap(doc)
	st := &patchState{touched: map[*Attribute]bool{}, index: map[*Attribute]*elemIndex{}}
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("apply patch: %w", err)
		}
		st.op = i
		if err := s.applyOp(out, op, st); err != nil {
			return nil, false, err
		}
	}
	s.finish(out, st)
	return out, !jsonEqual(doc, out), nil
}

type patchState struct {
	op      int
	touched map[*Attribute]bool
	// index caches the element index of multi-valued attributes between add
	// operations (see addElements), so that many adds to one attribute stay
	// linear; any other operation on the attribute drops its entry.
	index map[*Attribute]*elemIndex
}

func (st *patchState) fail(t scimerrors.ScimType, format string, args ...any) error {
	return &scimerrors.ScimError{
		ScimType: t,
		Status:   http.StatusBadRequest,
		Detail:   fmt.Sprintf("Operations[%d]: ", st.op) + fmt.Sprintf(format, args...),
	}
}

// patchTarget is a resolved PATCH path.
type patchTarget struct {
	top *Attribute
	// sub is the sub-attribute of an attr.sub path.
	sub *Attribute
	// filter selects elements (element context); filterSub follows it.
	filter    *node
	filterSub *Attribute
	// readOnly marks a path clients may not write; discard marks password.
	readOnly, discard bool
}

func (s *Schema) applyOp(doc map[string]any, op scim.PatchOperation, st *patchState) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case opAdd, opReplace, opRemove:
	default:
		return st.fail(scimerrors.ScimTypeInvalidValue, "op must be add, replace or remove")
	}
	if op.Path == nil {
		if kind == opRemove {
			return st.fail(scimerrors.ScimTypeNoTarget, "remove requires a path")
		}
		m, ok := op.Value.(map[string]any)
		if !ok {
			return st.fail(scimerrors.ScimTypeInvalidValue, "without a path the value must be an object of attributes")
		}
		return s.applyObject(doc, kind, m, st)
	}
	if e := s.extensionPath(op.Path); e != nil {
		return s.applyExtension(doc, kind, e, op.Value, st)
	}
	t, err := s.target(op.Path, st)
	if err != nil {
		return err
	}
	switch {
	case t.discard:
		return nil
	case t.readOnly:
		return st.fail(scimerrors.ScimTypeMutability, "attribute %s is read-only", quoteName(t.top.Name))
	}
	return s.apply(doc, kind, t, op.Value, st)
}

// target resolves a parsed PATCH path.
func (s *Schema) target(p *filter.Path, st *patchState) (*patchTarget, error) {
	ap := p.AttributePath
	top, sub, ok := s.resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
	if !ok {
		return nil, st.fail(scimerrors.ScimTypeInvalidPath, "unknown attribute %s", quoteName(ap.String()))
	}
	t := &patchTarget{top: top, sub: sub}
	if !top.extension && top.Name == "password" {
		t.discard = true
		return t, nil
	}
	if top.ReadOnly() || (sub != nil && sub.ReadOnly()) || (!top.extension && (top.Name == "schemas" || top.Name == "id")) {
		t.readOnly = true
		return t, nil
	}
	if p.ValueExpression == nil {
		if p.SubAttribute != nil && sub == nil {
			if sub = top.Sub(*p.SubAttribute); sub == nil {
				return nil, st.fail(scimerrors.ScimTypeInvalidPath, "unknown sub-attribute %s", quoteName(*p.SubAttribute))
			}
			t.sub = sub
		}
		return t, nil
	}
	if sub != nil || top.Type != TypeComplex {
		return nil, st.fail(scimerrors.ScimTypeInvalidPath, "a value filter must follow a complex attribute")
	}
	text, err := valueFilterText(p.ValueExpression, 0)
	if err != nil {
		return nil, st.fail(scimerrors.ScimTypeInvalidPath, "invalid value filter: %s", err.Error())
	}
	f, err := s.compileValueFilter(top, text)
	if err != nil {
		return nil, st.fail(scimerrors.ScimTypeInvalidPath, "invalid value filter: %s", err.Error())
	}
	t.filter = f
	if name := p.SubAttributeName(); name != "" {
		t.filterSub = top.Sub(name)
		if t.filterSub == nil {
			return nil, st.fail(scimerrors.ScimTypeInvalidPath, "unknown sub-attribute %s of %s", quoteName(name), quoteName(top.Name))
		}
		if t.filterSub.ReadOnly() {
			t.readOnly = true
		}
	}
	return t, nil
}

// extensionPath returns the extension a path names as a whole (its bare URN,
// which filter-parser splits at the last colon), or nil.
func (s *Schema) extensionPath(p *filter.Path) *extensionSchema {
	ap := p.AttributePath
	if ap.URIPrefix == nil || ap.SubAttribute != nil || p.ValueExpression != nil || p.SubAttribute != nil {
		return nil
	}
	return s.extension(ap.URI() + ":" + ap.AttributeName)
}

// applyExtension applies an operation whose path is an extension's URN: add
// and replace merge the attributes of the object value (as a path-less
// operation with {urn: value} would), remove clears every attribute of the
// extension.
func (s *Schema) applyExtension(doc map[string]any, kind string, e *extensionSchema, val any, st *patchState) error {
	if e.readOnly {
		return st.fail(scimerrors.ScimTypeMutability, "extension %s is read-only", quoteName(e.urn))
	}
	if kind == opRemove {
		for _, a := range e.attrs {
			if a.ReadOnly() {
				continue
			}
			st.touched[a] = true
			delete(st.index, a)
			removeTop(doc, a)
		}
		return nil
	}
	m, ok := val.(map[string]any)
	if !ok {
		return st.fail(scimerrors.ScimTypeInvalidValue, "the value of extension %s must be an object", quoteName(e.urn))
	}
	return s.applyObject(doc, kind, map[string]any{e.urn: m}, st)
}

// valueFilterText renders a value filter parsed by the library back to filter
// text, for compileValueFilter to parse: every check of names, operators and
// values is then the one CompileFilter makes. Strings from the library keep
// their escape sequences, so they are quoted as they are; numbers are written
// as the library read them.
func valueFilterText(e filter.Expression, depth int) (string, error) {
	if depth > MaxFilterDepth {
		return "", fmt.Errorf("nests deeper than %d levels", MaxFilterDepth)
	}
	switch e := e.(type) {
	case *filter.AttributeExpression:
		s := e.AttributePath.String() + " " + string(e.Operator)
		if e.Operator == filter.PR {
			return s, nil
		}
		switch v := e.CompareValue.(type) {
		case nil:
			return s + " null", nil
		case bool:
			return s + " " + strconv.FormatBool(v), nil
		case string:
			return s + ` "` + v + `"`, nil
		case int:
			return s + " " + strconv.Itoa(v), nil
		case int64:
			return s + " " + strconv.FormatInt(v, 10), nil
		case float64:
			return s + " " + strconv.FormatFloat(v, 'g', -1, 64), nil
		case json.Number:
			return s + " " + v.String(), nil
		}
		return "", fmt.Errorf("unsupported comparison value")
	case *filter.LogicalExpression:
		op := strings.ToLower(string(e.Operator))
		l, err := valueFilterOperand(e.Left, op, depth)
		if err != nil {
			return "", err
		}
		r, err := valueFilterOperand(e.Right, op, depth)
		if err != nil {
			return "", err
		}
		return l + " " + op + " " + r, nil
	case *filter.NotExpression:
		x, err := valueFilterText(e.Expression, depth+1)
		if err != nil {
			return "", err
		}
		return "not (" + x + ")", nil
	case *filter.ValuePath:
		// Rendered so that the parser refuses it as it refuses any nested
		// value filter.
		x, err := valueFilterText(e.ValueFilter, depth+1)
		if err != nil {
			return "", err
		}
		return e.AttributePath.String() + "[" + x + "]", nil
	}
	return "", fmt.Errorf("unsupported value filter expression")
}

// valueFilterOperand renders an operand of a logical operator op, in
// parentheses unless it is a chain of the same operator (which needs none).
func valueFilterOperand(e filter.Expression, op string, depth int) (string, error) {
	s, err := valueFilterText(e, depth+1)
	if err != nil {
		return "", err
	}
	if l, ok := e.(*filter.LogicalExpression); ok && !strings.EqualFold(string(l.Operator), op) {
		return "(" + s + ")", nil
	}
	return s, nil
}

// applyObject applies a path-less add or replace: each key of m names an
// attribute (plain, dotted, URN-qualified or filtered) or an extension object.
func (s *Schema) applyObject(doc map[string]any, kind string, m map[string]any, st *patchState) error {
	for _, k := range sortedKeys(m) {
		v := m[k]
		if e := s.extension(k); e != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				return st.fail(scimerrors.ScimTypeInvalidValue, "the value of extension %s must be an object", quoteName(e.urn))
			}
			if e.readOnly {
				continue
			}
			for _, k2 := range sortedKeys(obj) {
				_, name, subName := splitAttrPath(k2)
				if strings.ContainsRune(k2, ':') {
					return st.fail(scimerrors.ScimTypeInvalidValue, "unknown attribute %s in extension %s", quoteName(k2), quoteName(e.urn))
				}
				top, sub, ok := s.resolve(e.urn, name, subName)
				if !ok {
					return st.fail(scimerrors.ScimTypeInvalidValue, "unknown attribute %s in extension %s", quoteName(k2), quoteName(e.urn))
				}
				if top.ReadOnly() || (sub != nil && sub.ReadOnly()) {
					continue
				}
				if err := s.apply(doc, kind, &patchTarget{top: top, sub: sub}, obj[k2], st); err != nil {
					return err
				}
			}
			continue
		}
		switch strings.ToLower(k) {
		case "id", "meta", "schemas", "password":
			continue
		}
		p, ok := parseKeyPath(k)
		if !ok {
			return st.fail(scimerrors.ScimTypeInvalidValue, "invalid attribute path %s in value", quoteName(k))
		}
		t, err := s.target(&p, st)
		if err != nil {
			// elimity reports bad keys of a value object as invalidValue.
			var se *scimerrors.ScimError
			if errors.As(err, &se) {
				se.ScimType = scimerrors.ScimTypeInvalidValue
			}
			return err
		}
		if t.discard || t.readOnly {
			continue
		}
		if err := s.apply(doc, kind, t, v, st); err != nil {
			return err
		}
	}
	return nil
}

// parseKeyPath parses a key of a path-less value object as a PATCH path.
// Plain, dotted and URN-qualified keys are split directly (filter-parser
// costs tens of microseconds per call); keys with a value filter go through
// filter-parser, as elimity did when it validated them.
func parseKeyPath(k string) (filter.Path, bool) {
	if strings.IndexByte(k, '[') >= 0 {
		p, err := filter.ParsePath([]byte(k))
		return p, err == nil
	}
	urn, name, sub, ok := splitPathHead(k)
	if !ok {
		return filter.Path{}, false
	}
	p := filter.Path{AttributePath: filter.AttributePath{AttributeName: name}}
	if urn != "" {
		p.AttributePath.URIPrefix = &urn
	}
	if sub != "" {
		p.AttributePath.SubAttribute = &sub
	}
	return p, true
}

// splitPathHead splits an attribute path without value filter
// ("urn:…:name.sub") and checks its characters.
func splitPathHead(head string) (urn, name, sub string, ok bool) {
	if head == "" {
		return "", "", "", false
	}
	for i := 0; i < len(head); i++ {
		if !isNameChar(head[i]) {
			return "", "", "", false
		}
	}
	urn, name, sub = splitAttrPath(head)
	if name == "" || !(isLetter(name[0]) || name[0] == '$') || strings.HasSuffix(head, ".") || strings.Contains(sub, ".") {
		return "", "", "", false
	}
	return urn, name, sub, true
}

// sortedKeys orders the keys of a path-less value object deterministically:
// whole attributes before sub-attribute paths, so {"name": {...},
// "name.givenName": "x"} sets givenName last.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if strings.ContainsAny(k, ".[") {
			return 1
		}
		return 0
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// apply performs one operation on a resolved target.
func (s *Schema) apply(doc map[string]any, kind string, t *patchTarget, val any, st *patchState) error {
	st.touched[t.top] = true
	if t.filter != nil || kind != opAdd || t.sub != nil || !t.top.MultiValued {
		// Only adds of whole values keep the attribute's element index valid.
		delete(st.index, t.top)
	}
	switch {
	case t.filter != nil:
		return s.applyFiltered(doc, kind, t, val, st)
	case kind == opRemove:
		return s.remove(doc, t, val, st)
	case t.sub != nil:
		return s.setSub(doc, t, val, st)
	case t.top.MultiValued:
		return s.setMulti(doc, kind, t.top, val, st)
	case t.top.Type == TypeComplex:
		return s.setComplex(doc, t.top, val, st)
	default:
		return s.setSimple(doc, t.top, val, st)
	}
}

// finish tidies the attributes the patch touched: elements of multi-valued
// attributes with a "value" sub-attribute but no value are dropped (they are
// left behind by clearing a value, and may be half-built by earlier
// operations of the request), references without a value are removed, and
// empty values and extension objects are deleted.
func (s *Schema) finish(doc map[string]any, st *patchState) {
	for a := range st.touched {
		h := holder(doc, a, false)
		if h == nil {
			continue
		}
		_, v, ok := findKey(h, a.Name)
		if !ok {
			continue
		}
		vs := a.valueSub()
		switch {
		case a.MultiValued:
			list, _ := v.([]any)
			kept := list[:0:0]
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					if len(m) == 0 || (vs != nil && !present(getFold(m, vs.Name))) {
						continue
					}
				}
				kept = append(kept, e)
			}
			if list != nil {
				storeElements(doc, a, kept)
			}
		case a.Type == TypeComplex:
			m, _ := v.(map[string]any)
			if len(m) == 0 || (vs != nil && !present(getFold(m, vs.Name))) {
				removeTop(doc, a)
			}
		case isEmpty(v):
			removeTop(doc, a)
		}
		if a.extension {
			if h := holder(doc, a, false); h != nil && len(h) == 0 {
				deleteKey(doc, a.SchemaURN)
			}
		}
	}
}
