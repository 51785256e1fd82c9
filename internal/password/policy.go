package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length limits, counted in characters (runes) after NFKC normalisation.
const (
	// MinLength is NIST SP 800-63B's floor for a memorized secret chosen by
	// the member (rev. 3 section 5.1.1.2; rev. 4 keeps it for passwords used
	// with a second factor). Enforced.
	MinLength = 8
	// RecommendedLength is what NIST SP 800-63B rev. 4 requires of a
	// password that is the only factor. keyshift steers members to
	// passkeys rather than long passwords, so pages suggest this length
	// without enforcing it.
	RecommendedLength = 15
	// MaxLength is the ceiling. NIST asks verifiers to allow at least 64
	// characters; 128 leaves room for long passphrases and generated
	// passwords while keeping a bound on what a new password may be.
	MaxLength = 128
)

// Reasons a password is refused, as found in PolicyError.Reason. They are
// stable: the API sends them to clients and pages pick messages by them.
const (
	ReasonEmpty         = "empty"
	ReasonInvalidUTF8   = "invalid_utf8"
	ReasonTooShort      = "too_short"
	ReasonTooLong       = "too_long"
	ReasonCommon        = "common"
	ReasonRepetitive    = "repetitive"
	ReasonContainsEmail = "contains_email"
)

// PolicyError says why [Check] refused a password.
type PolicyError struct {
	// Reason is one of the Reason* constants.
	Reason string
}

// policyText is a sentence per reason, for logs and as a fallback message.
var policyText = map[string]string{
	ReasonEmpty:         "password is empty",
	ReasonInvalidUTF8:   "password is not valid UTF-8 text",
	ReasonTooShort:      "password is shorter than 8 characters",
	ReasonTooLong:       "password is longer than 128 characters",
	ReasonCommon:        "password is on the list of commonly used passwords",
	ReasonRepetitive:    "password is a repeated or sequential run of characters",
	ReasonContainsEmail: "password is made from the account's email address",
}

// Error returns a sentence describing the reason.
func (e *PolicyError) Error() string {
	if text, ok := policyText[e.Reason]; ok {
		return text
	}
	return "password refused: " + e.Reason
}

// commonPasswords is SecLists' 10k-most-common.txt; see
// common-passwords.LICENSE beside it.
//
//go:embed common-passwords.txt
var commonPasswords string

// blocklist parses the embedded list once, on first use, so programs that
// never check a password do not pay for the map.
var blocklist = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonPasswords) {
		if w := strings.ToLower(strings.TrimSpace(line)); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
})

// BlocklistSize returns the number of distinct entries in the embedded
// blocklist of common passwords, for start-up logs and tests.
func BlocklistSize() int { return len(blocklist()) }

// Check reports why password is not acceptable for the account with the
// given email, as a *PolicyError, or nil when it is acceptable. It applies
// NIST SP 800-63B section 5.1.1.2: length between MinLength and MaxLength
// characters after NFKC, not a commonly used password (case-insensitive),
// not one character repeated or a straight sequence such as "12345678" or
// "abcdefgh", and not the email address or its local part, even with digits
// added. It imposes no composition rules. Check refuses only new passwords;
// an existing password keeps verifying whatever the policy becomes.
func Check(password, email string) error {
	if password == "" {
		return &PolicyError{Reason: ReasonEmpty}
	}
	if !utf8.ValidString(password) {
		return &PolicyError{Reason: ReasonInvalidUTF8}
	}
	pw := norm.NFKC.String(password)
	n := utf8.RuneCountInString(pw)
	if n < MinLength {
		return &PolicyError{Reason: ReasonTooShort}
	}
	if n > MaxLength {
		return &PolicyError{Reason: ReasonTooLong}
	}
	lower := strings.ToLower(pw)
	if _, ok := blocklist()[lower]; ok {
		return &PolicyError{Reason: ReasonCommon}
	}
	if isRepetitive([]rune(lower)) {
		return &PolicyError{Reason: ReasonRepetitive}
	}
	if derivedFromEmail(lower, email) {
		return &PolicyError{Reason: ReasonContainsEmail}
	}
	return nil
}

// isRepetitive reports whether r is one short unit (up to three characters)
// repeated, like "aaaaaaaa" or "abababab", or a straight run in which each
// character is the one after, or the one before, the last: "12345678",
// "abcdefgh", "87654321". r is already lower-cased.
func isRepetitive(r []rune) bool {
	for unit := 1; unit <= 3 && unit < len(r); unit++ {
		if repeatsWithPeriod(r, unit) {
			return true
		}
	}
	return isStep(r, 1) || isStep(r, -1)
}

// repeatsWithPeriod reports whether r[i] == r[i-period] throughout.
func repeatsWithPeriod(r []rune, period int) bool {
	for i := period; i < len(r); i++ {
		if r[i] != r[i-period] {
			return false
		}
	}
	return true
}

// isStep reports whether each rune of r is the previous one plus step.
func isStep(r []rune, step rune) bool {
	for i := 1; i < len(r); i++ {
		if r[i]-r[i-1] != step {
			return false
		}
	}
	return true
}

// derivedFromEmail reports whether the lower-cased password is the email,
// its local part, or the local part with digits around or inside it (for
// example "alice1984" for alice@example.com). The digits rule needs at least
// four letters of local part, so "al@…" does not refuse every "al…" password
// with digits. A "+tag" in the local part is ignored, as most mail providers
// ignore it.
func derivedFromEmail(lowerPW, email string) bool {
	email = strings.ToLower(norm.NFKC.String(strings.TrimSpace(email)))
	if email == "" {
		return false
	}
	if lowerPW == email {
		return true
	}
	local := email
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local = email[:at]
	}
	candidates := []string{local}
	if base, _, ok := strings.Cut(local, "+"); ok {
		candidates = append(candidates, base)
	}
	pwCore := stripDigits(lowerPW)
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if lowerPW == c {
			return true
		}
		core := stripDigits(c)
		if utf8.RuneCountInString(core) >= 4 && pwCore == core {
			return true
		}
	}
	return false
}

// stripDigits removes every decimal digit from s.
func stripDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return -1
		}
		return r
	}, s)
}
