package bridge

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// EmailSource says which SCIM attribute gives a user's BigCommerce identity.
type EmailSource string

// Email sources.
const (
	// EmailAuto uses userName when it is an email address, otherwise the primary
	// email, otherwise the first work email, otherwise the first email. Default.
	EmailAuto EmailSource = "auto"
	// EmailUserName uses userName only; users whose userName is not an email
	// address get no BigCommerce identity.
	EmailUserName EmailSource = "userName"
	// EmailPrimary ignores userName and uses the primary email, otherwise the first
	// work email, otherwise the first email.
	EmailPrimary EmailSource = "primaryEmail"
)

// ParseEmailSource parses a configured email source ("" means EmailAuto).
func ParseEmailSource(s string) (EmailSource, error) {
	switch EmailSource(s) {
	case "", EmailAuto:
		return EmailAuto, nil
	case EmailUserName, EmailPrimary:
		return EmailSource(s), nil
	}
	return "", fmt.Errorf("unknown email source %q (want %s, %s or %s)", s, EmailAuto, EmailUserName, EmailPrimary)
}

// NormalizeEmail returns the canonical form of an email address used as a
// BigCommerce identity (trimmed, lower-cased) and whether s is a plain address
// (local@domain, no display name, no spaces, at most MaxEmailChars characters).
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > MaxEmailChars || strings.ContainsAny(s, " \t\r\n<>\x00") {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.EqualFold(a.Address, s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// BigCommerceEmail derives a user's BigCommerce identity according to src. It
// returns "" when the user has no usable email address.
func BigCommerceEmail(src EmailSource, userName string, emails []store.Email) string {
	if src != EmailPrimary {
		if e, ok := NormalizeEmail(userName); ok {
			return e
		}
		if src == EmailUserName {
			return ""
		}
	}
	pick := func(keep func(store.Email) bool) string {
		for _, e := range emails {
			if keep(e) {
				if n, ok := NormalizeEmail(e.Value); ok {
					return n
				}
			}
		}
		return ""
	}
	if e := pick(func(e store.Email) bool { return e.Primary }); e != "" {
		return e
	}
	if e := pick(func(e store.Email) bool { return strings.EqualFold(e.Type, "work") }); e != "" {
		return e
	}
	return pick(func(store.Email) bool { return true })
}
