package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// NormalizeBody rewrites a request body for the resource type described by s
// so that elimity's server accepts the shapes Okta and Entra ID send that it
// would otherwise wrongly reject or drop. It runs before elimity sees the body
// (method is POST, PUT or PATCH; other methods pass through unchanged).
//
// POST and PUT:
//   - explicit nulls are dropped (an absent attribute), in objects and arrays;
//   - "schemas" keeps only the URNs of the core schema and the extensions
//     (misspelled or foreign URNs such as "urn:okta:custom:1.0" are dropped;
//     a missing core URN is left for elimity to reject);
//   - extension attributes given as flat keys ("urn:…:User:employeeNumber")
//     or without their URN ("department", "manager") are moved into the
//     extension object, where elimity looks for them (it silently drops them
//     otherwise); an existing nested value wins;
//   - the enterprise manager given as a raw id string, as an array
//     [{"$ref","value"}] or as {"value": ""} becomes {"value": id}, or is
//     dropped when empty.
//
// PATCH:
//   - a path that is an extension's URN (not an attribute of it) becomes, for
//     add and replace with an object value, a path-less operation with the
//     value {urn: object}, and for remove one remove per attribute of the
//     extension;
//   - "meta" and "schemas" keys of a path-less value object are dropped
//     (read-only; elimity would reject the request, ApplyPatch ignores them);
//   - an operation whose value is null becomes a remove of its path; null
//     keys of a path-less value object (also inside an extension object or a
//     complex value) become separate remove operations after it;
//   - a path, or a key of a path-less value object, naming an extension
//     attribute without its URN ("manager") gets the URN prefix;
//   - the manager value (path manager / urn:…:User:manager, or such a key in
//     a path-less value object) given as a string, array or object becomes
//     {"value": id}; an empty one turns into a remove of the manager.
//
// Everything else is preserved. A body that is not a single JSON object, or
// that needs no change, is returned unchanged (invalid JSON is left for
// elimity to answer with 400 invalidSyntax). The error is non-nil only if the
// rewritten document cannot be encoded.
func NormalizeBody(s *Schema, method string, body []byte) ([]byte, error) {
	var fix func(map[string]any) bool
	switch method {
	case http.MethodPost, http.MethodPut:
		fix = s.normalizeResource
	case http.MethodPatch:
		fix = s.normalizePatch
	default:
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return body, nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return body, nil
	}
	if !fix(doc) {
		return body, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode normalized body: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// normalizeResource fixes a POST or PUT body; it reports whether it changed.
func (s *Schema) normalizeResource(doc map[string]any) bool {
	changed := dropNulls(doc)
	if s.fixSchemas(doc) {
		changed = true
	}
	if s.nestExtensionKeys(doc) {
		changed = true
	}
	if ent, ok := doc[EnterpriseURN].(map[string]any); ok && s.extension(EnterpriseURN) != nil {
		if k, v, found := findKey(ent, "manager"); found {
			nv, empty, ch := normalizeManager(v)
			switch {
			case empty:
				delete(ent, k)
				if len(ent) == 0 {
					delete(doc, EnterpriseURN)
				}
				changed = true
			case ch:
				ent[k] = nv
				changed = true
			}
		}
	}
	return changed
}

// dropNulls removes null object members and array elements recursively.
func dropNulls(doc map[string]any) bool {
	changed := false
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if x == nil {
					delete(v, k)
					changed = true
					continue
				}
				v[k] = walk(x)
			}
			return v
		case []any:
			kept := v[:0:0]
			for _, x := range v {
				if x == nil {
					changed = true
					continue
				}
				kept = append(kept, walk(x))
			}
			if len(kept) == len(v) {
				return v
			}
			return kept
		}
		return v
	}
	walk(doc)
	return changed
}

// fixSchemas drops unknown URNs from "schemas".
func (s *Schema) fixSchemas(doc map[string]any) bool {
	k, v, ok := findKey(doc, "schemas")
	if !ok {
		return false
	}
	list, ok := v.([]any)
	if !ok {
		return false
	}
	kept := make([]any, 0, len(list))
	for _, u := range list {
		if str, ok := u.(string); ok && s.isCoreOrExtensionURN(str) {
			kept = append(kept, u)
		}
	}
	if len(kept) == len(list) {
		return false
	}
	doc[k] = kept
	return true
}

// nestExtensionKeys moves extension attributes given as flat URN-qualified
// keys or without URN into their extension object, renames extension objects
// keyed with a differently-cased URN, and turns core-URN-qualified keys into
// plain ones.
func (s *Schema) nestExtensionKeys(doc map[string]any) bool {
	changed := false
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	// Sorted so that which of two colliding keys wins does not depend on map
	// iteration order.
	slices.Sort(keys)
	for _, k := range keys {
		if s.nestKey(doc, k) {
			changed = true
		}
	}
	// An empty extension object is the same as an absent one, and
	// extensionObject may have created one that nothing was moved into.
	for _, e := range s.exts {
		if m, ok := doc[e.urn].(map[string]any); ok && len(m) == 0 {
			delete(doc, e.urn)
		}
	}
	return changed
}

// nestKey applies nestExtensionKeys to the top-level key k of doc; it
// reports whether it changed doc.
func (s *Schema) nestKey(doc map[string]any, k string) bool {
	if e := s.extension(k); e != nil {
		return mergeExtensionObject(doc, k, e)
	}
	urn, name, sub := splitAttrPath(k)
	if sub != "" {
		return false
	}
	switch {
	case urn == "":
		return s.nestBareKey(doc, k, name)
	case strings.EqualFold(urn, s.core.ID):
		return s.unqualifyCoreKey(doc, k, name)
	default:
		return s.nestQualifiedKey(doc, k, urn, name)
	}
}

// mergeExtensionObject merges the object under k, a differently-cased
// spelling of e's URN, into the object under the exact URN and drops k.
// Members already present under the exact URN win.
func mergeExtensionObject(doc map[string]any, k string, e *extensionSchema) bool {
	if k == e.urn {
		return false
	}
	src, ok := doc[k].(map[string]any)
	dst := extensionObject(doc, e)
	if !ok || dst == nil {
		return false
	}
	for k2, v2 := range src {
		if _, _, found := findKey(dst, k2); !found {
			dst[k2] = v2
		}
	}
	delete(doc, k)
	return true
}

// nestBareKey moves the key k, an attribute name without URN, into the first
// extension that defines it, unless the core schema defines it or that
// extension is read-only.
func (s *Schema) nestBareKey(doc map[string]any, k, name string) bool {
	if s.byName[strings.ToLower(name)] != nil {
		return false
	}
	for _, e := range s.exts {
		if a := e.byName[strings.ToLower(name)]; a != nil && !e.readOnly {
			if obj := extensionObject(doc, e); obj != nil {
				moveKey(doc, k, obj, a.Name)
				return true
			}
			return false
		}
	}
	return false
}

// unqualifyCoreKey renames the key k, a core attribute qualified with the
// core schema's URN, to the attribute's plain name; a plain key already
// present wins.
func (s *Schema) unqualifyCoreKey(doc map[string]any, k, name string) bool {
	a := s.byName[strings.ToLower(name)]
	if a == nil {
		return false
	}
	if _, _, found := findKey(doc, a.Name); !found {
		doc[a.Name] = doc[k]
	}
	delete(doc, k)
	return true
}

// nestQualifiedKey moves the key k, an extension attribute qualified with
// the extension's URN, into that extension's object.
func (s *Schema) nestQualifiedKey(doc map[string]any, k, urn, name string) bool {
	e := s.extension(urn)
	if e == nil {
		return false
	}
	a := e.byName[strings.ToLower(name)]
	if a == nil {
		return false
	}
	obj := extensionObject(doc, e)
	if obj == nil {
		return false
	}
	moveKey(doc, k, obj, a.Name)
	return true
}

// extensionObject returns the object of extension e in doc, creating an
// empty one if it is absent, or nil if e's URN holds something that is not
// an object (that is left for elimity to reject).
func extensionObject(doc map[string]any, e *extensionSchema) map[string]any {
	if m, ok := doc[e.urn].(map[string]any); ok {
		return m
	}
	if _, present := doc[e.urn]; present {
		return nil
	}
	m := map[string]any{}
	doc[e.urn] = m
	return m
}

// moveKey moves doc[from] into obj as name and drops from; a value already
// in obj under name (in any case) wins.
func moveKey(doc map[string]any, from string, obj map[string]any, name string) {
	if _, _, found := findKey(obj, name); !found {
		obj[name] = doc[from]
	}
	delete(doc, from)
}

// normalizeManager converts a manager value to the RFC form {"value": id}.
// empty reports a value meaning "no manager"; changed reports a rewrite.
// Values of other shapes are returned unchanged for elimity to judge.
func normalizeManager(v any) (nv any, empty, changed bool) {
	switch x := v.(type) {
	case nil:
		return nil, true, true
	case string:
		if x == "" {
			return nil, true, true
		}
		return map[string]any{"value": x}, false, true
	case json.Number:
		return map[string]any{"value": x.String()}, false, true
	case []any:
		for _, e := range x {
			if e == nil {
				continue
			}
			r, empty, _ := normalizeManager(e)
			if empty {
				return nil, true, true
			}
			if _, ok := r.(map[string]any); ok {
				return r, false, true
			}
			return v, false, false
		}
		return nil, true, true
	case map[string]any:
		if len(x) == 0 {
			return nil, true, true
		}
		ch := false
		for k, e := range x {
			if e == nil {
				delete(x, k)
				ch = true
			}
		}
		k, val, found := findKey(x, "value")
		switch val := val.(type) {
		case nil:
			if found || len(x) == 0 {
				return nil, true, true
			}
		case string:
			if val == "" {
				return nil, true, true
			}
		case json.Number:
			x[k] = val.String()
			ch = true
		}
		return x, false, ch
	}
	return v, false, false
}

// normalizePatch fixes a PATCH body; it reports whether it changed.
func (s *Schema) normalizePatch(doc map[string]any) bool {
	k, v, ok := findKey(doc, "Operations")
	if !ok {
		return false
	}
	list, ok := v.([]any)
	if !ok {
		return false
	}
	out := make([]any, 0, len(list))
	changed := false
	for _, raw := range list {
		op, ok := raw.(map[string]any)
		if !ok {
			out = append(out, raw)
			continue
		}
		ops, ch := s.normalizeOp(op)
		out = append(out, ops...)
		changed = changed || ch
	}
	if changed {
		doc[k] = out
	}
	return changed
}

// removeOp returns a remove operation for path.
func removeOp(path string) map[string]any {
	return map[string]any{"op": opRemove, "path": path}
}

// normalizeOp fixes one PATCH operation, possibly splitting it.
func (s *Schema) normalizeOp(op map[string]any) ([]any, bool) {
	opKey, opVal, _ := findKey(op, "op")
	name, _ := opVal.(string)
	name = strings.ToLower(name)
	valueKey, value, hasValue := findKey(op, "value")
	pathKey, pathVal, _ := findKey(op, "path")
	path, _ := pathVal.(string)
	changed := false
	if path != "" {
		if q, ok := s.qualifyPath(path); ok {
			op[pathKey] = q
			path = q
			changed = true
		}
	}
	if e := s.extension(path); e != nil && path != "" && !e.readOnly {
		// A bare extension URN as path (elimity only knows attribute paths):
		// remove clears each attribute of the extension; add and replace
		// with an object become the path-less {urn: object} form.
		switch name {
		case opRemove:
			return extensionRemoves(e), true
		case opAdd, opReplace:
			if obj, ok := value.(map[string]any); ok {
				delete(op, pathKey)
				op[valueKey] = map[string]any{e.urn: obj}
				value, path, changed = op[valueKey], "", true
			}
		}
	}
	if name != opAdd && name != opReplace {
		return []any{op}, changed
	}
	var ops []any
	var ch bool
	if path != "" {
		ops, ch = s.normalizePathValue(op, opKey, valueKey, path, value, hasValue)
	} else {
		ops, ch = s.normalizePathlessValue(op, value)
	}
	return ops, changed || ch
}

// extensionRemoves returns one remove operation per writable attribute of
// e, the equivalent of removing the whole extension.
func extensionRemoves(e *extensionSchema) []any {
	out := make([]any, 0, len(e.attrs))
	for _, a := range e.attrs {
		if !a.ReadOnly() {
			out = append(out, removeOp(e.urn+":"+a.Name))
		}
	}
	return out
}

// normalizePathValue fixes an add or replace op with a path: a null value
// or an empty manager turns it into a remove of the path, a manager value is
// brought to {"value": id}, and null sub-attributes of a complex value
// become removes after it. value and hasValue are op's value as found under
// valueKey. It reports whether it changed anything.
func (s *Schema) normalizePathValue(op map[string]any, opKey, valueKey, path string, value any, hasValue bool) ([]any, bool) {
	if !hasValue {
		return []any{op}, false
	}
	if value == nil {
		op[opKey] = opRemove
		delete(op, valueKey)
		return []any{op}, true
	}
	changed := false
	if s.isManagerPath(path) {
		nv, empty, ch := normalizeManager(value)
		switch {
		case empty:
			op[opKey] = opRemove
			delete(op, valueKey)
			return []any{op}, true
		case ch:
			op[valueKey] = nv
			changed = true
		}
	}
	if nulls := s.nullSubs(path, value); len(nulls) > 0 {
		out := []any{op}
		for _, p := range nulls {
			out = append(out, removeOp(p))
		}
		return out, true
	}
	return []any{op}, changed
}

// normalizePathlessValue fixes an add or replace op without a path whose
// value is an object, key by key; keys that ask for a removal (null, empty
// manager) become remove operations after op, or replace op if nothing else
// is left in its value. It reports whether it changed anything.
func (s *Schema) normalizePathlessValue(op map[string]any, value any) ([]any, bool) {
	obj, ok := value.(map[string]any)
	if !ok {
		return []any{op}, false
	}
	var removes []any
	changed := false
	for _, k := range sortedKeys(obj) {
		switch strings.ToLower(k) {
		case "meta", "schemas":
			// Read-only; ApplyPatch ignores them in a path-less value, but
			// elimity would reject the whole request.
			delete(obj, k)
			changed = true
			continue
		}
		var rs []any
		var ch bool
		if e := s.extension(k); e != nil {
			rs, ch = s.normalizeExtensionValue(obj, k, e)
		} else {
			rs, ch = s.normalizeValueKey(obj, k)
		}
		removes = append(removes, rs...)
		changed = changed || ch
	}
	if len(removes) == 0 {
		return []any{op}, changed
	}
	if len(obj) == 0 {
		return removes, true
	}
	return append([]any{op}, removes...), true
}

// normalizeExtensionValue fixes the member k of a path-less value object,
// the object of extension e: null and empty-manager attributes are taken out
// and returned as removes, a manager is brought to {"value": id}, and the
// member is dropped when null or left empty. It reports whether it changed
// obj in a way the returned removes do not already show.
func (s *Schema) normalizeExtensionValue(obj map[string]any, k string, e *extensionSchema) ([]any, bool) {
	v := obj[k]
	changed := false
	inner, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			delete(obj, k)
			changed = true
		}
		return nil, changed
	}
	var removes []any
	for _, k2 := range sortedKeys(inner) {
		v2 := inner[k2]
		qualified := e.urn + ":" + k2
		if v2 == nil {
			delete(inner, k2)
			removes = append(removes, removeOp(qualified))
			continue
		}
		if s.isManagerPath(qualified) {
			nv, empty, ch := normalizeManager(v2)
			switch {
			case empty:
				delete(inner, k2)
				removes = append(removes, removeOp(qualified))
			case ch:
				inner[k2] = nv
				changed = true
			}
		}
	}
	if len(inner) == 0 {
		delete(obj, k)
		changed = true
	}
	return removes, changed
}

// normalizeValueKey fixes the member k of a path-less value object that is
// not an extension object: an extension attribute without URN gets the
// prefix, a null or empty manager is taken out and returned as a remove, a
// manager is brought to {"value": id}, and null sub-attributes of a complex
// value are returned as removes. It reports whether it changed obj in a way
// the returned removes do not already show.
func (s *Schema) normalizeValueKey(obj map[string]any, k string) ([]any, bool) {
	v := obj[k]
	changed := false
	key := k
	if q, ok := s.qualifyPath(k); ok {
		delete(obj, k)
		obj[q] = v
		key = q
		changed = true
	}
	if v == nil {
		delete(obj, key)
		return []any{removeOp(key)}, changed
	}
	if s.isManagerPath(key) {
		nv, empty, ch := normalizeManager(v)
		switch {
		case empty:
			delete(obj, key)
			return []any{removeOp(key)}, changed
		case ch:
			obj[key] = nv
			changed = true
		}
	}
	var removes []any
	for _, p := range s.nullSubs(key, obj[key]) {
		removes = append(removes, removeOp(p))
	}
	return removes, changed
}

// pathHead returns the attribute part of a PATCH path (before any value
// filter) split into URN, name and sub-attribute, and whether the path has a
// value filter. It is all NormalizeBody needs, so it avoids filter-parser.
func pathHead(path string) (urn, name, sub string, filtered, ok bool) {
	head := path
	if i := strings.IndexByte(path, '['); i >= 0 {
		head, filtered = path[:i], true
	}
	urn, name, sub, ok = splitPathHead(head)
	return urn, name, sub, filtered, ok
}

// qualifyPath prefixes a path whose attribute is not a core or common
// attribute but belongs to an extension with that extension's URN (elimity
// looks unqualified PATCH paths up in the core schema only).
func (s *Schema) qualifyPath(path string) (string, bool) {
	urn, name, _, _, ok := pathHead(path)
	if !ok || urn != "" {
		return "", false
	}
	name = strings.ToLower(name)
	if s.byName[name] != nil {
		return "", false
	}
	for _, e := range s.exts {
		if e.byName[name] != nil {
			return e.urn + ":" + path, true
		}
	}
	return "", false
}

// isManagerPath reports whether path names the enterprise manager itself.
func (s *Schema) isManagerPath(path string) bool {
	urn, name, sub, filtered, ok := pathHead(path)
	if !ok || filtered || sub != "" {
		return false
	}
	top, _, ok := s.resolve(urn, name, "")
	return ok && top.Path == EnterpriseURN+":manager"
}

// nullSubs removes the null sub-attributes of a single-valued complex value
// (name: {"givenName": null}) and returns the paths to remove for them.
func (s *Schema) nullSubs(path string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	urn, name, sub, filtered, ok := pathHead(path)
	if !ok || filtered || sub != "" {
		return nil
	}
	top, _, ok := s.resolve(urn, name, "")
	if !ok || top.Type != TypeComplex || top.MultiValued {
		return nil
	}
	var out []string
	for _, k := range sortedKeys(m) {
		if sub := top.Sub(k); m[k] == nil && sub != nil {
			delete(m, k)
			out = append(out, path+"."+sub.Name)
		}
	}
	return out
}
