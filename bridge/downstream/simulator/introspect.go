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
	switch typeName {
	case "__Schema":
		s := src.(*ast.Schema)
		switch f.Name {
		case "description":
			return nullIfEmpty(s.Description), nil
		case "types":
			names := make([]string, 0, len(s.Types))
			for n := range s.Types {
				names = append(names, n)
			}
			sort.Strings(names)
			out := make([]any, len(names))
			for i, n := range names {
				out[i] = typeRef{def: s.Types[n]}
			}
			return out, nil
		case "queryType":
			return typeRef{def: s.Query}, nil
		case "mutationType":
			if s.Mutation == nil {
				return nil, nil
			}
			return typeRef{def: s.Mutation}, nil
		case "subscriptionType":
			if s.Subscription == nil {
				return nil, nil
			}
			return typeRef{def: s.Subscription}, nil
		case "directives":
			names := make([]string, 0, len(s.Directives))
			for n := range s.Directives {
				names = append(names, n)
			}
			sort.Strings(names)
			out := make([]any, len(names))
			for i, n := range names {
				out[i] = s.Directives[n]
			}
			return out, nil
		}
	case "__Type":
		return ex.resolveTypeRef(src.(typeRef), f, includeDeprecated)
	case "__Field":
		fd := src.(*ast.FieldDefinition)
		dep, reason := deprecation(fd.Directives)
		switch f.Name {
		case "name":
			return fd.Name, nil
		case "description":
			return nullIfEmpty(fd.Description), nil
		case "args":
			return argValues(fd.Arguments, includeDeprecated), nil
		case "type":
			return ex.refOf(fd.Type), nil
		case "isDeprecated":
			return dep, nil
		case "deprecationReason":
			return reason, nil
		}
	case "__InputValue":
		iv := src.(inputValue)
		dep, reason := deprecation(iv.dirs)
		switch f.Name {
		case "name":
			return iv.name, nil
		case "description":
			return nullIfEmpty(iv.desc), nil
		case "type":
			return ex.refOf(iv.typ), nil
		case "defaultValue":
			if iv.defaultVal == nil {
				return nil, nil
			}
			return iv.defaultVal.String(), nil
		case "isDeprecated":
			return dep, nil
		case "deprecationReason":
			return reason, nil
		}
	case "__EnumValue":
		ev := src.(*ast.EnumValueDefinition)
		dep, reason := deprecation(ev.Directives)
		switch f.Name {
		case "name":
			return ev.Name, nil
		case "description":
			return nullIfEmpty(ev.Description), nil
		case "isDeprecated":
			return dep, nil
		case "deprecationReason":
			return reason, nil
		}
	case "__Directive":
		d := src.(*ast.DirectiveDefinition)
		switch f.Name {
		case "name":
			return d.Name, nil
		case "description":
			return nullIfEmpty(d.Description), nil
		case "isRepeatable":
			return d.IsRepeatable, nil
		case "locations":
			out := make([]any, len(d.Locations))
			for i, l := range d.Locations {
				out[i] = string(l)
			}
			return out, nil
		case "args":
			return argValues(d.Arguments, includeDeprecated), nil
		}
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve %s.%s", typeName, f.Name)
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
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
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
		return out, nil
	case "interfaces":
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
		}
		out := []any{}
		for _, n := range d.Interfaces {
			out = append(out, typeRef{def: ex.schema.Types[n]})
		}
		return out, nil
	case "possibleTypes":
		if !d.IsAbstractType() {
			return nil, nil
		}
		out := []any{}
		for _, p := range ex.schema.GetPossibleTypes(d) {
			out = append(out, typeRef{def: p})
		}
		return out, nil
	case "enumValues":
		if d.Kind != ast.Enum {
			return nil, nil
		}
		out := []any{}
		for _, ev := range d.EnumValues {
			if dep, _ := deprecation(ev.Directives); dep && !includeDeprecated {
				continue
			}
			out = append(out, ev)
		}
		return out, nil
	case "inputFields":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		out := []any{}
		for _, fd := range d.Fields {
			if dep, _ := deprecation(fd.Directives); dep && !includeDeprecated {
				continue
			}
			out = append(out, inputValue{name: fd.Name, desc: fd.Description, typ: fd.Type, defaultVal: fd.DefaultValue, dirs: fd.Directives})
		}
		return out, nil
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
