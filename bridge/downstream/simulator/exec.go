package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// omap is a JSON object that keeps its keys in insertion order, as GraphQL
// responses must (response keys appear in selection order).
type omap struct {
	keys []string
	vals []any
}

func (m *omap) set(k string, v any) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// MarshalJSON writes the object with its keys in insertion order.
func (m *omap) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// fieldError is an error raised while resolving one field: the field becomes
// null and the response gets an error with the field's path and
// extensions.code. A resolver may also put a *fieldError into a list it
// returns, which nulls just that item.
type fieldError struct {
	code    string
	message string
	ext     map[string]any
}

func (e *fieldError) Error() string { return e.message }

func fieldErrorf(code, format string, args ...any) *fieldError {
	return &fieldError{code: code, message: fmt.Sprintf(format, args...)}
}

// execution runs one validated operation against the state. It is used by a
// single goroutine while Server.mu is held.
type execution struct {
	schema   *ast.Schema
	doc      *ast.QueryDocument
	op       *ast.OperationDefinition
	vars     map[string]any
	scopes   map[string]bool
	now      time.Time
	request  int
	st       *state
	maxPage  int
	defPage  int
	errs     gqlerror.List
	events   []Event
	opCounts map[string]int
	// documented selects the documented profile's behaviour.
	documented bool
	// userAgent is the request's User-Agent, recorded in events.
	userAgent string
}

// run executes the operation and returns the data value (nil when an error
// propagated to the root).
func (ex *execution) run() any {
	root := ex.schema.Query
	if ex.op.Operation == ast.Mutation {
		root = ex.schema.Mutation
	}
	data, failed := ex.executeSelectionSet(root, nil, []ast.SelectionSet{ex.op.SelectionSet}, nil)
	if failed {
		return nil
	}
	return data
}

// fieldGroup is the list of fields that share one response key.
type fieldGroup struct {
	key    string
	fields []*ast.Field
}

// collectFields implements CollectFields: fields grouped by response key in
// order of first appearance, with fragments whose type condition applies to
// objType expanded and @skip/@include honoured.
func (ex *execution) collectFields(objType *ast.Definition, sets []ast.SelectionSet) []*fieldGroup {
	var groups []*fieldGroup
	index := map[string]*fieldGroup{}
	visited := map[string]bool{}
	var walk func(sel ast.SelectionSet)
	walk = func(sel ast.SelectionSet) {
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				if !ex.included(s.Directives) {
					continue
				}
				key := responseKey(s)
				g, ok := index[key]
				if !ok {
					g = &fieldGroup{key: key}
					index[key] = g
					groups = append(groups, g)
				}
				g.fields = append(g.fields, s)
			case *ast.FragmentSpread:
				if visited[s.Name] || !ex.included(s.Directives) {
					continue
				}
				visited[s.Name] = true
				frag := ex.doc.Fragments.ForName(s.Name)
				if frag == nil || !ex.typeApplies(objType, frag.TypeCondition) {
					continue
				}
				walk(frag.SelectionSet)
			case *ast.InlineFragment:
				if !ex.included(s.Directives) {
					continue
				}
				if s.TypeCondition != "" && !ex.typeApplies(objType, s.TypeCondition) {
					continue
				}
				walk(s.SelectionSet)
			}
		}
	}
	for _, sel := range sets {
		walk(sel)
	}
	return groups
}

func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// typeApplies implements DoesFragmentTypeApply.
func (ex *execution) typeApplies(objType *ast.Definition, cond string) bool {
	if cond == objType.Name {
		return true
	}
	def := ex.schema.Types[cond]
	if def == nil || !def.IsAbstractType() {
		return false
	}
	for _, p := range ex.schema.GetPossibleTypes(def) {
		if p.Name == objType.Name {
			return true
		}
	}
	return false
}

// included evaluates @skip(if:) and @include(if:). Validation guarantees the
// argument is a Boolean!; a variable that fails to coerce counts as false.
func (ex *execution) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			continue
		}
		v, _, err := literalValue(ex.schema, a.Value, ast.NonNullNamedType("Boolean", nil), ex.vars)
		b, _ := v.(bool)
		if err != nil {
			b = false
		}
		if d.Name == "skip" && b {
			return false
		}
		if d.Name == "include" && !b {
			return false
		}
	}
	return true
}

// executeSelectionSet runs every field group of objType on src. failed reports
// that a non-null field became null, so the object itself must become null.
// All fields run even after one failed, so the later mutations of a document
// still execute.
func (ex *execution) executeSelectionSet(objType *ast.Definition, src any, sets []ast.SelectionSet, path ast.Path) (*omap, bool) {
	out := &omap{}
	failed := false
	for _, g := range ex.collectFields(objType, sets) {
		v, f := ex.executeField(objType, src, g.fields, appendPath(path, ast.PathName(g.key)))
		if f {
			failed = true
			continue
		}
		out.set(g.key, v)
	}
	if failed {
		return nil, true
	}
	return out, false
}

func appendPath(p ast.Path, e ast.PathElement) ast.Path {
	np := make(ast.Path, len(p)+1)
	copy(np, p)
	np[len(p)] = e
	return np
}

func (ex *execution) executeField(objType *ast.Definition, src any, fields []*ast.Field, path ast.Path) (any, bool) {
	f := fields[0]
	if f.Name == "__typename" {
		return objType.Name, false
	}
	fd := objType.Fields.ForName(f.Name)
	if fd == nil {
		// Unreachable after validation; reported rather than panicking.
		ex.addError(f, path, fieldErrorf(CodeInternal, "field %s.%s is not defined", objType.Name, f.Name))
		return nil, false
	}
	if objType == ex.schema.Query {
		ex.opCounts[f.Name]++
	}
	args, err := coerceArguments(ex.schema, fd.Arguments, f.Arguments, ex.vars)
	if err != nil {
		ex.addError(f, path, fieldErrorf(CodeInvalidInput, "%v", err))
		return nil, fd.Type.NonNull
	}
	val, ferr := ex.resolve(objType.Name, src, f, args)
	if ferr != nil {
		ex.addError(f, path, ferr)
		return nil, fd.Type.NonNull
	}
	return ex.completeValue(fd.Type, fields, val, path)
}

// completeValue implements CompleteValue. The bool reports that the value is
// null because of an error and typ is non-null, so the parent must absorb it.
func (ex *execution) completeValue(typ *ast.Type, fields []*ast.Field, val any, path ast.Path) (any, bool) {
	if fe, ok := val.(*fieldError); ok {
		ex.addError(fields[0], path, fe)
		return nil, typ.NonNull
	}
	if val == nil {
		if typ.NonNull {
			ex.addError(fields[0], path, fieldErrorf(CodeInternal, "cannot return null for non-nullable field of type %s", typ))
			return nil, true
		}
		return nil, false
	}
	v, failed := ex.completeInner(typ, fields, val, path)
	if failed {
		return nil, typ.NonNull
	}
	return v, false
}

// completeInner completes a non-null value of a list or named type. failed
// reports that an inner non-null position became null.
func (ex *execution) completeInner(typ *ast.Type, fields []*ast.Field, val any, path ast.Path) (any, bool) {
	if typ.Elem != nil {
		items, ok := val.([]any)
		if !ok {
			ex.addError(fields[0], path, fieldErrorf(CodeInternal, "resolver returned %T for a list", val))
			return nil, true
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, f := ex.completeValue(typ.Elem, fields, it, appendPath(path, ast.PathIndex(i)))
			if f {
				return nil, true
			}
			out[i] = v
		}
		return out, false
	}
	def := ex.schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return serializeLeaf(val), false
	case ast.Object:
		return ex.completeObject(def, fields, val, path)
	default:
		concrete := ex.resolveType(val)
		if concrete == nil {
			ex.addError(fields[0], path, fieldErrorf(CodeInternal, "cannot resolve the concrete type of %s", def.Name))
			return nil, true
		}
		return ex.completeObject(concrete, fields, val, path)
	}
}

func (ex *execution) completeObject(def *ast.Definition, fields []*ast.Field, val any, path ast.Path) (any, bool) {
	sets := make([]ast.SelectionSet, 0, len(fields))
	for _, f := range fields {
		sets = append(sets, f.SelectionSet)
	}
	obj, failed := ex.executeSelectionSet(def, val, sets, path)
	if failed {
		return nil, true
	}
	return obj, false
}

// serializeLeaf turns a resolver's leaf value into its JSON form.
func serializeLeaf(v any) any {
	switch v := v.(type) {
	case time.Time:
		return formatTime(v)
	case *time.Time:
		return formatTime(*v)
	default:
		return v
	}
}

// formatTime is the simulator's DateTime format: RFC 3339 in UTC, whole seconds.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// addError records a field error. The documented profile sends the message
// without extensions, and a mutation's errors with the message only (no path,
// no locations): with one mutation field per document there is nothing to
// point at.
func (ex *execution) addError(f *ast.Field, path ast.Path, fe *fieldError) {
	if ex.documented && ex.op.Operation == ast.Mutation {
		ex.errs = append(ex.errs, &gqlerror.Error{Message: fe.message})
		return
	}
	e := &gqlerror.Error{Message: fe.message, Path: path}
	if !ex.documented {
		e.Extensions = map[string]any{"code": fe.code}
		for k, v := range fe.ext {
			e.Extensions[k] = v
		}
	}
	if f != nil && f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	ex.errs = append(ex.errs, e)
}
