package bridge

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"3f2a9c1d-0000-4000-8000-000000000000": true, "u1": true, "ünïcode": true, strings.Repeat("i", MaxIDBytes): true,
		"": false, "a\x00b": false, "\xff": false, "a\xc0\xafb": false, "\xed\xa0\x80": false, strings.Repeat("i", MaxIDBytes+1): false,
	} {
		require.Equal(t, want, ValidID(id), "%q", id)
	}
}

func TestNormalizeEmailLength(t *testing.T) {
	local := func(n int) string { return strings.Repeat("a", n-len("@example.com")) }
	_, ok := NormalizeEmail(local(MaxEmailChars) + "@example.com")
	require.True(t, ok)
	_, ok = NormalizeEmail(local(MaxEmailChars+1) + "@example.com")
	require.False(t, ok, "an address over 254 characters is no BigCommerce identity")
	_, ok = NormalizeEmail("a\x00@example.com")
	require.False(t, ok)
}

func TestBuildRefusesUnstorableValues(t *testing.T) {
	s := &Service{source: EmailAuto}
	many := make([]any, MaxValues+1)
	for i := range many {
		many[i] = "r"
	}
	for name, attrs := range map[string]map[string]any{
		"NUL in a value":       {"userName": "u", "title": "a\x00"},
		"NUL in a nested key":  {"userName": "u", "name": map[string]any{"given\x00": "x"}},
		"invalid UTF-8":        {"userName": "u", "name": map[string]any{"givenName": "\xff"}},
		"too many values":      {"userName": "u", "roles": many},
		"long userName":        {"userName": strings.Repeat("u", MaxUserNameBytes+1)},
		"long externalId":      {"userName": "u", "externalId": strings.Repeat("e", MaxExternalIDBytes+1)},
		"long displayName":     {"userName": "u", "displayName": strings.Repeat("d", MaxDisplayNameBytes+1)},
		"long email":           {"userName": "u", "emails": []any{map[string]any{"value": strings.Repeat("é", MaxEmailChars+1)}}},
		"long email type":      {"userName": "u", "emails": []any{map[string]any{"value": "a@b.c", "type": strings.Repeat("t", MaxEmailTypeBytes+1)}}},
		"NUL in an email type": {"userName": "u", "emails": []any{map[string]any{"value": "a@b.c", "type": "\x00"}}},
	} {
		_, err := s.buildUser(attrs, nil)
		require.ErrorIs(t, err, ErrInvalid, name)
		var ie *InvalidError
		require.True(t, errors.As(err, &ie))
		require.NotContains(t, ie.Error(), "\x00", name)
	}
	_, err := s.buildUser(map[string]any{"userName": "u", "emails": []any{map[string]any{"value": strings.Repeat("é", MaxEmailChars)}}}, nil)
	require.NoError(t, err, "the email limit counts characters, not bytes")
	_, err = buildGroup(map[string]any{"displayName": strings.Repeat("g", MaxDisplayNameBytes+1)})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = buildGroup(map[string]any{"displayName": "g\x00"})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = checkMemberChange(MemberChange{Add: []string{"u\x00"}})
	require.ErrorIs(t, err, ErrInvalid)
	mc, err := checkMemberChange(MemberChange{Remove: []string{"u1", "u\x00", strings.Repeat("x", MaxIDBytes+1)}})
	require.NoError(t, err)
	require.Equal(t, []string{"u1"}, mc.Remove, "impossible ids are no members")
}
