package resource

import (
	"fmt"
	"strconv"
	"strings"
)

// holder returns the object that holds top in doc (doc itself or the
// extension object), creating the extension object when create is set.
func holder(doc map[string]any, top *Attribute, create bool) map[string]any {
	if !top.extension {
		return doc
	}
	if k, v, ok := findKey(doc, top.SchemaURN); ok {
		if m, ok := v.(map[string]any); ok {
			if k != top.SchemaURN {
				delete(doc, k)
				doc[top.SchemaURN] = m
			}
			return m
		}
		if !create {
			return nil
		}
		delete(doc, k)
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	doc[top.SchemaURN] = m
	return m
}

// findKey finds key in m, exactly or case-insensitively.
func findKey(m map[string]any, key string) (string, any, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}

func setKey(m map[string]any, key string, v any) {
	for k := range m {
		if k != key && strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
	m[key] = v
}

func deleteKey(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}

// removeTop deletes top from doc, and its extension object if left empty.
func removeTop(doc map[string]any, top *Attribute) {
	h := holder(doc, top, false)
	if h == nil {
		return
	}
	deleteKey(h, top.Name)
	if top.extension && len(h) == 0 {
		deleteKey(doc, top.SchemaURN)
	}
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == ""
}

// coerceSimple checks and converts a value for a simple attribute. nil and ""
// (which clear) pass through as nil.
func coerceSimple(a *Attribute, v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	switch a.Type {
	case TypeBoolean:
		if b, ok := toBool(v); ok {
			return b, nil
		}
	case TypeInteger, TypeDecimal:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil
			}
		}
	case TypeDateTime:
		if s, ok := v.(string); ok {
			if _, ok := parseTime(s); ok {
				return s, nil
			}
		}
	case TypeComplex:
		return nil, fmt.Errorf("%s is complex", quoteName(a.Name))
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("expected a %s value for %s", a.Type, quoteName(a.Name))
}

// elements returns the current values of a multi-valued attribute.
func elements(doc map[string]any, a *Attribute) []any {
	h := holder(doc, a, false)
	if h == nil {
		return nil
	}
	_, v, _ := findKey(h, a.Name)
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// storeElements writes the values of a multi-valued attribute (deleting it
// when empty).
func storeElements(doc map[string]any, a *Attribute, list []any) {
	if len(list) == 0 {
		removeTop(doc, a)
		return
	}
	setKey(holder(doc, a, true), a.Name, list)
}
