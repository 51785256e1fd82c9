package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	// A 128-character passphrase, the longest accepted.
	longest := strings.Repeat("correct horse battery staple ", 5)[:MaxLength]
	// 100 CJK characters: 300 bytes, but 100 characters, so accepted.
	cjk := strings.Repeat("日本語のパスワードです", 10)
	tests := []struct {
		name     string
		password string
		email    string
		want     string // Reason, or "" for acceptable
	}{
		{"refuses an empty password", "", "alice@example.com", ReasonEmpty},
		{"refuses bytes that are not UTF-8", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "", ReasonInvalidUTF8},
		{"refuses a password with one broken byte", "correct horse\xc3 battery", "", ReasonInvalidUTF8},
		{"refuses seven characters", "x7!kq2m", "", ReasonTooShort},
		{"refuses eight characters that NFKC makes seven", "cafe\u0301s!!", "", ReasonTooShort},
		{"refuses 129 characters", longest + "x", "", ReasonTooLong},
		{"refuses a listed password", "password", "", ReasonCommon},
		{"refuses a listed password in other case", "PassWord1", "", ReasonCommon},
		{"refuses a fullwidth form of a listed password", "ｐａｓｓｗｏｒｄ", "", ReasonCommon},
		{"refuses a listed keyboard walk", "qwertyuiop", "", ReasonCommon},
		{"refuses one repeated character", "zzzzzzzzzzzz", "", ReasonRepetitive},
		{"refuses repeated spaces", "          ", "", ReasonRepetitive},
		{"refuses a repeated non-Latin character", "ββββββββ", "", ReasonRepetitive},
		{"refuses a repeated pair", "xoxoxoxoxo", "", ReasonRepetitive},
		{"refuses a repeated triple", "ab1ab1ab1", "", ReasonRepetitive},
		{"refuses an ascending digit run", "23456789", "", ReasonRepetitive},
		{"refuses an ascending letter run", "abcdefghij", "", ReasonRepetitive},
		{"refuses an ascending run in capitals", "ABCDEFGHIJ", "", ReasonRepetitive},
		{"refuses a descending letter run", "zyxwvuts", "", ReasonRepetitive},
		{"refuses a descending digit run", "76543210", "", ReasonRepetitive},
		{"refuses the email address", "alice.w@example.com", "alice.w@example.com", ReasonContainsEmail},
		{"refuses the email address in other case", "Alice.W@Example.COM", "alice.w@example.com", ReasonContainsEmail},
		{"refuses the local part", "bobsmith", "BobSmith@example.com", ReasonContainsEmail},
		{"refuses the local part with digits after it", "bobsmith1984", "bobsmith@example.com", ReasonContainsEmail},
		{"refuses the local part with digits around it", "99bobsmith2024", "bobsmith@example.com", ReasonContainsEmail},
		{"refuses the local part with other digits than its own", "carol2024", "carol1975@example.com", ReasonContainsEmail},
		{"refuses the local part without its plus tag", "dave.jones1", "dave.jones+keyshift@example.com", ReasonContainsEmail},
		{"accepts a passphrase", "correct horse battery staple", "alice@example.com", ""},
		{"accepts 128 characters", longest, "", ""},
		{"accepts exactly eight characters", "x7!kq2mZ", "", ""},
		{"accepts a ligature that NFKC makes eight characters", "ﬁrecamp", "", ""},
		{"accepts a Cyrillic passphrase", "Пароль-надёжный-как-скала", "", ""},
		{"accepts characters counted as runes, not bytes", cjk, "", ""},
		{"accepts emoji", "🔒🐈‍⬛🌮🎸🚲🌵🍉🎈", "", ""},
		{"accepts an almost-sequential run", "abcdefgz", "", ""},
		{"accepts a longer password holding the local part", "bobsmith likes long walks", "bobsmith@example.com", ""},
		{"accepts digits around a local part under four letters", "al193847", "al@example.com", ""},
		{"accepts any password when no email is given", "mallory-the-great", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tt.password, tt.email)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Reason != tt.want {
				t.Errorf("Check(%q) = %v, want reason %q", tt.password, err, tt.want)
			}
		})
	}
}

func TestCheckTestCasesMeanWhatTheySay(t *testing.T) {
	t.Parallel()
	if n := utf8.RuneCountInString(strings.Repeat("correct horse battery staple ", 5)[:MaxLength]); n != MaxLength {
		t.Errorf("the 'longest' password has %d runes", n)
	}
	for _, pw := range []string{"23456789", "zyxwvuts", "abcdefghij", "xoxoxoxoxo", "76543210", "ab1ab1ab1", "firecamp", "bobsmith1984", "carol2024", "dave.jones1", "al193847", "abcdefgz"} {
		if _, listed := blocklist()[pw]; listed {
			t.Errorf("%q is on the blocklist, so its test checks the wrong rule", pw)
		}
	}
}

func TestPolicyErrorMessages(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{ReasonEmpty, ReasonInvalidUTF8, ReasonTooShort, ReasonTooLong,
		ReasonCommon, ReasonRepetitive, ReasonContainsEmail} {
		t.Run("describes "+reason, func(t *testing.T) {
			t.Parallel()
			if msg := (&PolicyError{Reason: reason}).Error(); !strings.HasPrefix(msg, "password ") {
				t.Errorf("Error() = %q", msg)
			}
		})
	}
}

func TestBlocklist(t *testing.T) {
	t.Parallel()
	t.Run("loads the whole embedded list", func(t *testing.T) {
		if n := BlocklistSize(); n < 9900 || n > 10000 {
			t.Errorf("BlocklistSize() = %d, want about 10,000", n)
		}
	})
	t.Run("holds only trimmed lower-case entries", func(t *testing.T) {
		for w := range blocklist() {
			if w != strings.ToLower(strings.TrimSpace(w)) || w == "" {
				t.Errorf("entry %q is not normalised", w)
			}
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		_ = Check("correct horse battery staple", "alice@example.com")
	}
}
