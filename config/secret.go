package config

import (
	"encoding/json"

	"go.uber.org/zap/zapcore"
)

// Secret is a string that never shows its value when printed, marshalled or
// logged: it renders as "<secret>" (or "" when empty). Use Value to read it.
type Secret string

const redacted = "<secret>"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, so %#v does not leak it either.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalJSON renders the secret redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML renders the secret redacted.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText renders the secret redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a secret (YAML and JSON decoding go through it).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// MarshalLogObject lets zap log a Secret field as "<secret>".
func (s Secret) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("value", s.String())
	return nil
}
