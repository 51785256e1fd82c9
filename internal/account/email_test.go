package account

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, email, key string
	}{
		{"keeps a plain address", "ada@example.com", "ada@example.com", "ada@example.com"},
		{"trims white space", "  ada@example.com \t", "ada@example.com", "ada@example.com"},
		{"lower-cases the domain and keeps the local part", "Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com", "ada.lovelace@example.com"},
		{"keeps plus tags and dots", "a.b+news@example.org", "a.b+news@example.org", "a.b+news@example.org"},
		{"accepts unicode domains", "ada@exämple.de", "ada@exämple.de", "ada@exämple.de"},
		{"accepts subdomains", "ops@mail.corp.example.co.uk", "ops@mail.corp.example.co.uk", "ops@mail.corp.example.co.uk"},
		// One canonical form (T19): one mailbox, one key, however typed.
		{"composes a decomposed accent (NFD) into the NFC form", "jose\u0301@example.com", "jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"keeps a precomposed accent (NFC)", "jos\u00e9@example.com", "jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"composes a decomposed accent in the domain", "ada@exa\u0308mple.de", "ada@exämple.de", "ada@exämple.de"},
		{"stores a punycode domain in its Unicode form", "ada@xn--bcher-kva.de", "ada@bücher.de", "ada@bücher.de"},
		{"folds an upper-case Unicode domain", "ada@BÜCHER.DE", "ada@bücher.de", "ada@bücher.de"},
		{"stores a punycode domain given in capitals in its Unicode form", "ada@XN--BCHER-KVA.DE", "ada@bücher.de", "ada@bücher.de"},
		{"keeps the sharp s of a non-transitional domain", "ada@faß.de", "ada@faß.de", "ada@faß.de"},
		{"folds only ASCII letters of the local part into the key", "ÄrGER@example.com", "ÄrGER@example.com", "Ärger@example.com"},
		{"keeps a lower-case non-ASCII local part", "ärger@example.com", "ärger@example.com", "ärger@example.com"},
		{"accepts a non-Latin local part and domain", "почта@пример.рф", "почта@пример.рф", "почта@пример.рф"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, key, err := NormalizeEmail(tt.in)
			if err != nil || email != tt.email || key != tt.key {
				t.Errorf("NormalizeEmail(%q) = %q, %q, %v; want %q, %q", tt.in, email, key, err, tt.email, tt.key)
			}
		})
	}
}

func TestNormalizeEmailRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, reason string }{
		{"an empty address", "", "empty"},
		{"white space only", "   ", "empty"},
		{"an address of 10,000 characters", strings.Repeat("a", 9990) + "@example.com", "too_long"},
		{"a local part over 64 octets", strings.Repeat("a", 65) + "@example.com", "malformed"},
		{"no at sign", "ada.example.com", "malformed"},
		{"no local part", "@example.com", "malformed"},
		{"no domain", "ada@", "malformed"},
		{"a single-label domain", "ada@localhost", "malformed"},
		{"an empty label", "ada@example..com", "malformed"},
		{"a label starting with a hyphen", "ada@-example.com", "malformed"},
		{"a display name", "Ada <ada@example.com>", "malformed"},
		{"SQL in the local part", "' OR '1'='1@example.com", "malformed"},
		{"SQL in the domain", "ada@example.com'; DROP TABLE users; --", "malformed"},
		{"a newline (header injection)", "ada@example.com\nBcc: x@evil.com", "malformed"},
		{"invalid UTF-8", "ad\xffa@example.com", "invalid_utf8"},
		{"two at signs unquoted", "a@b@example.com", "malformed"},
		{"the Kelvin sign for K", "\u212Aate@example.com", "lookalike_character"},
		{"the Kelvin sign in the domain", "kate@\u212Aeyshift.org", "lookalike_character"},
		{"the Ohm sign for omega", "\u2126mega@example.com", "lookalike_character"},
		{"full-width letters", "ｋａｔｅ@example.com", "lookalike_character"},
		{"a full-width domain", "kate@ｅｘａｍｐｌｅ.com", "lookalike_character"},
		{"the fi ligature", "ﬁona@example.com", "lookalike_character"},
		{"a superscript digit", "kate²@example.com", "lookalike_character"},
		{"a zero-width space", "ka\u200Bte@example.com", "invisible_character"},
		{"a zero-width joiner in the domain", "kate@exam\u200Dple.com", "invisible_character"},
		{"a zero-width non-joiner", "ka\u200Cte@example.com", "invisible_character"},
		{"a right-to-left override", "kate\u202E@example.com", "invisible_character"},
		{"a left-to-right mark", "\u200Ekate@example.com", "invisible_character"},
		{"a right-to-left isolate", "kate@\u2067example.com", "invisible_character"},
		{"a soft hyphen", "ka\u00ADte@example.com", "invisible_character"},
		{"a byte-order mark", "\uFEFFkate@example.com", "invisible_character"},
		{"a punycode label that is not punycode", "kate@xn--zz.com", "malformed"},
		{"an underscore in the domain", "kate@ex_ample.com", "malformed"},
		{"an emoji domain", "kate@\U0001F4A9.la", "malformed"},
		{"a domain whose ASCII form is too long for a path", strings.Repeat("a", 60) + "@" + strings.Repeat("zäyöxüwé.", 11) + "de", "too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NormalizeEmail(tt.in)
			e, ok := err.(*Error)
			if !ok || e.Code != EInvalidEmail || e.Reason != tt.reason || e.Field != "email" {
				t.Errorf("NormalizeEmail(%q) = %v; want invalid_email/%s on field email", tt.in, err, tt.reason)
			}
		})
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "A@B.C", "\"quoted\"@example.com", "a@b@c.d", "", "\xff@x.y",
		"\u212Aate@example.com", "jose\u0301@example.com", "ada@xn--bcher-kva.de", "ka\u200Bte@example.com", "ÄrGER@BÜCHER.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		email, key, err := NormalizeEmail(in)
		if err != nil {
			if ErrorCode(err) != EInvalidEmail {
				t.Fatalf("error without invalid_email code: %v", err)
			}
			return
		}
		at := strings.LastIndexByte(email, '@')
		if key != asciiLower(email[:at])+email[at:] || len(email) > maxEmailLen {
			t.Fatalf("bad result %q %q", email, key)
		}
		if !norm.NFC.IsNormalString(email) || !norm.NFKC.IsNormalString(email) || strings.ContainsFunc(email, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
			t.Fatalf("%q is not in canonical form", email)
		}
		// Normalising is idempotent.
		if e2, k2, err := NormalizeEmail(email); err != nil || e2 != email || k2 != key {
			t.Fatalf("not idempotent: %q → %q, %v", email, e2, err)
		}
	})
}

func BenchmarkNormalizeEmail(b *testing.B) {
	for _, in := range []string{"Ada.Lovelace@Example.com", "jos\u00e9@bücher.de"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				NormalizeEmail(in)
			}
		})
	}
}
