package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on addresses from RFC 5321 section 4.5.3.1: 64 octets of local part,
// 254 octets for a whole forward path we can deliver to.
const (
	maxEmailLen = 254
	maxLocalLen = 64
)

// NormalizeEmail checks an address and returns the form to store and the key
// that makes it unique.
//
// The decision on the local part: RFC 5321 lets a server treat it as case
// sensitive, but no mail system in use does, and members type their address
// in whatever case their phone chose. So the stored address keeps the local
// part as typed (mail goes exactly where the member asked), the domain is
// lower-cased, and uniqueness is on the fully lower-cased address: "Ada@X.org"
// and "ada@x.org" are one account. Dots and "+tags" are kept: stripping them
// is only right for some providers and would merge distinct mailboxes.
func NormalizeEmail(raw string) (email, key string, err error) {
	s := strings.TrimSpace(raw)
	bad := func(reason string) (string, string, error) {
		return "", "", &Error{Code: EInvalidEmail, Reason: reason, Field: "email", Detail: "not a valid email address"}
	}
	switch {
	case s == "":
		return bad("empty")
	case !utf8.ValidString(s):
		return bad("invalid_utf8")
	case len(s) > maxEmailLen:
		return bad("too_long")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return bad("malformed")
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || at > maxLocalLen {
		return bad("malformed")
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if !validDomain(domain) {
		return bad("malformed")
	}
	email = local + "@" + domain
	// net/mail applies RFC 5322's grammar to the local part (quoting, dots);
	// the address must parse as itself, without a display name.
	if a, perr := mail.ParseAddress(email); perr != nil || a.Address != email || a.Name != "" {
		return bad("malformed")
	}
	return email, strings.ToLower(email), nil
}

// validDomain accepts a dotted host name of at least two labels; internal
// single-label domains cannot receive mail from the outside world.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	return true
}

// MaskEmail shortens an address to what a page or mail may show of it,
// "a…@example.com": its owner recognises it, anyone else learns little.
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "…"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "…@" + domain
}
