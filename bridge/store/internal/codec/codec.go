// Package codec is the storage form of a record's JSON columns, shared by the
// SQLite and PostgreSQL backends so that both keep exactly the same format.
package codec

import (
	"encoding/json"
	"fmt"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// emailJSON is the stored form of one store.Email (users.emails column). It is
// declared here rather than relying on store.Email's field names so that the
// storage format does not change when the record type does.
type emailJSON struct {
	Value   string `json:"v"`
	Type    string `json:"t,omitempty"`
	Primary bool   `json:"p,omitempty"`
}

// EncodeEmails returns the stored form of a user's emails.
func EncodeEmails(es []store.Email) (string, error) {
	out := make([]emailJSON, len(es))
	for i, e := range es {
		out[i] = emailJSON(e)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode emails: %w", err)
	}
	return string(b), nil
}

// EncodeUser returns the stored forms of a user's emails and attributes
// columns.
func EncodeUser(u store.User) (emails, attrs string, err error) {
	if emails, err = EncodeEmails(u.Emails); err != nil {
		return "", "", err
	}
	if attrs, err = EncodeAttributes(u.Attributes); err != nil {
		return "", "", err
	}
	return emails, attrs, nil
}

// DecodeEmails returns nil for an empty list. What the store writes is read on
// a fast path (decodeEmails); anything else goes to json.Unmarshal, so the
// result and the errors are always json.Unmarshal's.
func DecodeEmails(s string) ([]store.Email, error) {
	if s == "[]" {
		return nil, nil
	}
	if out, ok := decodeEmails(s); ok {
		return out, nil
	}
	out, err := unmarshalEmails(s)
	if err != nil {
		return nil, fmt.Errorf("decode emails: %w", err)
	}
	return out, nil
}

// unmarshalEmails decodes s with json.Unmarshal: the definition of what
// DecodeEmails returns, for whatever its fast path leaves.
func unmarshalEmails(s string) ([]store.Email, error) {
	var in []emailJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]store.Email, len(in))
	for i, e := range in {
		out[i] = store.Email(e)
	}
	return out, nil
}

// EncodeAttributes stores a nil map as JSON null and an empty one as {}, so both
// read back as they were written.
func EncodeAttributes(m map[string]any) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode attributes: %w", err)
	}
	return string(b), nil
}

// DecodeAttributes reads what EncodeAttributes wrote.
func DecodeAttributes(s string) (map[string]any, error) {
	m, err := decodeObject(s)
	if err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	return m, nil
}
