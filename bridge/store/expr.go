package store

import (
	"fmt"
	"time"
)

// Expr is a filter over users or groups that a backend evaluates in its query
// language (so lookups use indexes instead of scanning). It is the part of a SCIM
// filter that refers to indexed attributes; the SCIM layer evaluates anything else
// itself. The concrete types are And, Or, Not and Cond.
type Expr interface{ isExpr() }

// And matches when every operand matches (an empty And matches everything).
type And []Expr

// Or matches when any operand matches (an empty Or matches nothing).
type Or []Expr

// Not matches when X does not match.
type Not struct{ X Expr }

// Field names an indexed attribute.
type Field string

// Indexed attributes. Which fields apply to which resource is given by
// UserFields and GroupFields; a backend returns an error for any other field.
const (
	// FieldID is the resource id (case-exact string).
	FieldID Field = "id"
	// FieldExternalID is externalId (case-exact string).
	FieldExternalID Field = "externalId"
	// FieldUserName is the user's userName (case-insensitive string).
	FieldUserName Field = "userName"
	// FieldDisplayName is displayName (case-insensitive string).
	FieldDisplayName Field = "displayName"
	// FieldActive is the user's active flag (bool; eq, ne, pr).
	FieldActive Field = "active"
	// FieldEmail is emails.value (case-insensitive string); a user matches when any
	// of its emails (of type Cond.EmailType, when set) matches.
	FieldEmail Field = "emails.value"
	// FieldMember is members.value of a group (case-exact user id).
	FieldMember Field = "members.value"
	// FieldCreated is meta.created (time).
	FieldCreated Field = "meta.created"
	// FieldModified is meta.lastModified (time).
	FieldModified Field = "meta.lastModified"
)

// UserFields lists the fields a backend supports in ListUsers filters.
var UserFields = []Field{FieldID, FieldExternalID, FieldUserName, FieldDisplayName, FieldActive, FieldEmail, FieldCreated, FieldModified}

// GroupFields lists the fields a backend supports in ListGroups filters.
var GroupFields = []Field{FieldID, FieldExternalID, FieldDisplayName, FieldMember, FieldCreated, FieldModified}

// Op is a SCIM comparison operator (RFC 7644 §3.4.2.2).
type Op string

// Comparison operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpPr Op = "pr"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
)

// Cond compares one field with a value.
//
// Value is a string for string fields, a bool for FieldActive, a time.Time for the
// meta times, and nil for OpPr. Case-insensitive fields compare the lower-cased
// (strings.ToLower) forms of both sides. gt/ge/lt/le on strings compare
// lexicographically by bytes of those forms. ne on a multi-valued field
// (emails) matches when some value differs, as RFC 7644 defines for
// multi-valued attributes; a user without emails matches no emails condition
// except under Not.
type Cond struct {
	Field Field
	Op    Op
	Value any
	// EmailType restricts FieldEmail to emails of that type (compared
	// case-insensitively), as in emails[type eq "work"].value. "" means any type.
	EmailType string
}

func (And) isExpr()  {}
func (Or) isExpr()   {}
func (Not) isExpr()  {}
func (Cond) isExpr() {}

// Validate reports whether e only uses the given fields, operators valid for each
// field, and values of the right type.
func Validate(e Expr, fields []Field) error {
	switch e := e.(type) {
	case nil:
		return nil
	case And:
		for _, x := range e {
			if err := Validate(x, fields); err != nil {
				return err
			}
		}
		return nil
	case Or:
		for _, x := range e {
			if err := Validate(x, fields); err != nil {
				return err
			}
		}
		return nil
	case Not:
		return Validate(e.X, fields)
	case Cond:
		return e.validate(fields)
	default:
		return fmt.Errorf("unknown filter expression %T", e)
	}
}

func (c Cond) validate(fields []Field) error {
	known := false
	for _, f := range fields {
		if f == c.Field {
			known = true
			break
		}
	}
	if !known {
		return fmt.Errorf("field %q cannot be filtered here", c.Field)
	}
	if c.EmailType != "" && c.Field != FieldEmail {
		return fmt.Errorf("email type qualifier on field %q", c.Field)
	}
	switch c.Op {
	case OpPr:
		if c.Value != nil {
			return fmt.Errorf("operator pr takes no value")
		}
		return nil
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
	default:
		return fmt.Errorf("unknown operator %q", c.Op)
	}
	switch c.Field {
	case FieldActive:
		if _, ok := c.Value.(bool); !ok {
			return fmt.Errorf("field %q needs a boolean value", c.Field)
		}
		if c.Op != OpEq && c.Op != OpNe {
			return fmt.Errorf("operator %s is not defined for booleans", c.Op)
		}
	case FieldCreated, FieldModified:
		if _, ok := c.Value.(time.Time); !ok {
			return fmt.Errorf("field %q needs a time value", c.Field)
		}
		if c.Op == OpCo || c.Op == OpSw || c.Op == OpEw {
			return fmt.Errorf("operator %s is not defined for times", c.Op)
		}
	default:
		if _, ok := c.Value.(string); !ok {
			return fmt.Errorf("field %q needs a string value", c.Field)
		}
	}
	return nil
}
