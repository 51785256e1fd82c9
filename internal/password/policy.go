package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"math"
	"slices"
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
	ReasonEmpty       = "empty"
	ReasonInvalidUTF8 = "invalid_utf8"
	ReasonTooShort    = "too_short"
	ReasonTooLong     = "too_long"
	// ReasonCommon: the password is on the list of breached passwords.
	ReasonCommon = "common"
	// ReasonCommonVariant: a listed password with little around it —
	// digits, a year, symbols — or written in leetspeak ("Password1234!",
	// "qwerty2024", "p@ssw0rd"): the first thing guessers try.
	ReasonCommonVariant = "common_variant"
	ReasonRepetitive    = "repetitive"
	ReasonContainsEmail = "contains_email"
	// ReasonContainsSiteName: the site's own name, with little around it.
	ReasonContainsSiteName = "contains_site_name"
)

// PolicyError says why [Check] refused a password.
type PolicyError struct {
	// Reason is one of the Reason* constants.
	Reason string
}

// policyText is a sentence per reason, for logs and as a fallback message.
var policyText = map[string]string{
	ReasonEmpty:            "password is empty",
	ReasonInvalidUTF8:      "password is not valid UTF-8 text",
	ReasonTooShort:         "password is shorter than 8 characters",
	ReasonTooLong:          "password is longer than 128 characters",
	ReasonCommon:           "password is on the list of passwords seen in breaches",
	ReasonCommonVariant:    "password is a breached password with a few characters added or swapped",
	ReasonRepetitive:       "password is a repeated or sequential run of characters",
	ReasonContainsEmail:    "password is made from the account's email address",
	ReasonContainsSiteName: "password is made from the site's name",
}

// Error returns a sentence describing the reason.
func (e *PolicyError) Error() string {
	if text, ok := policyText[e.Reason]; ok {
		return text
	}
	return "password refused: " + e.Reason
}

// breachedPasswords is 88,777 passwords seen in breaches, gzip-compressed;
// see breached-passwords.README beside it for the sources and licences.
//
//go:embed breached-passwords.txt.gz
var breachedPasswords []byte

// blocklist is the embedded list as sorted, distinct 64-bit FNV-1a hashes
// of its entries (trimmed, NFKC, lower-cased): 8 bytes an entry instead of
// a map's string headers and buckets, searched by bisection. Two entries
// of 88,777 share a hash with odds near 2⁻³⁰, and a password taken for a
// listed one by a hash collision (odds near 2⁻⁴⁷ a check) is only refused.
// It is built once, on first use or by LoadBlocklist at start.
var blocklist = sync.OnceValue(buildBlocklist)

// buildBlocklist decompresses and hashes the embedded list.
func buildBlocklist() []uint64 {
	zr, err := gzip.NewReader(bytes.NewReader(breachedPasswords))
	if err != nil {
		panic(fmt.Sprintf("password: the embedded blocklist is not gzip: %v", err)) // a build mistake; tests catch it
	}
	sums := make([]uint64, 0, 90_000)
	sc := bufio.NewScanner(zr)
	var lower []byte
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		switch {
		case len(line) == 0:
		case isASCII(line):
			// Nearly every entry: lower-cased in place, no allocation.
			lower = append(lower[:0], line...)
			for i, c := range lower {
				if 'A' <= c && c <= 'Z' {
					lower[i] = c + 'a' - 'A'
				}
			}
			sums = append(sums, fnv64(lower))
		default:
			sums = append(sums, fnv64(strings.ToLower(norm.NFKC.String(string(line)))))
		}
	}
	if err := sc.Err(); err != nil {
		panic(fmt.Sprintf("password: reading the embedded blocklist: %v", err))
	}
	slices.Sort(sums)
	return slices.Clip(slices.Compact(sums))
}

// LoadBlocklist builds the blocklist now, if it is not built yet, and
// returns how many distinct entries it holds. Servers call it at start so
// that the first sign-up does not pay for it (docs/benchmarks.md).
func LoadBlocklist() int { return len(blocklist()) }

// BlocklistSize returns the number of distinct entries in the embedded
// blocklist, for start-up logs and tests.
func BlocklistSize() int { return LoadBlocklist() }

// listed reports whether w, lower-cased, is on the blocklist.
func listed(w string) bool {
	_, ok := slices.BinarySearch(blocklist(), fnv64(w))
	return ok
}

// isASCII reports whether b is all ASCII (NFKC leaves it as it is).
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fnv64 is the 64-bit FNV-1a hash of s.
func fnv64[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Policy checks new passwords; a Policy made with NewPolicy also refuses
// the site's own name. The zero Policy (or nil) checks without it.
type Policy struct {
	siteWords []string
}

// NewPolicy returns a Policy that also refuses passwords made from site,
// the site's name (config rp_name): the name itself with its letters run
// together, and each word of it of four letters or more.
func NewPolicy(site string) *Policy {
	return &Policy{siteWords: contextWords(site)}
}

// contextWords splits a name into the words a password must not be made
// from: each run of letters of four or more, and all its letters together.
func contextWords(name string) []string {
	name = strings.ToLower(norm.NFKC.String(name))
	var words []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minContextWord && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) }) {
		add(w)
	}
	add(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, name))
	return words
}

// minContextWord is the shortest local part or site word Check refuses a
// password for: "al@…" must not refuse every "al…" password.
const minContextWord = 4

// Check reports why password is not acceptable for the account with the
// given email, as a *PolicyError, or nil when it is acceptable, with the
// zero Policy: see [Policy.Check].
func Check(password, email string) error { return (*Policy)(nil).Check(password, email) }

// Check reports why password is not acceptable for the account with the
// given email, as a *PolicyError, or nil when it is acceptable. It applies
// NIST SP 800-63B section 5.1.1.2: length between MinLength and MaxLength
// characters after NFKC; not a password seen in breaches (the embedded
// list, case-insensitive), nor one of them with a little around it or in
// leetspeak (see variants); not one character repeated or a straight
// sequence such as "12345678" or "abcdefgh"; and not made from the context:
// the email address or its local part (even with digits added), or the
// site's name. It imposes no composition rules. Check refuses only new
// passwords; an existing password keeps verifying whatever the policy
// becomes.
func (p *Policy) Check(password, email string) error {
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
	// The reasons that say most about the password come first: many
	// repeated runs and local parts are on the breached list too.
	lower := strings.ToLower(pw)
	if isRepetitive([]rune(lower)) {
		return &PolicyError{Reason: ReasonRepetitive}
	}
	if derivedFromEmail(lower, email) {
		return &PolicyError{Reason: ReasonContainsEmail}
	}
	if p != nil && madeFrom(lower, p.siteWords) {
		return &PolicyError{Reason: ReasonContainsSiteName}
	}
	if listed(lower) {
		return &PolicyError{Reason: ReasonCommon}
	}
	if guessable(lower, float64(LoadBlocklist()), listed) {
		return &PolicyError{Reason: ReasonCommonVariant}
	}
	return nil
}

// minGuesses is how many guesses a password made from a known word must
// cost a guesser who builds candidates the usual way — the word, then
// leetspeak, years, runs like 1234 or !!!, random characters around it —
// for Check to accept it: 10¹⁰, zxcvbn's bar for its top score ("strong
// protection from an offline slow-hash attack").
const minGuesses = 1e10

// guessable reports whether lower is a word for which in is true, in
// leetspeak or not, with characters around it that cost fewer than
// minGuesses guesses together with the choice among words, a choice of
// words candidates (the list's size; 1 for a context word).
func guessable(lower string, words float64, in func(string) bool) bool {
	found := false
	variants(lower, func(core string, extra float64) bool {
		if words*extra < minGuesses && in(core) {
			found = true
		}
		return !found
	})
	return found
}

// madeFrom reports whether lower is one of words with little around it.
func madeFrom(lower string, words []string) bool {
	if len(words) == 0 {
		return false
	}
	if slices.Contains(words, lower) {
		return true
	}
	return guessable(lower, 1, func(w string) bool { return slices.Contains(words, w) })
}

// variants calls yield with each word a guesser could have started from
// to reach lower, and how many guesses the steps from it cost: lower
// without the digits and symbols around its letters (what they add:
// affixGuesses), and lower, or its letters, in leetspeak undone — the
// letters widened by a leetspeak character on either side, since
// "1etmein2024" starts with one. It stops when yield returns false.
func variants(lower string, yield func(core string, extra float64) bool) {
	start, end := letterSpan(lower)
	around := func(a, b int) float64 { return affixGuesses(lower[:a]) * affixGuesses(lower[b:]) }
	if start < end && (start > 0 || end < len(lower)) && !yield(lower[start:end], around(start, end)) {
		return
	}
	for _, t := range leetTables {
		if !strings.ContainsAny(lower, t.from) {
			continue
		}
		spans := [][2]int{{0, len(lower)}}
		if start < end {
			a, b := start, end
			if a > 0 && strings.IndexByte(t.from, lower[a-1]) >= 0 {
				a--
			}
			if b < len(lower) && strings.IndexByte(t.from, lower[b]) >= 0 {
				b++
			}
			spans = append(spans, [2]int{start, end}, [2]int{a, end}, [2]int{start, b}, [2]int{a, b})
		}
		for i, sp := range spans {
			if slices.Contains(spans[:i], sp) {
				continue
			}
			w, subs := unleet(lower[sp[0]:sp[1]], t)
			if subs > 0 && !yield(w, around(sp[0], sp[1])*leetGuesses(subs)) {
				return
			}
		}
	}
}

// letterSpan returns the byte offsets of s's first letter and of the end
// of its last letter; start == end when s has no letter.
func letterSpan(s string) (start, end int) {
	start = strings.IndexFunc(s, unicode.IsLetter)
	if start < 0 {
		return 0, 0
	}
	last := strings.LastIndexFunc(s, unicode.IsLetter)
	_, size := utf8.DecodeRuneInString(s[last:])
	return start, last + size
}

// affixGuesses estimates the guesses the characters s, found around a word,
// add: per run of digits or of other characters, a year (19xx or 20xx)
// costs 200, a repeated or sequential run (1234, !!!, 8888) ten a
// character, anything else the whole space of its length (10 per digit,
// 33 per symbol, the printable ASCII ones).
func affixGuesses(s string) float64 {
	g := 1.0
	r := []rune(s)
	for len(r) > 0 {
		digit := unicode.IsDigit(r[0])
		n := 1
		for n < len(r) && unicode.IsDigit(r[n]) == digit {
			n++
		}
		g *= runGuesses(r[:n], digit)
		r = r[n:]
	}
	return g
}

// runGuesses is affixGuesses for one run of digits or of other characters.
func runGuesses(run []rune, digits bool) float64 {
	n := float64(len(run))
	switch {
	case digits && len(run) == 4 && (string(run[:2]) == "19" || string(run[:2]) == "20"):
		return 200
	case len(run) == 1 || isRepetitive(run):
		if digits {
			return 10 * n
		}
		return 33 * n
	case digits:
		return math.Pow(10, n)
	}
	return math.Pow(33, n)
}

// leetTable maps leetspeak characters back to letters.
type leetTable struct {
	from string
	r    *strings.Replacer
}

// leetTables undo the common substitutions; "1", "!" and "|" stand for
// either "i" or "l", so there are two.
var leetTables = func() []leetTable {
	common := []string{"0", "o", "3", "e", "4", "a", "@", "a", "5", "s", "$", "s", "7", "t", "+", "t", "8", "b", "9", "g"}
	table := func(one string) leetTable {
		pairs := append(slices.Clone(common), "1", one, "!", one, "|", one)
		from := ""
		for i := 0; i < len(pairs); i += 2 {
			from += pairs[i]
		}
		return leetTable{from: from, r: strings.NewReplacer(pairs...)}
	}
	return []leetTable{table("i"), table("l")}
}()

// unleet returns s with t's substitutions undone and how many characters
// it changed.
func unleet(s string, t leetTable) (string, int) {
	subs := 0
	for _, r := range s {
		if strings.ContainsRune(t.from, r) {
			subs++
		}
	}
	if subs == 0 {
		return s, 0
	}
	return t.r.Replace(s), subs
}

// leetGuesses is what undoing subs substitutions costs a guesser: each
// character either substituted or not.
func leetGuesses(subs int) float64 { return math.Pow(2, float64(subs)) }

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
// example "alice1984" for alice@example.com), or with little around it or
// in leetspeak ("B0bsmith!"). Both rules need at least four letters of
// local part, so "al@…" does not refuse every "al…" password with digits.
// A "+tag" in the local part is ignored, as most mail providers ignore it.
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
	var words []string
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if lowerPW == c {
			return true
		}
		core := stripDigits(c)
		if utf8.RuneCountInString(core) >= minContextWord && pwCore == core {
			return true
		}
		if utf8.RuneCountInString(c) >= minContextWord {
			words = append(words, c)
		}
	}
	return madeFrom(lowerPW, words)
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
