package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/scim-bridge/scim-bridge/scim"
)

// Token sizes in random bytes. 32 bytes (256 bits) is far beyond guessing at
// any request rate; 16 is the least that still is (and, base64url-encoded,
// meets the 16-character minimum of a plain token); 512 keeps the header small.
const (
	defaultTokenBytes = 32
	minTokenBytes     = 16
	maxTokenBytes     = 512
)

const tokenUsage = `Usage: scim-bridge token [--bytes N]

Mints a random SCIM bearer token (crypto/rand, base64url) and prints it with
its sha256: form:

  - the token goes to the identity provider (Okta: "API Token" of the SCIM
    app's Provisioning > Integration; Entra ID: "Secret Token" under
    Provisioning > Admin Credentials). It is printed once and kept nowhere.
  - the sha256: form goes into the bridge's configuration (scim.tokens, or
    SCIM_BRIDGE_SCIM_TOKENS), so the configuration never holds the token.

Several tokens may be configured at once: to rotate, add the new one's
sha256: form, switch the IdP to the new token, then remove the old one.

Flags (-name and --name both work):
`

// runToken implements "scim-bridge token".
func runToken(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tokenUsage)
		fs.PrintDefaults()
	}
	size := defaultTokenBytes
	fs.Func("bytes", fmt.Sprintf("random `bytes` in the token, %d to %d (default %d)", minTokenBytes, maxTokenBytes, defaultTokenBytes), func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < minTokenBytes || n > maxTokenBytes {
			return fmt.Errorf("want a whole number from %d to %d", minTokenBytes, maxTokenBytes)
		}
		size = n
		return nil
	})
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	token, hash, err := mintToken(rand.Reader, size)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge token: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, `Token for the identity provider (shown once; the bridge does not keep it):

  %s

Configuration form for the bridge (scim.tokens or SCIM_BRIDGE_SCIM_TOKENS):

  %s

Give the token to the IdP (Okta: API Token of the SCIM app's provisioning
integration; Entra ID: Secret Token under Admin Credentials) and put only the
sha256: form in the bridge's configuration, which then holds nothing an
attacker could replay. Several tokens may be configured at once, so rotate
without downtime: add the new sha256: entry, switch the IdP to the new token,
then remove the old entry.
`, token, hash)
	return exitOK
}

// mintToken reads n random bytes from r and returns them base64url-encoded
// (no padding) together with the token's configuration form "sha256:<hex>".
func mintToken(r io.Reader, n int) (token, hash string, err error) {
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", "", fmt.Errorf("read random bytes: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	h, err := scim.ParseToken(token)
	if err != nil {
		return "", "", fmt.Errorf("mint token: %w", err)
	}
	return token, h.String(), nil
}
