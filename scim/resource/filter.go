package resource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Limits CompileFilter enforces against abusive filters. IdPs send filters of
// one or two comparisons (well under 200 bytes); these bounds leave room for
// hand-written queries while keeping parsing and evaluation cheap.
const (
	// MaxFilterLength is the longest filter accepted, in bytes.
	MaxFilterLength = 8192
	// MaxFilterDepth is the deepest nesting of parentheses, "not" and value
	// filters accepted.
	MaxFilterDepth = 32
	// MaxFilterTerms is the largest number of comparisons accepted in one filter.
	MaxFilterTerms = 200
)

// Filter is a compiled SCIM filter (RFC 7644 §3.4.2.2) for one resource type.
// It is immutable and safe for concurrent use.
type Filter struct {
	// Pushdown is the largest part of the filter a store can evaluate (using
	// only the fields of Schema.Fields), or nil when nothing can be pushed
	// down. It never excludes a resource that Match accepts.
	Pushdown store.Expr
	// Exact reports whether Pushdown alone is equivalent to the whole filter,
	// so that the store's result needs no further evaluation by Match (and the
	// store can page it). Exactness assumes the full representation matches
	// the store record: "active" present as a boolean, emails extracted with
	// Emails, and meta.created / meta.lastModified formatted with
	// time.RFC3339Nano from the stored times.
	Exact bool

	root   *node
	schema *Schema
}

// Match reports whether the full representation doc satisfies the whole
// filter. Strings compare case-insensitively (strings.ToLower of both sides)
// unless the attribute is caseExact; a multi-valued attribute matches when any
// of its values does (also for ne); a complex attribute with a "value"
// sub-attribute is compared on it; an absent attribute, an empty string and a
// value of the wrong type match no comparison (only "not" can turn that into a
// match); dateTime values compare as instants.
func (f *Filter) Match(doc map[string]any) bool {
	return evalRoot(f.root, doc)
}

type nodeKind uint8

const (
	kindAnd nodeKind = iota
	kindOr
	kindNot
	kindCmp
	kindValuePath
)

// node is one element of a compiled filter.
//
// kindCmp at the root compares the values of top (or of its sub-attribute
// sub); inside a value filter (element context) top is nil and attr, a
// sub-attribute of the filtered attribute, is read from each element.
// kindValuePath selects the elements of top that satisfy kids[0]; with a
// trailing sub-attribute (Entra's emails[type eq "work"].value eq "x") it
// additionally compares that sub-attribute of the selected elements.
type node struct {
	kind nodeKind
	kids []*node

	top  *Attribute
	sub  *Attribute
	attr *Attribute
	// whole marks "pr" on a complex attribute that has no "value"
	// sub-attribute (name pr): presence of any non-empty sub-attribute.
	whole bool
	// hasCmp marks a value path with a trailing comparison.
	hasCmp bool
	// simple marks a value path over a multi-valued simple attribute, whose
	// elements are compared as the pseudo sub-attribute "value".
	simple bool
	op     store.Op
	val    value
}

type valueKind uint8

const (
	valueString valueKind = iota
	valueBool
	valueNumber
	valueTime
)

// value is a typed comparison value.
type value struct {
	kind valueKind
	s    string // valueString: as given
	fold string // valueString: strings.ToLower(s)
	// impossible marks a valueString no stored value can equal or contain:
	// one with NUL or invalid UTF-8, which the store refuses to keep (and
	// PostgreSQL to compare).
	impossible bool
	b          bool
	f          float64
	t          time.Time
}

// CompileFilter parses and checks a SCIM filter against the schema. Attribute
// names and operators are case-insensitive; extension attributes may be named
// with or without their URN. Besides RFC 7644's grammar it accepts a value
// path followed by a sub-attribute and a comparison
// (emails[type eq "work"].value eq "x", as Entra ID sends) and, leniently,
// unquoted values (externalId eq jyoung), which are compared as strings.
// Errors are *errors.ScimError with scimType invalidFilter.
func (s *Schema) CompileFilter(filter string) (*Filter, error) {
	if len(filter) > MaxFilterLength {
		return nil, filterError(-1, fmt.Sprintf("filter is longer than %d bytes", MaxFilterLength))
	}
	p := &parser{schema: s, in: filter}
	root, err := p.parseAll()
	if err != nil {
		return nil, err
	}
	f := &Filter{root: root, schema: s}
	f.Pushdown, f.Exact = pushdown(root)
	if f.Pushdown == nil {
		f.Exact = false
	}
	return f, nil
}

// compileValueFilter parses the filter of a PATCH value path, attr[filter],
// in element context of top, with the parser CompileFilter uses. The filter
// arrives as text rendered from the library's parsed path, so offsets in it
// mean nothing to the client: errors are plain, without offset or scimType,
// for the caller to classify.
func (s *Schema) compileValueFilter(top *Attribute, filter string) (*node, error) {
	// depth 1: the value path itself is a level, as inside CompileFilter.
	p := &parser{schema: s, in: filter, elem: top, depth: 1, fail: func(_ int, msg string) error { return errors.New(msg) }}
	return p.parseAll()
}

// filterError returns an invalidFilter error. pos < 0 omits the offset.
func filterError(pos int, msg string) *scimerrors.ScimError {
	detail := "invalid filter: " + msg
	if pos >= 0 {
		detail = fmt.Sprintf("invalid filter at offset %d: %s", pos, msg)
	}
	return &scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidFilter, Detail: detail, Status: http.StatusBadRequest}
}

type parser struct {
	schema *Schema
	in     string
	pos    int
	depth  int
	terms  int
	// elem is the attribute whose elements are being filtered while parsing
	// the inside of a value path (attr[...]); nil at the root.
	elem *Attribute
	// fail makes the error for msg at offset pos; nil means filterError.
	fail func(pos int, msg string) error
}

func (p *parser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos, format, args...)
}

func (p *parser) errorAt(pos int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.fail != nil {
		return p.fail(pos, msg)
	}
	return filterError(pos, msg)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '$' || c == ':' || c == '.'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p *parser) skipSpace() {
	for p.pos < len(p.in) && isSpace(p.in[p.pos]) {
		p.pos++
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.in) {
		return p.in[p.pos]
	}
	return 0
}

// describeNext names what is at the current position without echoing input
// that could be personal data: a punctuation character is quoted, anything
// else is "text".
func (p *parser) describeNext() string {
	if p.pos >= len(p.in) {
		return "end of filter"
	}
	switch c := p.in[p.pos]; c {
	case '(', ')', '[', ']', '"', '.', ',':
		return strconv.Quote(string(c))
	default:
		return "text"
	}
}

// keyword reports whether the word w (lower-case) is at the current position,
// case-insensitively and not followed by a name character, and consumes it.
func (p *parser) keyword(w string) bool {
	end := p.pos + len(w)
	if end > len(p.in) || !strings.EqualFold(p.in[p.pos:end], w) {
		return false
	}
	if end < len(p.in) && isNameChar(p.in[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.errorf("filter nests deeper than %d levels", MaxFilterDepth)
	}
	return nil
}

// parseAll parses the whole input as one filter.
func (p *parser) parseAll() (*node, error) {
	p.skipSpace()
	if p.pos == len(p.in) {
		return nil, p.errorAt(-1, "filter is empty")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.in) {
		return nil, p.errorf("unexpected %s; expected \"and\", \"or\" or the end of the filter", p.describeNext())
	}
	return root, nil
}

func (p *parser) parseOr() (*node, error) { return p.parseList("or", kindOr, p.parseAnd) }

func (p *parser) parseAnd() (*node, error) { return p.parseList("and", kindAnd, p.parseUnary) }

// parseList parses operands joined by keyword ("or", "and") into one node of
// kind, or returns the single operand.
func (p *parser) parseList(keyword string, kind nodeKind, operand func() (*node, error)) (*node, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for {
		save := p.pos
		p.skipSpace()
		if !p.keyword(keyword) {
			p.pos = save
			break
		}
		right, err := operand()
		if err != nil {
			return nil, err
		}
		kids = append(kids, right)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &node{kind: kind, kids: kids}, nil
}

func (p *parser) parseUnary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.skipSpace()
	if p.pos == len(p.in) {
		return nil, p.errorf("unexpected end of filter; expected an attribute, \"not\" or \"(\"")
	}
	save := p.pos
	if p.keyword("not") {
		p.skipSpace()
		if p.peek() == '(' {
			x, err := p.parseGroup()
			if err != nil {
				return nil, err
			}
			return &node{kind: kindNot, kids: []*node{x}}, nil
		}
		if p.pos < len(p.in) && isLetter(p.in[p.pos]) {
			// Lenient: "not attr op value" without parentheses.
			x, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			return &node{kind: kindNot, kids: []*node{x}}, nil
		}
		p.pos = save
	}
	if p.peek() == '(' {
		return p.parseGroup()
	}
	return p.parseTerm()
}

// parseGroup parses "(" FILTER ")".
func (p *parser) parseGroup() (*node, error) {
	p.pos++ // (
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.errorf("unexpected %s; expected \")\"", p.describeNext())
	}
	p.pos++
	return x, nil
}

func (p *parser) readName() string {
	start := p.pos
	for p.pos < len(p.in) && isNameChar(p.in[p.pos]) {
		p.pos++
	}
	return p.in[start:p.pos]
}

// quoteName quotes an attribute name for an error detail, shortened so that
// long input is never echoed.
func quoteName(name string) string {
	const max = 40
	if len(name) > max {
		name = name[:max] + "…"
	}
	return strconv.Quote(name)
}

// parseTerm parses an attribute expression or a value path.
func (p *parser) parseTerm() (*node, error) {
	start := p.pos
	name := p.readName()
	if name == "" || !(isLetter(name[0]) || name[0] == '$') {
		p.pos = start
		return nil, p.errorf("unexpected %s; expected an attribute name", p.describeNext())
	}
	top, sub, err := p.resolveName(name, start)
	if err != nil {
		return nil, err
	}
	if p.peek() == '[' {
		if sub != nil {
			return nil, p.errorAt(start, "a value filter must follow a top-level attribute, not %s", quoteName(name))
		}
		return p.parseValuePath(top, start)
	}
	if p.elem != nil {
		// In element context, top is the sub-attribute compared.
		return p.parseComparison(nil, nil, top, name)
	}
	return p.parseComparison(top, sub, nil, name)
}

// resolveName resolves an attribute name at the root or, inside a value path,
// among the filtered attribute's sub-attributes (returned as top).
func (p *parser) resolveName(name string, pos int) (top, sub *Attribute, err error) {
	if p.elem != nil {
		if strings.ContainsAny(name, ":.") {
			return nil, nil, p.errorAt(pos, "%s is not a sub-attribute of %s", quoteName(name), quoteName(p.elem.Name))
		}
		if p.elem.Type != TypeComplex {
			if strings.EqualFold(name, "value") {
				return pseudoValue(p.elem), nil, nil
			}
			return nil, nil, p.errorAt(pos, "elements of %s can only be compared as \"value\"", quoteName(p.elem.Name))
		}
		a := p.elem.Sub(name)
		if a == nil {
			return nil, nil, p.errorAt(pos, "unknown sub-attribute %s of %s", quoteName(name), quoteName(p.elem.Name))
		}
		return a, nil, nil
	}
	urn, attrName, subName := splitAttrPath(name)
	if strings.Contains(subName, ".") {
		return nil, nil, p.errorAt(pos, "attribute path %s nests too deeply", quoteName(name))
	}
	top, sub, ok := p.schema.resolve(urn, attrName, subName)
	if !ok {
		return nil, nil, p.errorAt(pos, "unknown attribute %s", quoteName(name))
	}
	return top, sub, nil
}

// pseudoValue is the "value" pseudo sub-attribute of a simple multi-valued
// attribute, used inside value filters (schemas[value eq "…"]).
func pseudoValue(a *Attribute) *Attribute {
	return &Attribute{Name: "value", Path: a.Path + ".value", SchemaURN: a.SchemaURN, Type: a.Type, CaseExact: a.CaseExact, Parent: a, Mutability: a.Mutability, Returned: a.Returned}
}

func (p *parser) parseValuePath(top *Attribute, start int) (*node, error) {
	if p.elem != nil {
		return nil, p.errorAt(start, "value filters cannot be nested")
	}
	if top.Type != TypeComplex && !top.MultiValued {
		return nil, p.errorAt(start, "attribute %s has no values to filter", quoteName(top.Name))
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++ // [
	p.elem = top
	inner, err := p.parseOr()
	p.elem = nil
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ']' {
		return nil, p.errorf("unexpected %s; expected \"]\"", p.describeNext())
	}
	p.pos++
	n := &node{kind: kindValuePath, kids: []*node{inner}, top: top, simple: top.Type != TypeComplex}
	if p.peek() != '.' {
		return n, nil
	}
	// Entra ID: attr[filter].sub op value.
	p.pos++
	subStart := p.pos
	subName := p.readName()
	var sub *Attribute
	switch {
	case subName == "" || strings.ContainsAny(subName, ":."):
		return nil, p.errorAt(subStart, "expected a sub-attribute name after \"].\"")
	case n.simple:
		if strings.EqualFold(subName, "value") {
			sub = pseudoValue(top)
		}
	default:
		sub = top.Sub(subName)
	}
	if sub == nil {
		return nil, p.errorAt(subStart, "unknown sub-attribute %s of %s", quoteName(subName), quoteName(top.Name))
	}
	cmp, err := p.parseComparison(nil, nil, sub, top.Name+"."+sub.Name)
	if err != nil {
		return nil, err
	}
	if cmp.kind != kindCmp {
		// "eq null" compiled to not(pr), which has no trailing form.
		return nil, p.errorAt(subStart, "null cannot be compared with eq after a value filter")
	}
	n.hasCmp = true
	n.sub = sub
	n.attr = sub
	n.op = cmp.op
	n.val = cmp.val
	return n, nil
}

// compareOp maps an operator keyword (any case) to its store.Op.
func compareOp(word string) (store.Op, bool) {
	switch op := store.Op(strings.ToLower(word)); op {
	case store.OpEq, store.OpNe, store.OpCo, store.OpSw, store.OpEw,
		store.OpGt, store.OpGe, store.OpLt, store.OpLe, store.OpPr:
		return op, true
	}
	return "", false
}

// parseComparison parses the operator and value after an attribute path. At
// the root top (and sub) name the attribute; in element context elemAttr does.
func (p *parser) parseComparison(top, sub, elemAttr *Attribute, name string) (*node, error) {
	p.terms++
	if p.terms > MaxFilterTerms {
		return nil, p.errorf("filter has more than %d comparisons", MaxFilterTerms)
	}
	p.skipSpace()
	opStart := p.pos
	word := p.readName()
	op, ok := compareOp(word)
	if !ok {
		p.pos = opStart
		return nil, p.errorf("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %s", quoteName(name))
	}
	n := &node{kind: kindCmp, top: top, sub: sub, attr: elemAttr, op: op}
	if top != nil {
		n.attr = top
		if sub != nil {
			n.attr = sub
		}
	}
	if n.attr.Type == TypeComplex {
		vs := n.attr.valueSub()
		switch {
		case vs != nil && sub == nil && top != nil:
			n.sub, n.attr = vs, vs
		case op == store.OpPr:
			n.whole = true
		default:
			return nil, p.errorAt(opStart, "attribute %s is complex; compare one of its sub-attributes", quoteName(name))
		}
	}
	if err := checkOperator(n.attr, op); err != nil {
		return nil, p.errorAt(opStart, "%s", err.Error())
	}
	if op == store.OpPr {
		return n, nil
	}
	p.skipSpace()
	valStart := p.pos
	lit, err := p.readLiteral()
	if err != nil {
		return nil, err
	}
	if lit.kind == litNull {
		switch op {
		case store.OpEq:
			n.op = store.OpPr
			return &node{kind: kindNot, kids: []*node{n}}, nil
		case store.OpNe:
			n.op = store.OpPr
			return n, nil
		default:
			return nil, p.errorAt(valStart, "null can only be compared with eq or ne")
		}
	}
	v, msg := coerceLiteral(n.attr, lit)
	if msg != "" {
		return nil, p.errorAt(valStart, "%s for %s", msg, quoteName(name))
	}
	n.val = v
	return n, nil
}

// checkOperator reports whether op is defined for the attribute's type.
func checkOperator(a *Attribute, op store.Op) error {
	switch a.Type {
	case TypeBoolean:
		if op != store.OpEq && op != store.OpNe && op != store.OpPr {
			return fmt.Errorf("operator %s is not defined for boolean attribute %s", op, quoteName(a.Name))
		}
	case TypeBinary:
		if op == store.OpGt || op == store.OpGe || op == store.OpLt || op == store.OpLe {
			return fmt.Errorf("operator %s is not defined for binary attribute %s", op, quoteName(a.Name))
		}
	case TypeDateTime, TypeInteger, TypeDecimal:
		if op == store.OpCo || op == store.OpSw || op == store.OpEw {
			return fmt.Errorf("operator %s is not defined for %s attribute %s", op, a.Type, quoteName(a.Name))
		}
	case TypeComplex:
		if op != store.OpPr {
			return fmt.Errorf("operator %s is not defined for complex attribute %s", op, quoteName(a.Name))
		}
	}
	return nil
}

type literalKind uint8

const (
	litString literalKind = iota
	litNumber
	litTrue
	litFalse
	litNull
	litBare
)

// literal is a comparison value as written: a JSON string (unescaped), a JSON
// number or literal, or an unquoted token.
type literal struct {
	kind literalKind
	text string
}

func (p *parser) readLiteral() (literal, error) {
	if p.pos >= len(p.in) {
		return literal{}, p.errorf("unexpected end of filter; expected a value")
	}
	if p.in[p.pos] == '"' {
		start := p.pos
		i := p.pos + 1
		for ; i < len(p.in); i++ {
			if p.in[i] == '\\' {
				i++
				continue
			}
			if p.in[i] == '"' {
				break
			}
		}
		if i >= len(p.in) {
			return literal{}, p.errorAt(start, "unterminated string")
		}
		raw := p.in[start : i+1]
		var s string
		if strings.IndexByte(raw, '\\') < 0 {
			s = raw[1 : len(raw)-1]
		} else if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return literal{}, p.errorAt(start, "invalid escape sequence in string")
		}
		p.pos = i + 1
		return literal{kind: litString, text: s}, nil
	}
	start := p.pos
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' {
			break
		}
		p.pos++
	}
	tok := p.in[start:p.pos]
	switch {
	case tok == "":
		return literal{}, p.errorf("unexpected %s; expected a value", p.describeNext())
	case tok == "true":
		return literal{kind: litTrue, text: tok}, nil
	case tok == "false":
		return literal{kind: litFalse, text: tok}, nil
	case tok == "null":
		return literal{kind: litNull, text: tok}, nil
	case isJSONNumber(tok):
		return literal{kind: litNumber, text: tok}, nil
	default:
		return literal{kind: litBare, text: tok}, nil
	}
}

// isJSONNumber reports whether s is a number in JSON syntax.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// coerceLiteral converts lit to the attribute's type. It returns a non-empty
// message when the literal does not fit.
func coerceLiteral(a *Attribute, lit literal) (value, string) {
	switch a.Type {
	case TypeBoolean:
		switch {
		case lit.kind == litTrue:
			return value{kind: valueBool, b: true}, ""
		case lit.kind == litFalse:
			return value{kind: valueBool}, ""
		case (lit.kind == litString || lit.kind == litBare) && strings.EqualFold(lit.text, "true"):
			return value{kind: valueBool, b: true}, ""
		case (lit.kind == litString || lit.kind == litBare) && strings.EqualFold(lit.text, "false"):
			return value{kind: valueBool}, ""
		}
		return value{}, "expected true or false"
	case TypeDateTime:
		if lit.kind == litString || lit.kind == litBare {
			if t, ok := parseTime(lit.text); ok {
				return value{kind: valueTime, t: t}, ""
			}
		}
		return value{}, "expected a dateTime such as \"2024-01-31T12:00:00Z\""
	case TypeInteger, TypeDecimal:
		if lit.kind == litNumber || lit.kind == litString || lit.kind == litBare {
			if f, err := strconv.ParseFloat(lit.text, 64); err == nil {
				return value{kind: valueNumber, f: f}, ""
			}
		}
		return value{}, "expected a number"
	default: // string, reference, binary
		return value{kind: valueString, s: lit.text, fold: strings.ToLower(lit.text), impossible: !storable(lit.text)}, ""
	}
}

// parseTime parses an RFC 3339 / xsd:dateTime value; without a zone it is UTC.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}
