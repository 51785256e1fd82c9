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
		// The breached list (T11) and what guessers do with it.
		{"refuses a password from the breached list that the 10,000 lacked", "password1234", "", ReasonCommon},
		{"refuses a listed word with digits and a symbol after it", "Password1234!", "", ReasonCommonVariant},
		{"refuses a listed word with a year after it", "qwerty2024", "", ReasonCommonVariant},
		{"refuses a listed word with a year and symbols", "Monkey2024!!", "", ReasonCommonVariant},
		{"refuses a listed word with symbols before and digits after", "!!dragon007", "", ReasonCommonVariant},
		{"refuses a listed word with a long run of digits", "sunshine12345678", "", ReasonCommonVariant},
		{"refuses a listed word in leetspeak", "P@55w0rd", "", ReasonCommonVariant},
		{"refuses a listed word in leetspeak with symbols", "m0nk3y!!", "", ReasonCommonVariant},
		{"refuses a listed word in leetspeak that starts with one", "1etmein2024", "", ReasonCommonVariant},
		{"refuses a listed word in leetspeak with digits after it", "p4ssw0rd2024", "", ReasonCommonVariant},
		{"refuses a listed word whose 1 stands for an l", "1etmein!", "", ReasonCommonVariant},
		{"refuses a short listed word with a run after it", "me12345678", "", ReasonCommonVariant},
		{"accepts a listed word with many random characters around it", "monkey-8472-91835-27461", "", ""},
		{"accepts a short listed word with eight random digits", "yo83920175", "", ""},
		{"refuses the local part in leetspeak with a symbol", "B0bsm1th!", "bobsmith@example.com", ReasonContainsEmail},
		{"refuses the local part with symbols around it", "#bobsmith#", "bobsmith@example.com", ReasonContainsEmail},
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
	// Repetitive runs and local parts are checked before the list, so
	// those may be listed; the others must not be.
	for _, pw := range []string{"xoxoxoxoxo", "firecamp", "al193847", "abcdefgz",
		"password1234!", "qwerty2024", "monkey2024!!", "!!dragon007", "sunshine12345678", "p@55w0rd", "m0nk3y!!", "1etmein2024", "p4ssw0rd2024", "1etmein!", "me12345678",
		"monkey-8472-91835-27461", "yo83920175"} {
		if listed(pw) {
			t.Errorf("%q is on the blocklist, so its test checks the wrong rule", pw)
		}
	}
	for _, w := range []string{"password1234", "password", "qwerty", "monkey", "dragon", "sunshine", "letmein", "me", "yo"} {
		if !listed(w) {
			t.Errorf("%q is not on the blocklist, so its test checks the wrong rule", w)
		}
	}
}

func TestPolicyErrorMessages(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{ReasonEmpty, ReasonInvalidUTF8, ReasonTooShort, ReasonTooLong,
		ReasonCommon, ReasonCommonVariant, ReasonRepetitive, ReasonContainsEmail, ReasonContainsSiteName} {
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
		// 88,777 lines; fewer once case is folded (Password, PASSWORD).
		if n := BlocklistSize(); n < 80_000 || n > 88_777 {
			t.Errorf("BlocklistSize() = %d, want about 85,000", n)
		}
	})
	t.Run("is sorted and distinct, so bisection finds every entry", func(t *testing.T) {
		sums := blocklist()
		for i := 1; i < len(sums); i++ {
			if sums[i-1] >= sums[i] {
				t.Fatalf("entries %d and %d out of order", i-1, i)
			}
		}
	})
	t.Run("finds entries in any case, NFKC-normalised", func(t *testing.T) {
		for _, pw := range []string{"PASSWORD", "Password", "ｐａｓｓｗｏｒｄ", "contraseña", "CONTRASEÑA"} {
			if err := Check(pw+"", ""); err == nil && len([]rune(pw)) >= MinLength {
				t.Errorf("Check(%q) accepted a listed password", pw)
			}
		}
	})
}

func TestPolicyRefusesTheSiteName(t *testing.T) {
	t.Parallel()
	p := NewPolicy("Acme Widgets")
	tests := []struct{ password, want string }{
		{"acmewidgets", ReasonContainsSiteName},
		{"AcmeWidgets2024!", ReasonContainsSiteName},
		{"widgets!!2024", ReasonContainsSiteName},
		{"4cm3w1dg3ts", ReasonContainsSiteName},
		{"acme widgets are the best in town", ""},
		{"acme-8472-91835-27461", ""},
	}
	for _, tt := range tests {
		err := p.Check(tt.password, "ada@example.com")
		var pe *PolicyError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Check(%q) = %v, want nil", tt.password, err)
		case tt.want != "" && (!errors.As(err, &pe) || pe.Reason != tt.want):
			t.Errorf("Check(%q) = %v, want %s", tt.password, err, tt.want)
		}
	}
	if err := Check("acmewidgets", ""); err != nil {
		t.Errorf("without a site name Check(acmewidgets) = %v", err)
	}
	if err := (&Policy{}).Check("acmewidgets", ""); err != nil {
		t.Errorf("the zero Policy refused acmewidgets: %v", err)
	}
}

func TestAffixGuesses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		affix string
		want  float64
	}{
		{"", 1},
		{"2024", 200},
		{"1234", 40},
		{"!", 33},
		{"!!!", 99},
		{"1234!", 40 * 33},
		{"8472", 1e4},
		{"-8472-", 33 * 1e4 * 33},
	}
	for _, tt := range tests {
		if got := affixGuesses(tt.affix); got != tt.want {
			t.Errorf("affixGuesses(%q) = %v, want %v", tt.affix, got, tt.want)
		}
	}
}

// BenchmarkCheck is the policy check of one sign-up or password change,
// for passwords that pass every rule and for ones refused by each of the
// later, dearer rules (docs/benchmarks.md has old and new figures).
func BenchmarkCheck(b *testing.B) {
	LoadBlocklist() // built at start by the server, not in the check
	p := NewPolicy("Acme Widgets")
	for _, bc := range []struct{ name, password string }{
		{"accepted passphrase", "correct horse battery staple"},
		{"accepted random", "x7!kq2mZ-9fLr"},
		{"listed", "password1234"},
		{"listed with digits", "Password1234!"},
		{"leetspeak", "P@55w0rd"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_ = p.Check(bc.password, "alice@example.com")
			}
		})
	}
}

// BenchmarkLoadBlocklist is the one-time cost of the blocklist at start:
// decompressing and hashing 88,777 entries. kept-KiB is what stays in
// memory afterwards.
func BenchmarkLoadBlocklist(b *testing.B) {
	b.ReportAllocs()
	var sums []uint64
	for b.Loop() {
		sums = buildBlocklist()
	}
	b.ReportMetric(float64(len(sums)*8)/1024, "kept-KiB")
}
