package simulator

import (
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema, __type) over the loaded schema, so GraphQL tools
// and code generators work against the simulator.

// typeRef is the source of a __Type: a wrapper (kind NON_NULL or LIST around
// of) or a named definition.
type typeRef struct {
	kind string
	of   *ast.Type
	def  *ast.Definition
}

// inputValue is the source of an __InputValue (an argument or an input field).
type inputValue struct {
	name, desc string
	typ        *ast.Type
	defaultVal *ast.Value
	dirs       ast.DirectiveList
}

func (ex *execution) refOf(t *ast.Type) typeRef {
	switch {
	case t.NonNull:
		inner := *t
		inner.NonNull = false
		return typeRef{kind: "NON_NULL", of: &inner}
	case t.Elem != nil:
		return typeRef{kind: "LIST", of: t.Elem}
	default:
		return typeRef{def: ex.schema.Types[t.NamedType]}
	}
}

func deprecation(dirs ast.DirectiveList) (bool, any) {
	d := dirs.ForName("deprecated")
	if d == nil {
		return false, nil
	}
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		return true, a.Value.Raw
	}
	return true, "No longer supported"
}

func argValues(defs ast.ArgumentDefinitionList, includeDeprecated bool) []any {
	out := []any{}
	for _, a := range defs {
		if dep, _ := deprecation(a.Directives); dep && !includeDeprecated {
			continue
		}
		out = append(out, inputValue{name: a.Name, desc: a.Description, typ: a.Type, defaultVal: a.DefaultValue, dirs: a.Directives})
	}
	return out
}

func (ex *execution) resolveIntrospection(typeName string, src any, f *ast.Field, args map[string]any) (any, *fieldError) {
	includeDeprecated, _ := args["includeDeprecated"].(bool)
	var v any
	var ok bool
	switch typeName {
	case "__Schema":
		v, ok = resolveSchema(src.(*ast.Schema), f.Name)
	case "__Type":
		return ex.resolveTypeRef(src.(typeRef), f, includeDeprecated)
	case "__Field":
		v, ok = ex.resolveFieldDefinition(src.(*ast.FieldDefinition), f.Name, includeDeprecated)
	case "__InputValue":
		v, ok = ex.resolveInputValue(src.(inputValue), f.Name)
	case "__EnumValue":
		v, ok = resolveEnumValue(src.(*ast.EnumValueDefinition), f.Name)
	case "__Directive":
		v, ok = resolveDirective(src.(*ast.DirectiveDefinition), f.Name, includeDeprecated)
	}
	if !ok {
		return nil, fieldErrorf(CodeInternal, "the simulator does not resolve %s.%s", typeName, f.Name)
	}
	return v, nil
}

// resolveSchema resolves a field of __Schema; types and directives come in
// name order. ok is false for a field it does not know.
func resolveSchema(s *ast.Schema, field string) (v any, ok bool) {
	switch field {
	case "description":
		return nullIfEmpty(s.Description), true
	case "types":
		return byName(s.Types, func(d *ast.Definition) any { return typeRef{def: d} }), true
	case "queryType":
		return typeRef{def: s.Query}, true
	case "mutationType":
		if s.Mutation == nil {
			return nil, true
		}
		return typeRef{def: s.Mutation}, true
	case "subscriptionType":
		if s.Subscription == nil {
			return nil, true
		}
		return typeRef{def: s.Subscription}, true
	case "directives":
		return byName(s.Directives, func(d *ast.DirectiveDefinition) any { return d }), true
	}
	return nil, false
}

// byName returns the values of m in key order, each converted by conv.
func byName[V any](m map[string]V, conv func(V) any) []any {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = conv(m[n])
	}
	return out
}

// resolveFieldDefinition resolves a field of __Field. ok is false for a
// field it does not know.
func (ex *execution) resolveFieldDefinition(fd *ast.FieldDefinition, field string, includeDeprecated bool) (v any, ok bool) {
	switch field {
	case "name":
		return fd.Name, true
	case "description":
		return nullIfEmpty(fd.Description), true
	case "args":
		return argValues(fd.Arguments, includeDeprecated), true
	case "type":
		return ex.refOf(fd.Type), true
	}
	return resolveDeprecation(fd.Directives, field)
}

// resolveInputValue resolves a field of __InputValue. ok is false for a
// field it does not know.
func (ex *execution) resolveInputValue(iv inputValue, field string) (v any, ok bool) {
	switch field {
	case "name":
		return iv.name, true
	case "description":
		return nullIfEmpty(iv.desc), true
	case "type":
		return ex.refOf(iv.typ), true
	case "defaultValue":
		if iv.defaultVal == nil {
			return nil, true
		}
		return iv.defaultVal.String(), true
	}
	return resolveDeprecation(iv.dirs, field)
}

// resolveEnumValue resolves a field of __EnumValue. ok is false for a
// field it does not know.
func resolveEnumValue(ev *ast.EnumValueDefinition, field string) (v any, ok bool) {
	switch field {
	case "name":
		return ev.Name, true
	case "description":
		return nullIfEmpty(ev.Description), true
	}
	return resolveDeprecation(ev.Directives, field)
}

// resolveDeprecation resolves isDeprecated and deprecationReason, which
// __Field, __InputValue and __EnumValue share, from dirs. ok is false for
// another field.
func resolveDeprecation(dirs ast.DirectiveList, field string) (v any, ok bool) {
	dep, reason := deprecation(dirs)
	switch field {
	case "isDeprecated":
		return dep, true
	case "deprecationReason":
		return reason, true
	}
	return nil, false
}

// resolveDirective resolves a field of __Directive. ok is false for a
// field it does not know.
func resolveDirective(d *ast.DirectiveDefinition, field string, includeDeprecated bool) (v any, ok bool) {
	switch field {
	case "name":
		return d.Name, true
	case "description":
		return nullIfEmpty(d.Description), true
	case "isRepeatable":
		return d.IsRepeatable, true
	case "locations":
		out := make([]any, len(d.Locations))
		for i, l := range d.Locations {
			out[i] = string(l)
		}
		return out, true
	case "args":
		return argValues(d.Arguments, includeDeprecated), true
	}
	return nil, false
}

func (ex *execution) resolveTypeRef(t typeRef, f *ast.Field, includeDeprecated bool) (any, *fieldError) {
	if t.kind != "" {
		switch f.Name {
		case "kind":
			return t.kind, nil
		case "ofType":
			return ex.refOf(t.of), nil
		default:
			return nil, nil
		}
	}
	d := t.def
	switch f.Name {
	case "kind":
		return string(d.Kind), nil
	case "name":
		return d.Name, nil
	case "description":
		return nullIfEmpty(d.Description), nil
	case "specifiedByURL":
		if sb := d.Directives.ForName("specifiedBy"); sb != nil {
			if a := sb.Arguments.ForName("url"); a != nil && a.Value != nil {
				return a.Value.Raw, nil
			}
		}
		return nil, nil
	case "fields":
		return typeFields(d, includeDeprecated), nil
	case "interfaces":
		return ex.typeInterfaces(d), nil
	case "possibleTypes":
		return ex.possibleTypes(d), nil
	case "enumValues":
		return enumValues(d, includeDeprecated), nil
	case "inputFields":
		return inputFields(d, includeDeprecated), nil
	case "ofType":
		return nil, nil
	case "isOneOf":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		return d.Directives.ForName("oneOf") != nil, nil
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve __Type.%s", f.Name)
}

// typeFields is __Type.fields: the fields of an object or interface but
// the introspection ones, deprecated ones only when asked; nil for other
// kinds.
func typeFields(d *ast.Definition, includeDeprecated bool) any {
	if d.Kind != ast.Object && d.Kind != ast.Interface {
		return nil
	}
	out := []any{}
	for _, fd := range d.Fields {
		if strings.HasPrefix(fd.Name, "__") {
			continue
		}
		if dep, _ := deprecation(fd.Directives); dep && !includeDeprecated {
			continue
		}
		out = append(out, fd)
	}
	return out
}

// typeInterfaces is __Type.interfaces: what an object or interface
// implements; nil for other kinds.
func (ex *execution) typeInterfaces(d *ast.Definition) any {
	if d.Kind != ast.Object && d.Kind != ast.Interface {
		return nil
	}
	out := []any{}
	for _, n := range d.Interfaces {
		out = append(out, typeRef{def: ex.schema.Types[n]})
	}
	return out
}

// possibleTypes is __Type.possibleTypes: the objects an interface or union
// may be; nil for other kinds.
func (ex *execution) possibleTypes(d *ast.Definition) any {
	if !d.IsAbstractType() {
		return nil
	}
	out := []any{}
	for _, p := range ex.schema.GetPossibleTypes(d) {
		out = append(out, typeRef{def: p})
	}
	return out
}

// enumValues is __Type.enumValues: an enum's values, deprecated ones only
// when asked; nil for other kinds.
func enumValues(d *ast.Definition, includeDeprecated bool) any {
	if d.Kind != ast.Enum {
		return nil
	}
	out := []any{}
	for _, ev := range d.EnumValues {
		if dep, _ := deprecation(ev.Directives); dep && !includeDeprecated {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// inputFields is __Type.inputFields: an input object's fields, deprecated
// ones only when asked; nil for other kinds.
func inputFields(d *ast.Definition, includeDeprecated bool) any {
	if d.Kind != ast.InputObject {
		return nil
	}
	out := []any{}
	for _, fd := range d.Fields {
		if dep, _ := deprecation(fd.Directives); dep && !includeDeprecated {
			continue
		}
		out = append(out, inputValue{name: fd.Name, desc: fd.Description, typ: fd.Type, defaultVal: fd.DefaultValue, dirs: fd.Directives})
	}
	return out
}
