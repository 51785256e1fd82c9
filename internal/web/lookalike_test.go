package web_test

// Look-alike addresses (docs/security.md, T19): every address typed anywhere
// goes through one canonical form (account.NormalizeEmail) before it is
// keyed. Spellings of one mailbox — NFD or NFC, punycode or Unicode domain,
// ASCII capitals — are one account; a Kelvin sign, a full-width letter, a
// zero-width or bidi character is refused with a stable reason; and a
// member's mail goes to the address stored with the account, never to the
// spelling typed.

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestLookAlikeAddressesFindNoOtherAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		ctx := context.Background()
		const kate, jose = "Kate@example.com", "jos\u00e9@bücher.de"
		kateC := s.Client(t)
		kateC.Signup(kate, goodPassword)
		s.Client(t).Signup(jose, goodPassword)
		s.box.Wait(t, 2, 15*time.Second) // the two confirmation mails
		users := func() int {
			n, err := s.DB.CountUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("refuses look-alike and invisible characters wherever an address is typed", func(t *testing.T) {
			addresses := map[string]string{
				"\u212Aate@example.com":  "lookalike_character", // Kelvin sign; strings.ToLower made it kate@
				"ｋａｔｅ@example.com":       "lookalike_character", // full-width
				"kate@\u212Axample.com":  "lookalike_character",
				"ka\u200Bte@example.com": "invisible_character", // zero-width space
				"kate\u200D@example.com": "invisible_character", // zero-width joiner
				"kate@exa\u200Cmple.com": "invisible_character", // zero-width non-joiner in the domain
				"kate\u202E@example.com": "invisible_character", // right-to-left override
				"\u200Fkate@example.com": "invisible_character", // right-to-left mark
				"kate@\u2066example.com": "invisible_character", // left-to-right isolate
			}
			routes := map[string]func(email string) any{
				"/api/signup":               func(e string) any { return map[string]string{"email": e, "password": goodPassword} },
				"/api/signin/password":      func(e string) any { return map[string]string{"email": e, "password": goodPassword} },
				"/api/email/start":          func(e string) any { return map[string]string{"email": e} },
				"/api/passkeys/login/begin": func(e string) any { return map[string]string{"email": e} },
				"/api/signin/recovery-code": func(e string) any { return map[string]string{"email": e, "code": "ABCDE-FGHJK"} },
			}
			before, mails := users(), s.box.Count()
			for email, reason := range addresses {
				for path, body := range routes {
					r := s.Client(t).JSON(http.MethodPost, path, body(email))
					e := wantAPIError(t, r, http.StatusBadRequest, "invalid_email")
					if e.Error.Reason != reason || e.Error.Field != "email" {
						t.Errorf("%s %q: reason %q field %q, want %s on email", path, email, e.Error.Reason, e.Error.Field, reason)
					}
					// The words say what is wrong, not only "enter an address".
					if words := map[string]string{"lookalike_character": "only looks like", "invisible_character": "invisible character"}[reason]; !strings.Contains(e.Error.Message, words) {
						t.Errorf("%s %q: message %q does not say why", path, email, e.Error.Message)
					}
				}
			}
			if users() != before {
				t.Errorf("%d accounts after the refusals, want %d", users(), before)
			}
			if n := s.box.Count(); n != mails {
				t.Errorf("%d mails sent for refused addresses", n-mails)
			}
		})

		t.Run("spellings of one mailbox are one account", func(t *testing.T) {
			signup := func(email string) *servertest.Response {
				return s.Client(t).JSON(http.MethodPost, "/api/signup", map[string]string{"email": email, "password": goodPassword})
			}
			taken := signup(jose)
			wantAPIError(t, taken, http.StatusConflict, "email_taken")
			for _, spelling := range []string{
				"jose\u0301@bücher.de",        // NFD
				"jos\u00e9@xn--bcher-kva.de",  // punycode
				"jose\u0301@XN--BCHER-KVA.DE", // both, in capitals
				"jos\u00e9@BÜCHER.DE",         // a Unicode domain in capitals
			} {
				// The answer for a taken address, byte for byte: nothing tells
				// a spelling from the address itself.
				if r := signup(spelling); r.Status != taken.Status || string(r.Body) != string(taken.Body) {
					t.Errorf("sign-up %q: %d %s, want the taken answer %d %s", spelling, r.Status, r.Body, taken.Status, taken.Body)
				}
				c := s.Client(t)
				if r := c.Signin(spelling, goodPassword); r.Status != http.StatusOK {
					t.Errorf("sign-in %q: %d %s", spelling, r.Status, r.Body)
				} else if got := currentSession(t, c).User.Email; got != jose {
					t.Errorf("sign-in %q opened %q, want %q", spelling, got, jose)
				}
			}
			for _, spelling := range []string{"KATE@example.com", "kate@EXAMPLE.com"} {
				if r := signup(spelling); r.Status != http.StatusConflict {
					t.Errorf("sign-up %q: %d, want 409 like %s", spelling, r.Status, kate)
				}
			}
		})

		t.Run("email sign-in mails the stored address, never the typed spelling", func(t *testing.T) {
			for _, tt := range []struct{ typed, rcpt string }{
				{"KATE@EXAMPLE.COM", "Kate@example.com"},
				{"jose\u0301@XN--BCHER-KVA.DE", "jos\u00e9@xn--bcher-kva.de"}, // the stored address, its domain in ASCII for SMTP
			} {
				s.start(t, s.Client(t), tt.typed)
				m := s.box.find(t, "the sign-in mail for "+tt.typed, func(got []mailtest.Message) (mailtest.Message, bool) {
					for _, m := range got {
						if isSigninMail(t, m.Raw) && slices.Contains(m.To, tt.rcpt) {
							return m, true
						}
					}
					return mailtest.Message{}, false
				})
				if len(m.To) != 1 {
					t.Errorf("mail to %q", m.To)
				}
			}
			for _, m := range s.box.Messages() {
				for _, r := range m.To {
					if r == "KATE@EXAMPLE.COM" || r == "kate@example.com" {
						t.Errorf("a mail went to the typed spelling %q", r)
					}
				}
			}
		})

		t.Run("an email change to a look-alike is refused", func(t *testing.T) {
			// An unproven address may not move at all (T3): prove Kate's first.
			u, err := s.DB.FindUserByEmailKey(ctx, "kate@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DB.VerifyUserEmail(ctx, u.ID, s.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			r := kateC.JSON(http.MethodPost, "/api/account/email", map[string]string{"email": "kate\u200B@example.org"})
			if e := wantAPIError(t, r, http.StatusBadRequest, "invalid_email"); e.Error.Reason != "invisible_character" {
				t.Errorf("reason %q, want invisible_character", e.Error.Reason)
			}
		})
	})
}
