package scim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TokenHash is the SHA-256 digest of a SCIM bearer token. The bridge keeps and
// compares only digests, so its configuration need not hold the tokens.
type TokenHash [sha256.Size]byte

// ParseToken accepts a configured token: either "sha256:<64 hex digits>" (the
// digest of the token) or the plain token itself, which is hashed at once.
func ParseToken(s string) (TokenHash, error) {
	var h TokenHash
	if rest, ok := strings.CutPrefix(s, "sha256:"); ok {
		raw, err := hex.DecodeString(rest)
		if err != nil || len(raw) != sha256.Size {
			return h, errors.New("a sha256: token must be followed by 64 hexadecimal digits")
		}
		copy(h[:], raw)
		return h, nil
	}
	if len(s) < 16 {
		return h, fmt.Errorf("a plain token must be at least 16 characters long (got %d); mint one with \"scim-bridge token\"", len(s))
	}
	return sha256.Sum256([]byte(s)), nil
}

// Fingerprint is a short, non-secret name for the token, used in audit events
// and logs ("3f2a9c1d").
func (h TokenHash) Fingerprint() string { return hex.EncodeToString(h[:4]) }

// String returns the configuration form "sha256:<hex>".
func (h TokenHash) String() string { return "sha256:" + hex.EncodeToString(h[:]) }

// authenticator checks presented tokens against the configured digests.
type authenticator struct{ tokens []TokenHash }

// check returns the matching token's digest. Every configured digest is compared
// in constant time, so the time taken does not reveal which one matched or how
// much of a guess was right.
func (a authenticator) check(header string) (TokenHash, bool) {
	presented, ok := bearer(header)
	if !ok {
		return TokenHash{}, false
	}
	sum := sha256.Sum256([]byte(presented))
	var match TokenHash
	found := 0
	for _, t := range a.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], t[:])
		if eq == 1 {
			match = t
		}
		found |= eq
	}
	return match, found == 1
}

// bearer extracts the token from an Authorization header value. Besides
// "Bearer <token>" it accepts a bare token, which Okta's "HTTP Header" mode sends.
func bearer(header string) (string, bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", false
	}
	if scheme, rest, ok := strings.Cut(header, " "); ok {
		if !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		header = strings.TrimSpace(rest)
	}
	return header, header != ""
}
