package resource

import (
	"fmt"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Schema URNs of the resources the bridge serves.
const (
	// UserURN is the core User schema (RFC 7643 §4.1).
	UserURN = schema.UserSchema
	// GroupURN is the core Group schema (RFC 7643 §4.2).
	GroupURN = schema.GroupSchema
	// EnterpriseURN is the enterprise User extension (RFC 7643 §4.3).
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// SyncExtensionURN is the bridge's own read-only User extension that reports
	// how far the user's downstream (BigCommerce) state has been applied.
	SyncExtensionURN = "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User"
)

// Attribute types, as named by RFC 7643 §2.3 and returned by Attribute.Type.
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeReference = "reference"
	TypeBinary    = "binary"
	TypeComplex   = "complex"
)

// Attribute characteristics (RFC 7643 §7), as returned by Attribute.Mutability
// and Attribute.Returned.
const (
	MutabilityReadOnly  = "readOnly"
	MutabilityReadWrite = "readWrite"
	MutabilityImmutable = "immutable"
	MutabilityWriteOnly = "writeOnly"

	ReturnedAlways  = "always"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
	ReturnedNever   = "never"
)

// Attribute describes one attribute or sub-attribute of a resource type, as
// indexed by Schema. Attributes are shared by every caller and must not be
// modified.
type Attribute struct {
	// Name is the canonical attribute name ("givenName").
	Name string
	// Path is the canonical path: "name.givenName" for the core schema and the
	// common attributes, "urn:…:User:manager.value" for extension attributes.
	Path string
	// SchemaURN is the URN of the schema defining the attribute (the core
	// schema's URN for the common attributes id, externalId, meta and schemas).
	SchemaURN string
	// Type is one of the Type* constants.
	Type string
	// MultiValued, CaseExact and Required are the RFC 7643 characteristics.
	MultiValued, CaseExact, Required bool
	// Mutability, Returned and Uniqueness are the RFC 7643 characteristics
	// ("readOnly", "default", "server", ...).
	Mutability, Returned, Uniqueness string
	// SubAttributes lists the sub-attributes of a complex attribute.
	SubAttributes []*Attribute
	// Parent is the attribute a sub-attribute belongs to (nil at top level).
	Parent *Attribute

	// extension reports whether the attribute lives in an extension object
	// (doc[SchemaURN][Name]) rather than at the top level of the document.
	extension bool
	// field is the store field the attribute maps to ("" when not indexed).
	field store.Field
	// absentable reports whether a resource may lack the (single-valued,
	// string) attribute, which the store then represents as "".
	absentable bool
}

// ReadOnly reports whether clients may never write the attribute (mutability
// readOnly, or a sub-attribute of a readOnly attribute).
func (a *Attribute) ReadOnly() bool {
	for x := a; x != nil; x = x.Parent {
		if x.Mutability == MutabilityReadOnly {
			return true
		}
	}
	return false
}

// Sub returns the sub-attribute with the given name (case-insensitive), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// valueSub returns the "value" sub-attribute of a complex attribute, or nil.
func (a *Attribute) valueSub() *Attribute {
	if a.Type != TypeComplex {
		return nil
	}
	return a.Sub("value")
}

// extensionSchema is one extension of a resource type, indexed.
type extensionSchema struct {
	urn    string
	def    schema.Schema
	attrs  []*Attribute
	byName map[string]*Attribute
	// readOnly reports whether every attribute of the extension is readOnly, so
	// that clients can never write into it (the bridge's sync extension).
	readOnly bool
}

// Schema describes one resource type (User or Group): its core schema, its
// extensions, and an index of every attribute. A Schema is immutable and safe
// for concurrent use.
type Schema struct {
	name   string
	core   schema.Schema
	exts   []*extensionSchema
	top    []*Attribute
	byName map[string]*Attribute
	fields []store.Field
}

// UserSchema returns the User resource type: the core User schema, the
// enterprise extension and the bridge's sync extension.
func UserSchema() *Schema {
	s := newSchema("User", coreUserSchema(), []schema.Schema{schema.ExtensionEnterpriseUser(), syncExtension()}, store.UserFields)
	s.setField("id", store.FieldID, false)
	s.setField("externalId", store.FieldExternalID, true)
	s.setField("userName", store.FieldUserName, false)
	s.setField("displayName", store.FieldDisplayName, true)
	s.setField("active", store.FieldActive, false)
	s.setField("emails.value", store.FieldEmail, false)
	s.setField("meta.created", store.FieldCreated, false)
	s.setField("meta.lastModified", store.FieldModified, false)
	return s
}

// GroupSchema returns the Group resource type (core Group schema, no
// extensions).
func GroupSchema() *Schema {
	s := newSchema("Group", coreGroupSchema(), nil, store.GroupFields)
	s.setField("id", store.FieldID, false)
	s.setField("externalId", store.FieldExternalID, true)
	s.setField("displayName", store.FieldDisplayName, false)
	s.setField("members.value", store.FieldMember, false)
	s.setField("meta.created", store.FieldCreated, false)
	s.setField("meta.lastModified", store.FieldModified, false)
	return s
}

// coreUserSchema is RFC 7643's User schema as the bridge serves it: its
// descriptions of userName, active and emails say what the bridge enforces
// (the BigCommerce identity is unique among active users; an absent active
// never grants access; the length limits), and emails.value has uniqueness
// "server", since a write that gives two active users one BigCommerce email
// is refused with 409 uniqueness.
func coreUserSchema() schema.Schema {
	c := schema.CoreUserSchema()
	for i, a := range c.Attributes {
		switch a.Name() {
		case "userName":
			c.Attributes[i] = a.WithDescription(optional.NewString(fmt.Sprintf(
				"Unique identifier for the User, at most %d bytes. REQUIRED. Unique case-insensitively: a userName that differs from "+
					"another user's only in case is refused with 409 uniqueness. When it is an email address it is the user's BigCommerce "+
					"identity, which two active users may not share (see emails).", bridge.MaxUserNameBytes)))
		case "active":
			c.Attributes[i] = a.WithDescription(optional.NewString(
				"Whether the user may sign in to BigCommerce. A user created without active is active. On an existing user an absent " +
					"active (a PUT without it, a PATCH that removes it or sets it to null) keeps the user's current state: it never grants access."))
		case "emails":
			c.Attributes[i] = emailsAttribute()
		}
	}
	return c
}

// emailsAttribute is the core emails attribute with the bridge's uniqueness
// and limits.
func emailsAttribute() schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description: optional.NewString(fmt.Sprintf("Email addresses for the user (at most %d); canonical types work, home and other. "+
			"The user's BigCommerce identity is, by default, the userName when it is an email address, otherwise the primary email, "+
			"otherwise the first work email, otherwise the first email. Two active users may not share a BigCommerce identity: a write "+
			"that would make them is refused with 409 uniqueness.", bridge.MaxValues)),
		MultiValued: true,
		Name:        "emails",
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString(fmt.Sprintf("An email address, at most %d characters. Unique (case-insensitively) among "+
					"active users when it is the user's BigCommerce identity; other addresses, and inactive users, may repeat it.", bridge.MaxEmailChars)),
				Name:       "value",
				Uniqueness: schema.AttributeUniquenessServer(),
			}),
			schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("A human-readable name, primarily used for display purposes."),
				Name:        "display",
			}),
			schema.SimpleStringParams(schema.StringParams{
				CanonicalValues: []string{"work", "home", "other"},
				Description:     optional.NewString(fmt.Sprintf("A label indicating the attribute's function, e.g., 'work' or 'home'; at most %d bytes.", bridge.MaxEmailTypeBytes)),
				Name:            "type",
			}),
			schema.SimpleBooleanParams(schema.BooleanParams{
				Description: optional.NewString("Whether this is the primary address; true appears at most once."),
				Name:        "primary",
			}),
		},
	})
}

// coreGroupSchema is RFC 7643's Group schema as the bridge serves it:
// members.display is readOnly, because the bridge shows each member's current
// userName there (a client's display is ignored; members are stored as ids).
func coreGroupSchema() schema.Schema {
	c := schema.CoreGroupSchema()
	for i, a := range c.Attributes {
		switch a.Name() {
		case "displayName":
			c.Attributes[i] = a.WithDescription(optional.NewString(fmt.Sprintf(
				"A human-readable name for the Group, at most %d bytes, unique case-insensitively. REQUIRED. A group whose name "+
					"matches a BigCommerce store (or is mapped to one) grants its members access to that store.", bridge.MaxDisplayNameBytes)))
		case "members":
			c.Attributes[i] = schema.ComplexCoreAttribute(schema.ComplexParams{
				Description: optional.NewString(fmt.Sprintf("A list of members of the Group (users; at most %d named in one request).", bridge.MaxMembers)),
				MultiValued: true,
				Name:        "members",
				SubAttributes: []schema.SimpleParams{
					schema.SimpleStringParams(schema.StringParams{
						Description: optional.NewString("Identifier of the member of this Group (a user id)."),
						Mutability:  schema.AttributeMutabilityImmutable(),
						Name:        "value",
					}),
					schema.SimpleReferenceParams(schema.ReferenceParams{
						Description:    optional.NewString("The URI corresponding to a SCIM resource that is a member of this Group."),
						Mutability:     schema.AttributeMutabilityImmutable(),
						Name:           "$ref",
						ReferenceTypes: []schema.AttributeReferenceType{"User", "Group"},
					}),
					schema.SimpleStringParams(schema.StringParams{
						CanonicalValues: []string{"User", "Group"},
						Description:     optional.NewString("A label indicating the type of resource, e.g., 'User' or 'Group'."),
						Mutability:      schema.AttributeMutabilityImmutable(),
						Name:            "type",
					}),
					schema.SimpleStringParams(schema.StringParams{
						Description: optional.NewString("The member's current userName, maintained by the bridge; a display sent by a client is ignored."),
						Mutability:  schema.AttributeMutabilityReadOnly(),
						Name:        "display",
					}),
				},
			})
		}
	}
	return c
}

// syncExtension defines the bridge's read-only User extension.
func syncExtension() schema.Schema {
	ro := schema.AttributeMutabilityReadOnly()
	return schema.Schema{
		ID:          SyncExtensionURN,
		Name:        optional.NewString("BigCommerce synchronisation"),
		Description: optional.NewString("Read-only state of the user's synchronisation to BigCommerce, maintained by scim-bridge."),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:            "syncState",
				CanonicalValues: []string{store.SyncPending, store.SyncSynced, store.SyncFailed},
				CaseExact:       true,
				Mutability:      ro,
				Description:     optional.NewString("Whether the user's latest SCIM change has been applied to BigCommerce: pending, synced or failed."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{
				Name:        "lastSyncedAt",
				Mutability:  ro,
				Description: optional.NewString("When the user's last downstream change was applied to BigCommerce."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:        "bigcommerceUserId",
				CaseExact:   true,
				Mutability:  ro,
				Description: optional.NewString("The user's identifier in the BigCommerce account, once known."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:        "bigcommerceEmail",
				Mutability:  ro,
				Description: optional.NewString("The email address the bridge uses as the user's BigCommerce identity."),
			})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:        "lastError",
				CaseExact:   true,
				Mutability:  ro,
				Description: optional.NewString("A short description of the last downstream failure, if the last attempt failed."),
			})),
		},
	}
}

// isIDReference reports whether the sub-attribute at path holds a resource id.
// RFC 7643 §3.1 makes ids case-exact, and the store compares members.value
// case-exactly, but elimity's schema constructors leave caseExact false for
// these sub-attributes, so the index overrides it.
func isIDReference(path string) bool {
	switch path {
	case "members.value", "groups.value", EnterpriseURN + ":manager.value":
		return true
	}
	return false
}

func newSchema(name string, core schema.Schema, exts []schema.Schema, fields []store.Field) *Schema {
	s := &Schema{
		name:   name,
		core:   core,
		byName: map[string]*Attribute{},
		fields: fields,
	}
	for _, ca := range schema.CommonAttributes() {
		a := indexAttribute(ca, core.ID, "", false)
		if a.Name == "schemas" {
			a.Returned = ReturnedAlways
		}
		s.addTop(a)
	}
	for _, ca := range core.Attributes {
		s.addTop(indexAttribute(ca, core.ID, "", false))
	}
	for _, def := range exts {
		e := &extensionSchema{urn: def.ID, def: def, byName: map[string]*Attribute{}, readOnly: true}
		for _, ca := range def.Attributes {
			a := indexAttribute(ca, def.ID, def.ID+":", true)
			e.attrs = append(e.attrs, a)
			e.byName[strings.ToLower(a.Name)] = a
			if a.Mutability != MutabilityReadOnly {
				e.readOnly = false
			}
		}
		s.exts = append(s.exts, e)
	}
	return s
}

func (s *Schema) addTop(a *Attribute) {
	key := strings.ToLower(a.Name)
	if _, dup := s.byName[key]; dup {
		return
	}
	s.byName[key] = a
	s.top = append(s.top, a)
}

func indexAttribute(ca schema.CoreAttribute, urn, prefix string, ext bool) *Attribute {
	a := &Attribute{
		Name:        ca.Name(),
		Path:        prefix + ca.Name(),
		SchemaURN:   urn,
		Type:        ca.AttributeType(),
		MultiValued: ca.MultiValued(),
		CaseExact:   ca.CaseExact(),
		Required:    ca.Required(),
		Mutability:  ca.Mutability(),
		Returned:    ca.Returned(),
		Uniqueness:  ca.Uniqueness(),
		extension:   ext,
	}
	for _, sc := range ca.SubAttributes() {
		sub := indexAttribute(sc, urn, a.Path+".", ext)
		sub.Parent = a
		if isIDReference(sub.Path) {
			sub.CaseExact = true
		}
		a.SubAttributes = append(a.SubAttributes, sub)
	}
	return a
}

func (s *Schema) setField(path string, f store.Field, absentable bool) {
	a, ok := s.Lookup(path)
	if !ok {
		panic("resource: unknown indexed attribute " + path) // programming error in this file
	}
	a.field = f
	a.absentable = absentable
}

// Name returns the resource type's name ("User" or "Group").
func (s *Schema) Name() string { return s.name }

// URN returns the core schema's URN.
func (s *Schema) URN() string { return s.core.ID }

// Core returns the core schema, for building elimity's ResourceType and the
// /Schemas endpoint. Each call returns a copy.
func (s *Schema) Core() schema.Schema {
	c := s.core
	c.Attributes = append(schema.Attributes(nil), s.core.Attributes...)
	return c
}

// Extensions returns the schema extensions of the resource type (all optional).
// Each call returns copies.
func (s *Schema) Extensions() []schema.Schema {
	out := make([]schema.Schema, 0, len(s.exts))
	for _, e := range s.exts {
		d := e.def
		d.Attributes = append(schema.Attributes(nil), e.def.Attributes...)
		out = append(out, d)
	}
	return out
}

// SchemaExtensions returns Extensions in the form elimity's ResourceType
// expects, each with Required false.
func (s *Schema) SchemaExtensions() []scim.SchemaExtension {
	var out []scim.SchemaExtension
	for _, d := range s.Extensions() {
		out = append(out, scim.SchemaExtension{Schema: d, Required: false})
	}
	return out
}

// Fields returns the store fields the resource type's filters may push down
// (store.UserFields or store.GroupFields).
func (s *Schema) Fields() []store.Field { return s.fields }

// Attributes returns the top-level attributes of the core schema and the
// common attributes (id, externalId, meta, schemas), in schema order.
func (s *Schema) Attributes() []*Attribute { return append([]*Attribute(nil), s.top...) }

// ExtensionAttributes returns the attributes of the extension with the given
// URN (case-insensitive), or nil when the resource type has no such extension.
func (s *Schema) ExtensionAttributes(urn string) []*Attribute {
	if e := s.extension(urn); e != nil {
		return append([]*Attribute(nil), e.attrs...)
	}
	return nil
}

// Lookup resolves an attribute path case-insensitively: a top-level name
// ("userName"), a sub-attribute ("name.givenName", "emails.value"), or a
// URN-qualified name ("urn:…:enterprise:2.0:User:manager.value",
// "urn:…:core:2.0:User:userName"). A name without URN that is not a core or
// common attribute is looked up in the extensions, in order.
func (s *Schema) Lookup(path string) (*Attribute, bool) {
	urn, name, sub := splitAttrPath(path)
	top, subAttr, ok := s.resolve(urn, name, sub)
	if !ok {
		return nil, false
	}
	if subAttr != nil {
		return subAttr, true
	}
	return top, true
}

// splitAttrPath splits "urn:…:name.sub" into its parts. The URN is everything
// before the last colon; the sub-attribute follows the first dot after it.
func splitAttrPath(p string) (urn, name, sub string) {
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		urn, p = p[:i], p[i+1:]
	}
	if j := strings.IndexByte(p, '.'); j >= 0 {
		return urn, p[:j], p[j+1:]
	}
	return urn, p, ""
}

// resolve finds the attribute named by (urn, name, sub). sub may be "".
func (s *Schema) resolve(urn, name, sub string) (top, subAttr *Attribute, ok bool) {
	key := strings.ToLower(name)
	switch {
	case urn == "":
		top = s.byName[key]
		if top == nil {
			for _, e := range s.exts {
				if a := e.byName[key]; a != nil {
					top = a
					break
				}
			}
		}
	case strings.EqualFold(urn, s.core.ID):
		top = s.byName[key]
	default:
		if e := s.extension(urn); e != nil {
			top = e.byName[key]
		}
	}
	if top == nil {
		return nil, nil, false
	}
	if sub == "" {
		return top, nil, true
	}
	subAttr = top.Sub(sub)
	if subAttr == nil {
		return nil, nil, false
	}
	return top, subAttr, true
}

// extension returns the extension with the given URN (case-insensitive).
func (s *Schema) extension(urn string) *extensionSchema {
	for _, e := range s.exts {
		if strings.EqualFold(e.urn, urn) {
			return e
		}
	}
	return nil
}

// isCoreOrExtensionURN reports whether urn names the core schema or one of the
// extensions (case-insensitive).
func (s *Schema) isCoreOrExtensionURN(urn string) bool {
	return strings.EqualFold(urn, s.core.ID) || s.extension(urn) != nil
}
