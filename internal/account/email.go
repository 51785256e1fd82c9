package account

import (
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Limits on addresses from RFC 5321 section 4.5.3.1: 64 octets of local part,
// 254 octets for a whole forward path we can deliver to (counted with the
// domain in its ASCII form, as it travels in SMTP).
const (
	maxEmailLen = 254
	maxLocalLen = 64
)

// Reasons NormalizeEmail gives with EInvalidEmail. They are stable: the API
// sends them and pages pick their words by them.
const (
	EmailEmpty       = "empty"
	EmailInvalidUTF8 = "invalid_utf8"
	EmailTooLong     = "too_long"
	EmailMalformed   = "malformed"
	// EmailInvisible: a format character (Unicode category Cf) — zero-width
	// spaces and joiners, direction marks and overrides, the soft hyphen, a
	// byte-order mark. Nobody types one into an address on purpose; an
	// address holding one looks like another on screen.
	EmailInvisible = "invisible_character"
	// EmailLookalike: a character that Unicode itself treats as another
	// one — a compatibility form NFKC would replace (full-width letters,
	// ligatures, superscripts, circled letters) or a canonical singleton
	// NFC would replace (the Kelvin sign K, the Ohm sign Ω, the Ångström
	// sign Å).
	EmailLookalike = "lookalike_character"
)

// idnaProfile turns a domain into its one spelling: UTS #46 mapping for
// lookup (case folded, non-transitional, so "faß.de" stays itself), the
// IDNA2008 label rules, the bidi rule, STD3 host names and DNS lengths.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// NormalizeEmail checks an address and returns the form to store and the key
// that makes it unique. It is the one place keyshift decides which typed
// addresses are the same account: sign-up, every sign-in by address
// (password, email, recovery code, username-first passkey), email change,
// import and the throttle keys of addresses all go through it.
//
// The canonical form (docs/security.md, T19):
//
//   - trimmed; refused when it holds a format character (EmailInvisible) or
//     a character Unicode maps to another one (EmailLookalike), so that no
//     two distinct-looking inputs, and no two same-looking ones, share a key
//     by accident;
//   - NFC, so an accent typed precomposed or combining is one address;
//   - the domain in its Unicode form (IDNA: "xn--bcher-kva.de" and
//     "Bücher.DE" are both "bücher.de"), mail going to its ASCII form;
//   - the local part kept as typed, and folded to lower case in the key for
//     ASCII letters only. RFC 5321 lets a server treat the local part as case
//     sensitive; no mail system in use does for ASCII, and members type their
//     address in whatever case their phone chose, so "Ada@x.org" and
//     "ada@x.org" are one account. Beyond ASCII, case mapping is where
//     look-alikes come from (strings.ToLower turns the Kelvin sign into "k"),
//     so "Ärger@x.de" and "ärger@x.de" stay apart: each is the address its
//     member typed.
//
// Dots and "+tags" are kept: stripping them is only right for some
// providers and would merge distinct mailboxes. For an existing account,
// mail goes to the address stored with it, never to the one typed.
func NormalizeEmail(raw string) (email, key string, err error) {
	s := strings.TrimSpace(raw)
	bad := func(reason string) (string, string, error) {
		return "", "", &Error{Code: EInvalidEmail, Reason: reason, Field: "email", Detail: "not a valid email address"}
	}
	switch {
	case s == "":
		return bad(EmailEmpty)
	case !utf8.ValidString(s):
		return bad(EmailInvalidUTF8)
	case len(s) > maxEmailLen:
		return bad(EmailTooLong)
	}
	if reason := checkRunes(s); reason != "" {
		return bad(reason)
	}
	s = norm.NFC.String(s)
	if !norm.NFKC.IsNormalString(s) {
		return bad(EmailLookalike)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || at > maxLocalLen {
		return bad(EmailMalformed)
	}
	local := s[:at]
	domain, ascii, ok := canonicalDomain(s[at+1:])
	if !ok {
		return bad(EmailMalformed)
	}
	if len(local)+1+len(ascii) > maxEmailLen {
		return bad(EmailTooLong)
	}
	email = local + "@" + domain
	// net/mail applies RFC 5322's grammar to the local part (quoting, dots);
	// the address must parse as itself, without a display name.
	if a, perr := mail.ParseAddress(email); perr != nil || a.Address != email || a.Name != "" {
		return bad(EmailMalformed)
	}
	return email, asciiLower(local) + "@" + domain, nil
}

// checkRunes returns the reason s cannot be an address because of one of
// its characters, or "".
func checkRunes(s string) string {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cf, r):
			return EmailInvisible
		case unicode.IsControl(r) || unicode.IsSpace(r):
			return EmailMalformed
		case r >= utf8.RuneSelf && !norm.NFC.IsNormalString(string(r)):
			// On its own, NFC changes it: a canonical singleton (Kelvin
			// sign → K) or a composition exclusion. Combining marks and
			// precomposed letters are normal alone, so NFD input passes.
			return EmailLookalike
		}
	}
	return ""
}

// canonicalDomain returns d in Unicode form and in ASCII (the A-labels that
// travel in DNS and SMTP), or false when d is no domain mail can go to. A
// domain needs at least two labels: internal single-label domains cannot
// receive mail from the outside world.
func canonicalDomain(d string) (unicodeForm, asciiForm string, ok bool) {
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", "", false
	}
	u, err := idnaProfile.ToUnicode(a)
	if err != nil || !validDomain(u) {
		return "", "", false
	}
	// A-labels that decode to something that does not encode back (a
	// hand-made "xn--" label) are not a spelling of any domain.
	if back, err := idnaProfile.ToASCII(u); err != nil || back != a {
		return "", "", false
	}
	return u, a, true
}

// validDomain accepts a dotted host name of at least two labels of letters,
// digits and inner hyphens.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
				return false
			}
		}
	}
	return true
}

// asciiLower lower-cases the ASCII letters of s and leaves every other
// character as it is.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
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

// AddressRampSubject is the subject the rollout's ramp places a visitor
// by — someone about to make an account for the address whose canonical
// key is emailKey — and the User.RampSubject the account made from it
// keeps. A digest, so that the account does not keep its first address
// after an email change; the ramp's own salted hash is applied on top.
func AddressRampSubject(emailKey string) string {
	sum := sha256.Sum256([]byte("keyshift ramp subject\x00" + emailKey))
	return "address:" + hex.EncodeToString(sum[:16])
}
