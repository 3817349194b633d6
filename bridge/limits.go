package bridge

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what a write may store and on the ids a lookup may name. They hold
// for both store backends alike, so that a request either fits every backend
// or is refused before any of them sees it. The lengths of indexed strings are
// chosen well under PostgreSQL's limit on a B-tree index entry (about 2,700
// bytes), also after lower-casing (which can grow a string by half) and with
// the other columns of the index.
const (
	// MaxIDBytes is the longest resource id, in bytes. The bridge issues
	// 36-byte UUIDs; a longer id cannot exist, so a lookup by one finds nothing.
	MaxIDBytes = 1024
	// MaxUserNameBytes is the longest userName, in bytes of UTF-8.
	MaxUserNameBytes = 1024
	// MaxExternalIDBytes is the longest externalId (users and groups), in bytes.
	MaxExternalIDBytes = 1024
	// MaxDisplayNameBytes is the longest displayName (users and groups), in bytes.
	MaxDisplayNameBytes = 1024
	// MaxEmailChars is the longest emails[].value, in characters: an email
	// address has at most 254 (RFC 5321's limit on a forward path, less its
	// angle brackets). Longer addresses cannot be a BigCommerce identity either.
	MaxEmailChars = 254
	// MaxEmailTypeBytes is the longest emails[].type ("work", "home", ...), in
	// bytes; the type is indexed together with the address.
	MaxEmailTypeBytes = 64
	// MaxValues is the most values one multi-valued attribute of a resource may
	// hold (emails, phoneNumbers, roles, entitlements, ...; group members are
	// counted by MaxMembers instead). No IdP sends more than a handful; lists
	// of a few hundred roles still fit.
	MaxValues = 1000
	// MaxMembers is the most members one group write may name (a POST or PUT's
	// member list, or the members a PATCH adds or removes). It matches what
	// fits the default 1 MiB request body; the size of a group is not limited.
	MaxMembers = 10000
)

// ValidID reports whether id could be the id of a stored resource: non-empty,
// valid UTF-8 without NUL, at most MaxIDBytes long. A lookup by any other id
// finds nothing (ErrNotFound) without asking the store, whose backends would
// disagree on such bytes.
func ValidID(id string) bool {
	return id != "" && len(id) <= MaxIDBytes && storable(id)
}

// storable reports whether s is valid UTF-8 without NUL, which every backend
// stores and compares alike (PostgreSQL refuses NUL and invalid UTF-8 in text).
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkStrings walks a document (as decoded from JSON, before canonical form)
// and refuses NUL and invalid UTF-8 in any key or string, and multi-valued
// attributes with more than MaxValues values. Errors name the top-level
// attribute, never the value.
func checkStrings(attrs map[string]any) error {
	for k, v := range attrs {
		if !storable(k) {
			return &InvalidError{Attribute: "resource", Reason: "an attribute name contains a NUL character or invalid UTF-8"}
		}
		if err := checkValue(k, v, 0); err != nil {
			return err
		}
	}
	return nil
}

// maxDepth bounds the nesting checkValue follows; SCIM documents nest three
// levels (extension, complex attribute, sub-attribute).
const maxDepth = 16

func checkValue(attr string, v any, depth int) error {
	if depth > maxDepth {
		return &InvalidError{Attribute: attr, Reason: "nests too deeply"}
	}
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return &InvalidError{Attribute: attr, Reason: "contains a NUL character"}
		}
		if !utf8.ValidString(x) {
			return &InvalidError{Attribute: attr, Reason: "is not valid UTF-8"}
		}
	case map[string]any:
		for k, e := range x {
			if !storable(k) {
				return &InvalidError{Attribute: attr, Reason: "has a sub-attribute name with a NUL character or invalid UTF-8"}
			}
			if err := checkValue(attr, e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if len(x) > MaxValues {
			return &InvalidError{Attribute: attr, Reason: fmt.Sprintf("has more than %d values", MaxValues)}
		}
		for _, e := range x {
			if err := checkValue(attr, e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLength refuses a string attribute longer than max bytes.
func checkLength(attr, s string, max int) error {
	if len(s) > max {
		return &InvalidError{Attribute: attr, Reason: fmt.Sprintf("is longer than %d bytes", max)}
	}
	return nil
}

// checkMemberIDs refuses a member list that names more than MaxMembers users
// or a value that cannot be a user id.
func checkMemberIDs(ids []string) error {
	if len(ids) > MaxMembers {
		return &InvalidError{Attribute: "members", Reason: fmt.Sprintf("names more than %d members in one request", MaxMembers)}
	}
	for _, id := range ids {
		if !ValidID(id) {
			return &InvalidError{Attribute: "members", Reason: "references a user that does not exist"}
		}
	}
	return nil
}
