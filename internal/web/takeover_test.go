package web_test

// End-to-end tests of the account-takeover paths through email (threats
// T1, T2, T3 and T14 of docs/security.md): a real keyshift on each backend,
// a real SMTP server, clients speaking HTTP as browsers and scripts do.

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

var (
	cancelRE = regexp.MustCompile(`https?://[^\s"<>]+/email/cancel\?token=([A-Za-z0-9_-]+)`)
	disownRE = regexp.MustCompile(`https?://[^\s"<>]+/email/disown\?token=([A-Za-z0-9_-]+)`)
)

// stealAccount is the thief of T1: a password they learnt signs them in on
// a browser of their own, which asks to move the account to their address
// and confirms it from their mailbox. It returns the thief's browser and
// the owner's revert link's token.
func stealAccount(t *testing.T, s *noticeSite, email, password, to string) (thief *servertest.Client, revert string) {
	t.Helper()
	thief = s.Client(t)
	wantStatus(t, thief.Signin(email, password), http.StatusOK)
	wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": to}), http.StatusAccepted)
	_, token := linkIn(t, s.box.waitMail(t, to, "Confirm your new email address"), changeRE)
	wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}), http.StatusOK)
	_, revert = linkIn(t, s.box.waitMail(t, email, "now uses another email address"), revertRE)
	return thief, revert
}

// TestTheOwnersRevertCannotBeBlocked is T1 end to end: after a thief moved
// the account, the old address answers a stranger's password sign-up, an
// email sign-in and another member's change exactly as a taken address
// does, so the owner's revert still works — and it ends every session and
// voids every link the thief holds.
func TestTheOwnersRevertCannotBeBlocked(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		bob := newMemberWithoutPasskey(t, s.liveSite, "bob@example.com")
		s.verify(t, bob.email)
		s.Clock.Advance(time.Minute)
		thief, revert := stealAccount(t, s, ada.email, goodPassword, "thief@evil.example")
		users := s.written().users

		// A stranger's sign-up for the old address and for Bob's: alike.
		signup := func(email string) *servertest.Response {
			return postJSON(s.Client(t), "/api/signup", credentials(email, "a squatter's passphrase"), "X-Forwarded-For", "203.0.113.50")
		}
		reserved, taken := signup("Ada@example.com"), signup("bob@example.com")
		wantAPIError(t, reserved, http.StatusConflict, "email_taken")
		if reserved.Status != taken.Status || !bytes.Equal(reserved.Body, taken.Body) {
			t.Errorf("the old address answers %d %s, a taken one %d %s", reserved.Status, reserved.Body, taken.Status, taken.Body)
		}
		form := s.Client(t).Form("/signup", url.Values{"email": {"ada@example.com"}, "password": {"a squatter's passphrase"}})
		formTaken := s.Client(t).Form("/signup", url.Values{"email": {"bob@example.com"}, "password": {"a squatter's passphrase"}})
		if form.Status != http.StatusConflict || visibleText(string(form.Body)) != strings.ReplaceAll(visibleText(string(formTaken.Body)), "bob@example.com", "ada@example.com") {
			t.Errorf("the sign-up form answers the old address differently from a taken one:\n%s\n%s", visibleText(string(form.Body)), visibleText(string(formTaken.Body)))
		}

		// An email sign-in for the old address is a member's, not a new
		// account's: its mail says "sign in", and it signs in to the
		// account that holds the address.
		stranger := s.Client(t)
		wantStatus(t, stranger.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		m := s.box.nth(t, "ada@example.com", 1)
		if strings.Contains(m.text, "create your") {
			t.Errorf("the sign-in mail for the old address offers a new account:\n%s", m.text)
		}
		// Only the mailbox's reader — the owner — can use it; it opens the
		// account, as a taken address's mail would, and makes none.
		mailReader := s.Client(t)
		r, got := finishEmail(t, mailReader, map[string]any{"token": m.token})
		if r.Status != http.StatusOK || got.User.ID != ada.id || bytes.Contains(r.Body, []byte(`"cleared"`)) {
			t.Errorf("the old address's sign-in mail: %d %s", r.Status, r.Body)
		}
		// Bob asking to move to the old address is refused like a move to
		// a taken address, when his link is used.
		wantStatus(t, bob.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		_, bobs := linkIn(t, s.box.waitMail(t, "ada@example.com", "Confirm your new email address"), changeRE)
		r = s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": bobs})
		wantRefused(t, r, http.StatusConflict, "email_taken", "in_use")
		if got := s.written().users; got != users {
			t.Fatalf("%d accounts were made for the old address", got-users)
		}

		// What the thief holds before the owner acts: a second change on
		// its way, and an email sign-in of the address they moved it to.
		wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "thief2@evil.example"}), http.StatusAccepted)
		_, pending := linkIn(t, s.box.waitMail(t, "thief2@evil.example", "Confirm your new email address"), changeRE)
		wantStatus(t, thief.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "thief@evil.example"}), http.StatusAccepted)
		flow := s.box.nth(t, "thief@evil.example", 1)

		page := wantPage(t, s.Client(t).Form("/email/revert", url.Values{"token": {revert}}), http.StatusOK)
		if !strings.Contains(visibleText(page), "Your account uses ada@example.com again") {
			t.Errorf("the revert page says:\n%s", visibleText(page))
		}
		for name, c := range map[string]*servertest.Client{"the thief": thief, "the owner": ada.c, "the old address's email sign-in": mailReader} {
			if r := c.JSON(http.MethodGet, "/api/session", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("%s is still signed in after the revert: %d", name, r.Status)
			}
		}
		wantInvalidCode(t, "the thief's pending change", s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": pending}))
		r, _ = finishEmail(t, thief, map[string]any{"token": flow.token})
		wantInvalidCode(t, "the thief's email sign-in started before the revert", r)
		wantStatus(t, s.Client(t).Signin("ada@example.com", goodPassword), http.StatusOK)
		wantStatus(t, s.Client(t).Signin("thief@evil.example", goodPassword), http.StatusUnauthorized)
	})
}

// TestARevertUndoesWhatTheThiefAdded is T2 end to end: what the thief
// added after signing in — a passkey, recovery codes, a new password — is
// gone after the revert, the owner's own passkey and password work again,
// the revert page and a notice to the old address say what was removed, and
// while the revert window lasts every notice also reaches the old address.
func TestARevertUndoesWhatTheThiefAdded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database, fullEmailSessions)
		ada := newPasskeyMember(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		s.Clock.Advance(time.Minute)

		thief := s.Client(t)
		wantStatus(t, thief.Signin(ada.email, goodPassword), http.StatusOK)
		thiefKey := newSoftKey(t, s.liveSite)
		wantStatus(t, thiefKey.register(thief), http.StatusCreated)
		// The password alone no longer reaches what the owner's passkey
		// guards; the key the thief just added does (docs/security.md,
		// "Step-up").
		wantStatus(t, stepUpWith(t, thief, thiefKey), http.StatusOK)
		codes := newRecoveryCodes(t, thief)
		// Making codes tells the member.
		wantNotice(t, s, s.box.waitMail(t, ada.email, "New recovery codes were made"), "new set of recovery codes")
		wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "thief@evil.example"}), http.StatusAccepted)
		_, token := linkIn(t, s.box.waitMail(t, "thief@evil.example", "Confirm your new email address"), changeRE)
		wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}), http.StatusOK)
		_, revert := linkIn(t, s.box.waitMail(t, ada.email, "now uses another email address"), revertRE)

		r := thief.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "the thief's passphrase"})
		wantStatus(t, r, http.StatusOK)
		// During the window the old address hears of it too.
		for _, to := range []string{"thief@evil.example", ada.email} {
			s.box.waitMail(t, to, "password was changed")
		}

		r = s.Client(t).JSON(http.MethodPost, "/api/account/email/revert", map[string]any{"token": revert})
		wantStatus(t, r, http.StatusOK)
		var got struct {
			User struct {
				Email        string `json:"email"`
				HasPassword  bool   `json:"hasPassword"`
				PasskeyCount int    `json:"passkeyCount"`
			} `json:"user"`
			Removed struct {
				Password      *string  `json:"password"`
				Passkeys      []string `json:"passkeys"`
				RecoveryCodes int      `json:"recoveryCodes"`
				Sessions      int      `json:"sessions"`
			} `json:"removed"`
		}
		r.JSON(t, &got)
		if got.User.Email != ada.email || !got.User.HasPassword || got.User.PasskeyCount != 1 || got.Removed.Password == nil ||
			*got.Removed.Password != "restored" || len(got.Removed.Passkeys) != 1 || got.Removed.RecoveryCodes != 10 || got.Removed.Sessions != 1 {
			t.Errorf("revert answer %s", r.Body)
		}
		m := s.box.waitMail(t, ada.email, "uses this address again")
		for _, want := range []string{"set back to the one from before", "10 recovery codes made since the change were removed", "(as named by whoever added it)"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the revert notice lacks %q:\n%s", want, m.Text)
			}
		}

		wantAPIError(t, thiefKey.signin(s.Client(t), map[string]any{}, "modal"), http.StatusUnauthorized, "passkey_rejected")
		wantStatus(t, recoverySignin(s.Client(t), ada.email, codes[0]), http.StatusUnauthorized)
		wantStatus(t, s.Client(t).Signin(ada.email, "the thief's passphrase"), http.StatusUnauthorized)
		wantStatus(t, s.Client(t).Signin(ada.email, goodPassword), http.StatusOK)
		wantStatus(t, ada.key.signin(s.Client(t), map[string]any{}, "modal"), http.StatusOK)
		if u, err := s.DB.FindUser(context.Background(), ada.id); err != nil || u.DeviceEpoch == 0 {
			t.Errorf("the device epoch did not move: %+v, %v", u, err)
		}
		// The revert ended the window: notices reach the member only.
		before := s.box.count("thief@evil.example")
		fresh := s.Client(t)
		wantStatus(t, ada.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
		newRecoveryCodes(t, fresh)
		s.box.find(t, "a second recovery-codes notice", func(got []mailtest.Message) (mailtest.Message, bool) {
			var seen []mailtest.Message
			for _, m := range got {
				if len(m.To) == 1 && m.To[0] == ada.email && strings.Contains(mailtest.Decode(t, m.Raw).Subject, "New recovery codes") {
					seen = append(seen, m)
				}
			}
			return mailtest.Message{}, len(seen) == 2
		})
		if n := s.box.count("thief@evil.example"); n != before {
			t.Errorf("the thief's address got %d more mails after the revert", n-before)
		}
	})
}

// TestTheRevertPageSaysWhatItRemoved: the page behind the revert link
// lists what the revert undid.
func TestTheRevertPageSaysWhatItRemoved(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		s.Clock.Advance(time.Minute)
		thief, revert := stealAccount(t, s, ada.email, goodPassword, "thief@evil.example")
		newRecoveryCodes(t, thief)
		page := visibleText(wantPage(t, s.Client(t).Form("/email/revert", url.Values{"token": {revert}}), http.StatusOK))
		for _, want := range []string{"Undone since your address was changed", "Browsers signed out: 2.", "Recovery codes removed: 10."} {
			if !strings.Contains(page, want) {
				t.Errorf("the revert page lacks %q:\n%s", want, page)
			}
		}
	})
}

// TestTheSignupsOwnLinkRatifiesItFromAnyBrowser is T3 (a): the mail a
// sign-up sends says plainly that an account was made, when and from which
// browser; its link confirms the address from any browser, and the member
// keeps their password — no clearing for the one proof that told them.
func TestTheSignupsOwnLinkRatifiesItFromAnyBrowser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		c := s.Client(t)
		r := c.Do(http.MethodPost, "/api/signup", credentials("ada@example.com", goodPassword), jsonHeader(
			"User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"))
		wantStatus(t, r, http.StatusCreated)
		m := s.box.waitMail(t, "ada@example.com", "Confirm your email address")
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			for _, want := range []string{"was created with this email address on", "from Safari on Mac", "/email/disown?token="} {
				if !strings.Contains(body, want) {
					t.Errorf("the %s part lacks %q:\n%s", part, want, body)
				}
			}
			if strings.Contains(body, "AppleWebKit") {
				t.Errorf("the %s part shows the raw User-Agent", part)
			}
		}
		_, token := confirmToken(t, s.box, "ada@example.com")
		wantStatus(t, confirmAPI(s.Client(t), token), http.StatusOK)
		if !verified(t, c) {
			t.Error("not verified after the link")
		}
		wantStatus(t, c.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)
		wantStatus(t, s.Client(t).Signin("ada@example.com", goodPassword), http.StatusOK)
		// Later email sign-ins clear nothing: the address was proven.
		r, got := emailLinkSignin(t, s, s.Client(t), "ada@example.com", 1)
		if bytes.Contains(r.Body, []byte(`"cleared"`)) || !got.User.HasPassword {
			t.Errorf("an email sign-in of a ratified sign-up: %s", r.Body)
		}
		wantStatus(t, c.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)
	})
}

// emailLinkSignin signs in to email on c with the link of its n-th sign-in
// mail, and returns the answer.
func emailLinkSignin(t *testing.T, s *noticeSite, c *servertest.Client, email string, n int) (*servertest.Response, emailSignin) {
	t.Helper()
	wantStatus(t, c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": email}), http.StatusAccepted)
	m := s.box.nth(t, email, n)
	return finishEmail(t, c, map[string]any{"token": m.token})
}

// TestThisWasntMeTakesTheAccountFromItsMaker is T3 (a)'s other answer: the
// mailbox's owner says "This wasn't me"; whoever signed up with their
// address loses password, passkeys and sessions, and the owner can sign in
// by email to an account with nothing of the squatter's.
func TestThisWasntMeTakesTheAccountFromItsMaker(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		squatter := newPasskeyMember(t, s.liveSite, "victim@example.com")
		m := s.box.waitMail(t, "victim@example.com", "Confirm your email address")
		link, token := linkIn(t, m, disownRE)

		page := wantPage(t, s.Client(t).Do(http.MethodGet, strings.TrimPrefix(link, s.URL), nil, nil), http.StatusOK)
		if !strings.Contains(page, `action="/email/disown"`) || !strings.Contains(page, token) {
			t.Errorf("the disown page has no form for the token:\n%s", page)
		}
		wantStatus(t, squatter.c.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)

		done := wantPage(t, s.Client(t).Form("/email/disown", url.Values{"token": {token}}), http.StatusOK)
		if !strings.Contains(visibleText(done), "can no longer sign in to it") {
			t.Errorf("the disown page says:\n%s", visibleText(done))
		}
		wantSignedOut(t, squatter.c)
		wantStatus(t, s.Client(t).Signin("victim@example.com", goodPassword), http.StatusUnauthorized)
		wantAPIError(t, squatter.key.signin(s.Client(t), map[string]any{}, "modal"), http.StatusUnauthorized, "passkey_rejected")
		wantInvalidCode(t, "the confirmation link after disowning", confirmAPI(s.Client(t), token))
		wantInvalidCode(t, "disowning twice", s.Client(t).JSON(http.MethodPost, "/api/email/disown", map[string]any{"token": token}))

		owner := s.Client(t)
		r, got := emailLinkSignin(t, s, owner, "victim@example.com", 1)
		wantStatus(t, r, http.StatusOK)
		if !got.User.EmailVerified || got.User.HasPassword || bytes.Contains(r.Body, []byte(`"cleared"`)) {
			t.Errorf("the owner's first sign-in: %s", r.Body)
		}
	})
}

// TestTheFirstProofOfAMailboxClearsASquattersAccount is T3 (b): a stranger
// signed up with the owner's address and added a passkey; the owner's
// first email sign-in (link or code) removes both and every other session,
// the answer says so ("cleared"), and the page explains and offers a
// passkey.
func TestTheFirstProofOfAMailboxClearsASquattersAccount(t *testing.T) {
	for _, how := range []string{"api link", "api code", "page link"} {
		t.Run(strings.ReplaceAll(how, " ", "_"), func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				s := startNoticeSite(t, database)
				squatter := newPasskeyMember(t, s.liveSite, "victim@example.com")
				owner := s.Client(t)
				wantStatus(t, owner.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "victim@example.com"}), http.StatusAccepted)
				m := s.box.nth(t, "victim@example.com", 1)
				var r *servertest.Response
				switch how {
				case "api link":
					r, _ = finishEmail(t, owner, map[string]any{"token": m.token})
				case "api code":
					var flow struct {
						FlowID string `json:"flowId"`
					}
					owner.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "victim@example.com"}).JSON(t, &flow)
					r, _ = finishEmail(t, owner, map[string]any{"flowId": flow.FlowID, "code": m.code})
				case "page link":
					r = owner.Form("/email/verify", url.Values{"token": {m.token}})
				}
				if how == "page link" {
					wantStatus(t, r, http.StatusSeeOther)
					// By the nudge's page, which goes on to the account page
					// with what the sign-in removed.
					loc := r.Header.Get("Location")
					next := "/account?cleared=" + url.QueryEscape("password,passkeys,sessions")
					if loc != "/welcome/passkey?next="+url.QueryEscape(next) {
						t.Fatalf("the page goes to %q", loc)
					}
					welcome := wantPage(t, owner.Do(http.MethodGet, loc, nil, nil), http.StatusOK)
					if !strings.Contains(welcome, `data-skip="`+html.EscapeString(next)+`"`) {
						t.Errorf("the nudge's page does not go on to %s", next)
					}
					page := visibleText(wantPage(t, owner.Do(http.MethodGet, next, nil, nil), http.StatusOK))
					for _, want := range []string{"Someone had made this account with your email address", "the password", "its passkeys",
						"Add a passkey below"} {
						if !strings.Contains(page, want) {
							t.Errorf("the account page lacks %q:\n%s", want, page)
						}
					}
					// The same words on an ordinary page are not shown.
					if p := visibleText(wantPage(t, squatterPage(t, s), http.StatusOK)); strings.Contains(p, "Someone had made this account") {
						t.Errorf("a forged ?cleared= raised the alarm:\n%s", p)
					}
				} else {
					wantStatus(t, r, http.StatusOK)
					var got struct {
						User    emailSignin `json:"-"`
						Cleared []string    `json:"cleared"`
						Next    *string     `json:"next"`
					}
					r.JSON(t, &got)
					if !slices.Equal(got.Cleared, []string{"password", "passkeys", "sessions"}) || got.Next == nil || *got.Next != "enroll_passkey" {
						t.Errorf("sign-in answer %s", r.Body)
					}
				}
				wantSignedOut(t, squatter.c)
				wantStatus(t, s.Client(t).Signin("victim@example.com", goodPassword), http.StatusUnauthorized)
				wantAPIError(t, squatter.key.signin(s.Client(t), map[string]any{}, "modal"), http.StatusUnauthorized, "passkey_rejected")
				if _, v := sessionMethod(t, owner); !v {
					t.Error("the owner's address is not verified after the first proof")
				}
				// The sign-up's own links are void now: nothing is left to
				// ratify or disown.
				_, token := confirmToken(t, s.box, "victim@example.com")
				wantInvalidCode(t, "the sign-up's link after the first proof", confirmAPI(s.Client(t), token))
			})
		})
	}
}

// squatterPage is /account?cleared=… on a member's ordinary browser (a
// password sign-in), as a forged link would open it.
func squatterPage(t *testing.T, s *noticeSite) *servertest.Response {
	t.Helper()
	c := newMemberWithoutPasskey(t, s.liveSite, "someone@example.com").c
	return c.Do(http.MethodGet, "/account?cleared=password,passkeys", nil, nil)
}

// TestAnUnverifiedAccountCannotMoveOrMakeRecoveryCodes: until its address
// is proven an account may be a stranger's sign-up, so it can neither move
// its address nor make recovery codes, which would outlive the owner's
// clean-up: 403 email_unverified, and the page offers neither.
func TestAnUnverifiedAccountCannotMoveOrMakeRecoveryCodes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		sq := newMemberWithoutPasskey(t, s.liveSite, "victim@example.com")
		wantAPIError(t, sq.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "mine@evil.example"}), http.StatusForbidden, "email_unverified")
		wantAPIError(t, sq.c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{}), http.StatusForbidden, "email_unverified")
		if n := s.box.count("mine@evil.example"); n != 0 {
			t.Errorf("%d mails for a refused change", n)
		}
		page := wantPage(t, sq.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		for _, absent := range []string{`action="/account/email"`, `action="/account/recovery-codes"`} {
			if strings.Contains(page, absent) {
				t.Errorf("the page of an unverified account offers %s", absent)
			}
		}
		for _, want := range []string{`id="email-change-unverified"`, `id="recovery-unverified"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		form := wantPage(t, sq.c.Form("/account/recovery-codes", url.Values{}), http.StatusForbidden)
		if !strings.Contains(visibleText(form), "Confirm your email address first") {
			t.Errorf("the refused form says:\n%s", visibleText(form))
		}
	})
}

// TestAPendingChangeDiesWithEveryCleanUp is T14: a thief's pending change
// dies when the owner signs out everywhere, changes or removes the
// password, removes a passkey or signs in with a recovery code, and when
// the session that asked ends.
func TestAPendingChangeDiesWithEveryCleanUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cleanUp func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client)
	}{
		{"sign out everywhere", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			fresh := s.Client(t)
			wantStatus(t, fresh.Signin(owner.email, goodPassword), http.StatusOK)
			wantStatus(t, fresh.JSON(http.MethodDelete, "/api/sessions", nil), http.StatusNoContent)
		}},
		{"a password change", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			fresh := s.Client(t)
			wantStatus(t, owner.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
			wantStatus(t, fresh.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "the owner's new passphrase"}), http.StatusOK)
		}},
		{"a password removal", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			fresh := s.Client(t)
			wantStatus(t, owner.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
			wantStatus(t, fresh.JSON(http.MethodDelete, "/api/account/password", nil), http.StatusNoContent)
		}},
		{"a passkey removal", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			fresh := s.Client(t)
			wantStatus(t, owner.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
			id := listPasskeys(t, fresh)[0].ID
			wantStatus(t, fresh.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusNoContent)
		}},
		{"a recovery-code sign-in", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			wantStatus(t, recoverySignin(s.Client(t), owner.email, codes[0]), http.StatusOK)
		}},
		{"the asking session signed out", func(t *testing.T, s *noticeSite, owner *passkeyMember, codes []string, thief *servertest.Client) {
			wantStatus(t, thief.JSON(http.MethodDelete, "/api/session", nil), http.StatusNoContent)
		}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				s := startNoticeSite(t, database, fullEmailSessions)
				owner := newPasskeyMember(t, s.liveSite, "ada@example.com")
				s.verify(t, owner.email)
				stepUp(t, owner)
				codes := newRecoveryCodes(t, owner.c)
				thief := s.Client(t)
				wantStatus(t, thief.Signin(owner.email, goodPassword), http.StatusOK)
				// The thief confirms with a passkey they add (the
				// password alone does not reach the email change).
				wantStatus(t, stepUpWith(t, thief, registered(t, s.liveSite, thief)), http.StatusOK)
				wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "thief@evil.example"}), http.StatusAccepted)
				_, token := linkIn(t, s.box.waitMail(t, "thief@evil.example", "Confirm your new email address"), changeRE)
				tc.cleanUp(t, s, owner, codes, thief)
				wantInvalidCode(t, "the thief's confirmation after "+tc.name,
					s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}))
				if n := queued(t, s.Instance, notice.KindEmailChanged, owner.email); n != 0 {
					t.Errorf("the account moved: %d change notices", n)
				}
			})
		})
	}
}

// TestTheCurrentAddressCanCancelAChangeAtOnce is T14's mail: asking for a
// change mails the current address at once, with a link that cancels the
// change and signs every browser out; its landing page changes nothing.
func TestTheCurrentAddressCanCancelAChangeAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		thief := s.Client(t)
		wantStatus(t, thief.Signin(ada.email, goodPassword), http.StatusOK)
		wantStatus(t, thief.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "thief@evil.example"}), http.StatusAccepted)
		m := s.box.waitMail(t, ada.email, "Someone asked to move your")
		wantNotice(t, s, m, "t…@evil.example")
		_, cancel := linkIn(t, m, cancelRE)
		_, token := linkIn(t, s.box.waitMail(t, "thief@evil.example", "Confirm your new email address"), changeRE)

		wantLanding(t, s, "/email/cancel", cancel, "/email/cancel")
		wantStatus(t, thief.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)
		page := visibleText(wantPage(t, s.Client(t).Form("/email/cancel", url.Values{"token": {cancel}}), http.StatusOK))
		if !strings.Contains(page, "Your account keeps ada@example.com") {
			t.Errorf("the cancel page says:\n%s", page)
		}
		wantSignedOut(t, thief)
		wantSignedOut(t, ada.c)
		wantInvalidCode(t, "the cancelled change", s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}))
		wantInvalidCode(t, "a used cancel link", s.Client(t).JSON(http.MethodPost, "/api/account/email/cancel", map[string]any{"token": cancel}))
		wantStatus(t, s.Client(t).Form("/email/cancel", url.Values{"token": {cancel}}), http.StatusUnauthorized)
	})
}

// TestTheCancelAPI: POST /api/account/email/cancel takes the token without
// a session and answers the account as it stays.
func TestTheCancelAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		wantStatus(t, ada.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "nova@example.org"}), http.StatusAccepted)
		_, cancel := linkIn(t, s.box.waitMail(t, ada.email, "Someone asked to move your"), cancelRE)
		r := s.Client(t).JSON(http.MethodPost, "/api/account/email/cancel", map[string]any{"token": cancel})
		wantStatus(t, r, http.StatusOK)
		var got userOf
		r.JSON(t, &got)
		if got.User.Email != ada.email {
			t.Errorf("cancel answer %s", r.Body)
		}
		for name, body := range map[string]any{"garbage": map[string]any{"token": "../x"}, "a number": map[string]any{"token": 7}} {
			r := s.Client(t).JSON(http.MethodPost, "/api/account/email/cancel", body)
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
	})
}
