package simulator

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Input coercion (GraphQL spec, "Coercing Variable Values" and "Coercing Field
// Arguments"). Coerced values are plain Go values: string (String, ID, enum,
// DateTime), int (Int), float64 (Float), bool, nil (null), []any (lists) and
// map[string]any (input objects; an absent field has no key, an explicit null
// has a nil value).

// inputError is a coercion failure; the caller decides whether it is a request
// error (variables) or a field error (arguments).
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) *inputError {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// coerceVariables applies CoerceVariableValues to the raw JSON variables.
// Variables that the operation does not define are ignored, as the spec allows.
func coerceVariables(schema *ast.Schema, op *ast.OperationDefinition, raw map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, vd := range op.VariableDefinitions {
		val, given := raw[vd.Variable]
		switch {
		case !given && vd.DefaultValue != nil:
			v, _, err := literalValue(schema, vd.DefaultValue, vd.Type, nil)
			if err != nil {
				return nil, inputErrorf("variable $%s: default value: %v", vd.Variable, err)
			}
			out[vd.Variable] = v
		case !given && vd.Type.NonNull:
			return nil, inputErrorf("variable $%s of required type %s was not provided", vd.Variable, vd.Type)
		case !given:
			// Absent: arguments that use it are treated as not given.
		case val == nil && vd.Type.NonNull:
			return nil, inputErrorf("variable $%s of non-null type %s must not be null", vd.Variable, vd.Type)
		default:
			v, err := jsonInput(schema, vd.Type, val, "$"+vd.Variable)
			if err != nil {
				return nil, inputErrorf("variable $%s got an invalid value: %v", vd.Variable, err)
			}
			out[vd.Variable] = v
		}
	}
	return out, nil
}

// jsonInput coerces a decoded JSON value (encoding/json into any) to typ.
func jsonInput(schema *ast.Schema, typ *ast.Type, val any, path string) (any, error) {
	if val == nil {
		if typ.NonNull {
			return nil, inputErrorf("%s: expected %s, found null", path, typ)
		}
		return nil, nil
	}
	if typ.Elem != nil {
		list, ok := val.([]any)
		if !ok {
			// A single value where a list is expected is a list of one.
			v, err := jsonInput(schema, typ.Elem, val, path)
			if err != nil {
				return nil, err
			}
			return []any{v}, nil
		}
		out := make([]any, len(list))
		for i, item := range list {
			v, err := jsonInput(schema, typ.Elem, item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	def := schema.Types[typ.NamedType]
	if def == nil {
		return nil, inputErrorf("%s: unknown type %s", path, typ.NamedType)
	}
	switch def.Kind {
	case ast.InputObject:
		obj, ok := val.(map[string]any)
		if !ok {
			return nil, inputErrorf("%s: expected an object of type %s", path, def.Name)
		}
		for k := range obj {
			if def.Fields.ForName(k) == nil {
				return nil, inputErrorf("%s: field %q is not defined by type %s", path, k, def.Name)
			}
		}
		out := map[string]any{}
		for _, fd := range def.Fields {
			fv, given := obj[fd.Name]
			fpath := path + "." + fd.Name
			switch {
			case !given && fd.DefaultValue != nil:
				v, _, err := literalValue(schema, fd.DefaultValue, fd.Type, nil)
				if err != nil {
					return nil, err
				}
				out[fd.Name] = v
			case !given && fd.Type.NonNull:
				return nil, inputErrorf("%s: required field of type %s was not provided", fpath, fd.Type)
			case !given:
			default:
				v, err := jsonInput(schema, fd.Type, fv, fpath)
				if err != nil {
					return nil, err
				}
				out[fd.Name] = v
			}
		}
		return out, nil
	case ast.Enum:
		s, ok := val.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, inputErrorf("%s: expected a value of enum %s", path, def.Name)
		}
		return s, nil
	case ast.Scalar:
		return jsonScalar(def.Name, val, path)
	default:
		return nil, inputErrorf("%s: %s is not an input type", path, def.Name)
	}
}

func jsonScalar(name string, val any, path string) (any, error) {
	switch name {
	case "Int":
		if f, ok := val.(float64); ok && f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32 {
			return int(f), nil
		}
		return nil, inputErrorf("%s: expected a 32-bit integer", path)
	case "Float":
		if f, ok := val.(float64); ok {
			return f, nil
		}
		return nil, inputErrorf("%s: expected a number", path)
	case "String":
		if s, ok := val.(string); ok {
			return s, nil
		}
		return nil, inputErrorf("%s: expected a string", path)
	case "Boolean":
		if b, ok := val.(bool); ok {
			return b, nil
		}
		return nil, inputErrorf("%s: expected a boolean", path)
	case "ID":
		switch v := val.(type) {
		case string:
			return v, nil
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				return strconv.FormatInt(int64(v), 10), nil
			}
		}
		return nil, inputErrorf("%s: expected a string or an integer", path)
	case "DateTime":
		if s, ok := val.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err == nil {
				return s, nil
			}
		}
		return nil, inputErrorf("%s: expected an RFC 3339 date-time string", path)
	default:
		return nil, inputErrorf("%s: unsupported scalar %s", path, name)
	}
}

// literalValue coerces an AST value (a literal, possibly containing variable
// references) to typ. present is false when the value is a variable that was
// not provided: the argument or input field then counts as not given.
func literalValue(schema *ast.Schema, v *ast.Value, typ *ast.Type, vars map[string]any) (val any, present bool, err error) {
	if v.Kind == ast.Variable {
		val, ok := vars[v.Raw]
		if !ok {
			return nil, false, nil
		}
		if val == nil && typ.NonNull {
			return nil, true, inputErrorf("variable $%s is null but %s is required", v.Raw, typ)
		}
		return val, true, nil
	}
	if v.Kind == ast.NullValue {
		if typ.NonNull {
			return nil, true, inputErrorf("null given where %s is required", typ)
		}
		return nil, true, nil
	}
	if typ.Elem != nil {
		val, err := literalList(schema, v, typ, vars)
		return val, true, err
	}
	def := schema.Types[typ.NamedType]
	if def == nil {
		return nil, true, inputErrorf("unknown type %s", typ.NamedType)
	}
	switch def.Kind {
	case ast.InputObject:
		val, err := literalObject(schema, v, def, vars)
		return val, true, err
	case ast.Enum:
		if v.Kind != ast.EnumValue || def.EnumValues.ForName(v.Raw) == nil {
			return nil, true, inputErrorf("expected a value of enum %s", def.Name)
		}
		return v.Raw, true, nil
	case ast.Scalar:
		val, err := literalScalar(def.Name, v)
		return val, true, err
	default:
		return nil, true, inputErrorf("%s is not an input type", def.Name)
	}
}

// literalList coerces a literal of list type typ: each item of a list, or
// a single value as a list of one. An absent variable inside the list is
// null.
func literalList(schema *ast.Schema, v *ast.Value, typ *ast.Type, vars map[string]any) (any, error) {
	if v.Kind != ast.ListValue {
		item, _, err := literalValue(schema, v, typ.Elem, vars)
		if err != nil {
			return nil, err
		}
		return []any{item}, nil
	}
	out := make([]any, 0, len(v.Children))
	for _, c := range v.Children {
		item, ok, err := literalValue(schema, c.Value, typ.Elem, vars)
		if err != nil {
			return nil, err
		}
		if !ok {
			if typ.Elem.NonNull {
				return nil, inputErrorf("list item of type %s is required", typ.Elem)
			}
			item = nil
		}
		out = append(out, item)
	}
	return out, nil
}

// literalObject coerces an object literal of the input type def: each
// field given, else its default; a required field missing is an error.
func literalObject(schema *ast.Schema, v *ast.Value, def *ast.Definition, vars map[string]any) (any, error) {
	if v.Kind != ast.ObjectValue {
		return nil, inputErrorf("expected an object of type %s", def.Name)
	}
	out := map[string]any{}
	for _, fd := range def.Fields {
		if child := childValue(v.Children, fd.Name); child != nil {
			cv, ok, err := literalValue(schema, child, fd.Type, vars)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", def.Name, fd.Name, err)
			}
			if ok {
				out[fd.Name] = cv
				continue
			}
		}
		switch {
		case fd.DefaultValue != nil:
			dv, _, err := literalValue(schema, fd.DefaultValue, fd.Type, nil)
			if err != nil {
				return nil, err
			}
			out[fd.Name] = dv
		case fd.Type.NonNull:
			return nil, inputErrorf("%s.%s of type %s is required", def.Name, fd.Name, fd.Type)
		}
	}
	return out, nil
}

func literalScalar(name string, v *ast.Value) (any, error) {
	switch name {
	case "Int":
		if v.Kind == ast.IntValue {
			n, err := strconv.ParseInt(v.Raw, 10, 32)
			if err == nil {
				return int(n), nil
			}
		}
		return nil, inputErrorf("expected a 32-bit integer, found %s", v.Raw)
	case "Float":
		if v.Kind == ast.IntValue || v.Kind == ast.FloatValue {
			f, err := strconv.ParseFloat(v.Raw, 64)
			if err == nil {
				return f, nil
			}
		}
		return nil, inputErrorf("expected a number, found %s", v.Raw)
	case "String":
		if v.Kind == ast.StringValue || v.Kind == ast.BlockValue {
			return v.Raw, nil
		}
		return nil, inputErrorf("expected a string")
	case "Boolean":
		if v.Kind == ast.BooleanValue {
			return v.Raw == "true", nil
		}
		return nil, inputErrorf("expected a boolean")
	case "ID":
		if v.Kind == ast.StringValue || v.Kind == ast.BlockValue || v.Kind == ast.IntValue {
			return v.Raw, nil
		}
		return nil, inputErrorf("expected a string or an integer")
	case "DateTime":
		if v.Kind == ast.StringValue || v.Kind == ast.BlockValue {
			if _, err := time.Parse(time.RFC3339, v.Raw); err == nil {
				return v.Raw, nil
			}
		}
		return nil, inputErrorf("expected an RFC 3339 date-time string")
	default:
		return nil, inputErrorf("unsupported scalar %s", name)
	}
}

// coerceArguments applies CoerceArgumentValues: given arguments are coerced,
// absent ones get their default, and a missing required one is an error.
func coerceArguments(schema *ast.Schema, defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, ad := range defs {
		if a := args.ForName(ad.Name); a != nil {
			v, ok, err := literalValue(schema, a.Value, ad.Type, vars)
			if err != nil {
				return nil, fmt.Errorf("argument %q: %w", ad.Name, err)
			}
			if ok {
				out[ad.Name] = v
				continue
			}
		}
		switch {
		case ad.DefaultValue != nil:
			v, _, err := literalValue(schema, ad.DefaultValue, ad.Type, nil)
			if err != nil {
				return nil, fmt.Errorf("argument %q: default: %w", ad.Name, err)
			}
			out[ad.Name] = v
		case ad.Type.NonNull:
			return nil, inputErrorf("argument %q of type %s is required", ad.Name, ad.Type)
		}
	}
	return out, nil
}

// childValue returns the value of the object field name, or nil.
func childValue(children ast.ChildValueList, name string) *ast.Value {
	for _, c := range children {
		if c.Name == name {
			return c.Value
		}
	}
	return nil
}
