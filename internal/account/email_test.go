package account

import (
	"strings"
	"testing"
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
	for _, s := range []string{"ada@example.com", "A@B.C", "\"quoted\"@example.com", "a@b@c.d", "", "\xff@x.y"} {
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
		if key != strings.ToLower(email) || len(email) > maxEmailLen {
			t.Fatalf("bad result %q %q", email, key)
		}
		// Normalising is idempotent.
		if e2, k2, err := NormalizeEmail(email); err != nil || e2 != email || k2 != key {
			t.Fatalf("not idempotent: %q → %q, %v", email, e2, err)
		}
	})
}
