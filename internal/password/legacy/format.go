// Package legacy verifies the password hashes of the systems members are
// imported from, so nobody has to reset a password when a site moves to
// keyshift. After the first successful sign-in the caller replaces such a
// hash with keyshift's own Argon2id (package password).
//
// A hash is stored as one self-contained string plus a [Format] name (the
// credentials.password_format column). For most formats the string is the
// hash exactly as the old system wrote it; for formats whose salt or
// parameters live apart from the hash (salted hex digests, Firebase scrypt),
// [Compose] folds them into one string:
//
//	salted hex digests:  <hex digest>$<salt>
//	                     (the salt is everything after the first '$', used as
//	                     the bytes of the string as given)
//	Firebase scrypt:     $firebase-scrypt$m=<mem cost>,r=<rounds>$<salt separator>$<signer key>$<salt>$<hash>
//	                     (the last four in standard base64 with padding, as the
//	                     Firebase console and auth:export show them)
//
// Every stored string is checked structurally ([Check]) before it is trusted,
// and cost parameters are bounded so that one hostile row cannot make a
// verification take minutes or gigabytes. Passwords are compared as the raw
// bytes the member types: the old systems did not normalise them.
package legacy

import (
	"errors"
	"fmt"
	"strings"
)

// Format names a password-hash format. Its value is what keyshift stores in
// credentials.password_format and writes in export files.
type Format string

// The formats this package verifies.
const (
	Argon2id        Format = "argon2id"         // PHC $argon2id$v=19$…, also Django's argon2$argon2id$…
	Argon2i         Format = "argon2i"          // PHC $argon2i$v=19$…, also Django's argon2$argon2i$…
	Bcrypt          Format = "bcrypt"           // $2a$, $2b$, $2y$, also Django's bcrypt$$2b$…
	WordPressBcrypt Format = "wordpress-bcrypt" // $wp$2y$…: WordPress 6.8+, bcrypt of an HMAC-SHA-384
	Scrypt          Format = "scrypt"           // PHC/passlib $scrypt$ln=…,r=…,p=…$…, Django scrypt$N$salt$r$p$…
	PBKDF2SHA1      Format = "pbkdf2-sha1"      // Django pbkdf2_sha1$…, passlib $pbkdf2$…
	PBKDF2SHA256    Format = "pbkdf2-sha256"    // Django pbkdf2_sha256$…, passlib $pbkdf2-sha256$…
	PBKDF2SHA512    Format = "pbkdf2-sha512"    // Django-style pbkdf2_sha512$…, passlib $pbkdf2-sha512$…
	FirebaseScrypt  Format = "firebase-scrypt"  // Firebase's modified scrypt; needs the project's parameters
	PHPass          Format = "phpass"           // $P$ (WordPress), $H$ (phpBB)
	MD5Crypt        Format = "md5-crypt"        // $1$, and Apache's $apr1$
	SHA256Crypt     Format = "sha256-crypt"     // $5$[rounds=N$]
	SHA512Crypt     Format = "sha512-crypt"     // $6$[rounds=N$]

	// Unsalted hex digests of the password.
	MD5    Format = "md5"
	SHA1   Format = "sha1"
	SHA256 Format = "sha256"

	// Salted hex digests: H(salt‖password) for …-salt-prefix and
	// H(password‖salt) for …-salt-suffix.
	SaltedMD5Prefix    Format = "md5-salt-prefix"
	SaltedMD5Suffix    Format = "md5-salt-suffix"
	SaltedSHA1Prefix   Format = "sha1-salt-prefix"
	SaltedSHA1Suffix   Format = "sha1-salt-suffix"
	SaltedSHA256Prefix Format = "sha256-salt-prefix"
	SaltedSHA256Suffix Format = "sha256-salt-suffix"
)

// Formats lists every format, in the order the documentation gives them.
var Formats = []Format{
	Argon2id, Argon2i, Bcrypt, WordPressBcrypt, Scrypt, PBKDF2SHA1, PBKDF2SHA256, PBKDF2SHA512,
	FirebaseScrypt, PHPass, MD5Crypt, SHA256Crypt, SHA512Crypt, MD5, SHA1, SHA256,
	SaltedMD5Prefix, SaltedMD5Suffix, SaltedSHA1Prefix, SaltedSHA1Suffix,
	SaltedSHA256Prefix, SaltedSHA256Suffix,
}

// ErrMalformed is wrapped by every error about a stored hash that cannot be
// verified: the wrong shape for its format, bad encoding, or cost parameters
// outside the bounds this package computes. Such a row needs an operator's
// attention; it is not a wrong password.
var ErrMalformed = errors.New("legacy: malformed hash")

// ErrUnknownFormat is wrapped by errors about a format name or hash prefix
// this package does not know, and by Detect when the shape does not tell.
var ErrUnknownFormat = errors.New("legacy: unknown hash format")

// Options are the per-project parameters some formats need, given as import
// options rather than per row.
type Options struct {
	// Firebase holds the project's hash parameters for FirebaseScrypt
	// (Firebase console: Authentication › Users › ⋮ › Password hash
	// parameters).
	Firebase *FirebaseParams
}

// FirebaseParams are a Firebase project's password-hash parameters, decoded
// from the base64 the console shows.
type FirebaseParams struct {
	SignerKey     []byte // base64_signer_key, decoded
	SaltSeparator []byte // base64_salt_separator, decoded
	Rounds        int    // rounds, the scrypt block size r
	MemCost       int    // mem_cost, log2 of the scrypt cost N
}

// Detect names the format of hash from its own prefix or shape. Firebase
// scrypt and salted hex digests look like other things (or like nothing),
// so for them, and for any shape it does not know, Detect returns an error
// wrapping [ErrUnknownFormat] that says the format must be given.
func Detect(hash string) (Format, error) {
	for _, p := range prefixes {
		if strings.HasPrefix(hash, p.prefix) {
			if p.format == "" {
				return "", fmt.Errorf("%w: %s hashes are not supported", ErrUnknownFormat, p.name)
			}
			return p.format, nil
		}
	}
	if isHex(hash) {
		switch len(hash) {
		case 32:
			return MD5, nil
		case 40:
			return SHA1, nil
		case 64:
			return SHA256, nil
		}
	}
	return "", fmt.Errorf("%w: cannot tell the format from the hash itself; give password_format "+
		"(Firebase scrypt and salted digests always need it)", ErrUnknownFormat)
}

// prefixes maps the start of a hash to its format, longest and most
// specific first. An empty format names a known but unsupported scheme, so
// the operator reads what it is rather than "unknown".
var prefixes = []struct {
	prefix string
	format Format
	name   string
}{
	{"$2a$", Bcrypt, ""}, {"$2b$", Bcrypt, ""}, {"$2y$", Bcrypt, ""},
	{"$2x$", "", "bcrypt $2x$ (crypt_blowfish's pre-2011 bug-compatible variant)"},
	{"bcrypt$$2", Bcrypt, ""},
	{"bcrypt_sha256$", "", "Django bcrypt_sha256"},
	{"$argon2id$", Argon2id, ""}, {"$argon2i$", Argon2i, ""},
	{"argon2$argon2id$", Argon2id, ""}, {"argon2$argon2i$", Argon2i, ""},
	{"$argon2d$", "", "argon2d"}, {"argon2$argon2d$", "", "argon2d"},
	{"$scrypt$", Scrypt, ""}, {"scrypt$", Scrypt, ""},
	{"$firebase-scrypt$", FirebaseScrypt, ""},
	{"pbkdf2_sha1$", PBKDF2SHA1, ""}, {"pbkdf2_sha256$", PBKDF2SHA256, ""}, {"pbkdf2_sha512$", PBKDF2SHA512, ""},
	{"$pbkdf2$", PBKDF2SHA1, ""}, {"$pbkdf2-sha1$", PBKDF2SHA1, ""},
	{"$pbkdf2-sha256$", PBKDF2SHA256, ""}, {"$pbkdf2-sha512$", PBKDF2SHA512, ""},
	{"$P$", PHPass, ""}, {"$H$", PHPass, ""},
	{"$wp$2", WordPressBcrypt, ""},
	{"$1$", MD5Crypt, ""}, {"$apr1$", MD5Crypt, ""},
	{"$5$", SHA256Crypt, ""}, {"$6$", SHA512Crypt, ""},
	{"$y$", "", "yescrypt"}, {"$7$", "", "scrypt crypt ($7$)"},
	{"$sha1$", "", "NetBSD sha1-crypt"}, {"$md5", "", "Sun md5-crypt"},
}

// aliases are the names ParseFormat accepts besides the format values,
// lower case. Only unambiguous ones: "sha1" is the unsalted digest, never
// the salted one.
var aliases = map[string]Format{
	"argon2": Argon2id, "2a": Bcrypt, "2b": Bcrypt, "2y": Bcrypt,
	"django": PBKDF2SHA256, "django-pbkdf2": PBKDF2SHA256, "django-scrypt": Scrypt,
	"passlib-scrypt": Scrypt, "pbkdf2": PBKDF2SHA256, "pbkdf2_sha1": PBKDF2SHA1,
	"pbkdf2_sha256": PBKDF2SHA256, "pbkdf2_sha512": PBKDF2SHA512,
	"firebase": FirebaseScrypt, "phpbb": PHPass, "phpbb3": PHPass, "wp-bcrypt": WordPressBcrypt,
	"md5crypt": MD5Crypt, "md5_crypt": MD5Crypt, "apr1": MD5Crypt,
	"sha256crypt": SHA256Crypt, "sha256_crypt": SHA256Crypt,
	"sha512crypt": SHA512Crypt, "sha512_crypt": SHA512Crypt,
	"sha-1": SHA1, "sha-256": SHA256,
}

// ParseFormat accepts a format name as an operator writes it in an import
// file: one of the format values, or an unambiguous alias such as "django"
// (PBKDF2-SHA256, Django's default), "phpbb" (PHPass), "firebase", "apr1".
// Case, surrounding space and '_' for '-' do not matter. Names that stand
// for several formats ("passlib", "wordpress", "crypt") are refused with
// the choices.
func ParseFormat(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if f, ok := aliases[n]; ok {
		return f, nil
	}
	n = strings.ReplaceAll(n, "_", "-")
	for _, f := range Formats {
		if n == string(f) {
			return f, nil
		}
	}
	if f, ok := aliases[n]; ok {
		return f, nil
	}
	if hint, ok := ambiguous[n]; ok {
		return "", fmt.Errorf("%w: %q is ambiguous; name the algorithm: %s", ErrUnknownFormat, clip(name), hint)
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownFormat, clip(name))
}

// ambiguous are names operators plausibly write that stand for several
// formats; ParseFormat refuses them with the choices.
var ambiguous = map[string]string{
	"passlib": "pbkdf2-sha1, pbkdf2-sha256, pbkdf2-sha512, scrypt, bcrypt, argon2id, sha256-crypt, sha512-crypt",
	// One WordPress table holds $P$, $wp$2y$, plain $2y$ and old MD5 hashes
	// side by side since WordPress 6.8; their prefixes tell them apart.
	"wordpress":  "leave password_format empty to detect each hash (phpass, wordpress-bcrypt, bcrypt, md5)",
	"sha-crypt":  "sha256-crypt, sha512-crypt",
	"crypt":      "bcrypt, md5-crypt, sha256-crypt, sha512-crypt",
	"salted-md5": "md5-salt-prefix, md5-salt-suffix", "salted-sha1": "sha1-salt-prefix, sha1-salt-suffix",
	"salted-sha256": "sha256-salt-prefix, sha256-salt-suffix",
}

// Weak reports whether f is fast to brute-force whatever its parameters:
// plain and salted hex digests (one hash per guess), MD5-crypt (1,000 MD5s)
// and PHPass (a few thousand MD5s). Import summaries count such hashes;
// [WeakHash] also looks at a hash's own cost.
func (f Format) Weak() bool {
	switch f {
	case MD5, SHA1, SHA256, SaltedMD5Prefix, SaltedMD5Suffix, SaltedSHA1Prefix,
		SaltedSHA1Suffix, SaltedSHA256Prefix, SaltedSHA256Suffix, MD5Crypt, PHPass:
		return true
	}
	return false
}

// Thresholds below which WeakHash calls a hash of a strong format weak.
// PBKDF2 under 100,000 iterations is a tenth of OWASP's 2023 advice or less
// for every digest; bcrypt under cost 10 is below every framework default of
// the last decade; SHA-crypt under its own default of 5,000 rounds.
const (
	weakPBKDF2Iterations = 100_000
	weakBcryptCost       = 10
	weakSHACryptRounds   = 5000
)

// WeakHash reports whether stored, a hash in format f, is fast to
// brute-force: f.Weak(), or a strong format with a low cost (PBKDF2 under
// 100,000 iterations, bcrypt under cost 10, SHA-crypt under 5,000 rounds).
// A malformed hash is reported as f.Weak() says.
func WeakHash(f Format, stored string) bool {
	if f.Weak() {
		return true
	}
	h, err := parse(f, stored)
	if err != nil {
		return false
	}
	switch h := h.(type) {
	case *pbkdf2Hash:
		return h.iterations < weakPBKDF2Iterations
	case *bcryptHash:
		return h.cost < weakBcryptCost
	case *wordpressHash:
		return h.cost < weakBcryptCost
	case *shaCryptHash:
		return h.rounds < weakSHACryptRounds
	}
	return false
}

// Compose returns the self-contained string keyshift stores for hash as the
// old system gave it. For salted hex digests it folds salt in
// ("<hex digest>$<salt>", digest in lower case); for FirebaseScrypt it folds
// salt and opt.Firebase in (see the package comment). For every other format
// salt must be empty and Compose returns hash unchanged once [Check] accepts
// it. Compose is idempotent on its own output when salt is empty, so a file
// written by export imports to the same strings.
func Compose(f Format, hash, salt string, opt Options) (string, error) {
	var out string
	var err error
	switch {
	case f == FirebaseScrypt:
		out, err = composeFirebase(hash, salt, opt.Firebase)
	case f.saltedDigest():
		out, err = composeSalted(f, hash, salt)
	case salt != "":
		return "", fmt.Errorf("%w: a salt was given but %s hashes carry their own", ErrMalformed, f)
	default:
		out = hash
	}
	if err != nil {
		return "", err
	}
	if err := Check(f, out); err != nil {
		return "", err
	}
	return out, nil
}

// Check validates stored, a composed string in format f, without hashing:
// its shape, encodings and lengths, and that its cost parameters are within
// the bounds Verify computes. The error wraps [ErrMalformed] (or
// [ErrUnknownFormat] for an unknown f) and says what is wrong.
func Check(f Format, stored string) error {
	_, err := parse(f, stored)
	return err
}

// MaxPassword is the longest password Verify hashes, in bytes; longer ones
// never match. SHA-crypt's work grows with the square of the password's
// length, so a megabyte "password" would hold a hashing slot for minutes;
// keyshift itself accepts at most 128 characters (512 bytes).
const MaxPassword = 1024

// Verify reports whether password, the raw bytes the member typed, matches
// stored, a composed string in format f. Digests are compared in constant
// time. A stored string that Check refuses gives an error and false; a
// password longer than [MaxPassword] gives false.
func Verify(f Format, stored string, password []byte) (bool, error) {
	h, err := parse(f, stored)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPassword {
		return false, nil
	}
	return h.verify(password), nil
}

// parsed is a parsed, checked stored hash, ready to verify passwords.
type parsed interface {
	verify(password []byte) bool
}

// maxStored bounds the length of any stored string, before parsing it.
const maxStored = 4096

// parse checks stored for format f and returns it parsed.
func parse(f Format, stored string) (parsed, error) {
	if len(stored) > maxStored {
		return nil, malformed("longer than %d bytes", maxStored)
	}
	if stored == "" {
		return nil, malformed("empty")
	}
	switch f {
	case Argon2id, Argon2i:
		return parseArgon2(f, stored)
	case Bcrypt:
		return parseBcrypt(stored)
	case WordPressBcrypt:
		return parseWordPressBcrypt(stored)
	case Scrypt:
		return parseScrypt(stored)
	case FirebaseScrypt:
		return parseFirebase(stored)
	case PBKDF2SHA1, PBKDF2SHA256, PBKDF2SHA512:
		return parsePBKDF2(f, stored)
	case PHPass:
		return parsePHPass(stored)
	case MD5Crypt:
		return parseMD5Crypt(stored)
	case SHA256Crypt, SHA512Crypt:
		return parseSHACrypt(f, stored)
	case MD5, SHA1, SHA256:
		return parseDigest(f, stored)
	case SaltedMD5Prefix, SaltedMD5Suffix, SaltedSHA1Prefix, SaltedSHA1Suffix, SaltedSHA256Prefix, SaltedSHA256Suffix:
		return parseSalted(f, stored)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownFormat, clip(string(f)))
}

// malformed builds an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// clip shortens a piece of a stored hash quoted in an error, so a huge
// corrupted value cannot flood logs or reject files.
func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// isHex reports whether s is non-empty and only hex digits, either case.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
