package web_test

// Email sign-in of passkey members (email_signin.passkey_accounts) and the
// probation of passkeys added through it (docs/security.md, "Probation"
// and T29), end to end over HTTP with real SMTP, on every backend.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// probationSite is a passkey site whose mail reaches a real SMTP server,
// under the email_signin.passkey_accounts policy it was started with.
type probationSite struct {
	*liveSite
	box mailbox
}

func startProbationSite(t *testing.T, database, policy string) *probationSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	s := startPasskeySite(t, database, func(c *config.Config) {
		c.SMTPURLs = []string{box.URL()}
		c.EmailSignin.PasskeyAccounts = policy
	})
	return &probationSite{liveSite: s, box: box}
}

// owner is a member with a verified address and one passkey, signed in on
// their own client.
func (s *probationSite) owner(t *testing.T, email string) *passkeyMember {
	t.Helper()
	m := newPasskeyMember(t, s.liveSite, email)
	s.verify(t, email)
	return m
}

// emailSignin signs a fresh client in with the n-th sign-in mail's code to
// email, as a thief holding the mailbox would, and returns the client and
// the answer.
func (s *probationSite) emailSignin(t *testing.T, email string, n int) (*servertest.Client, *servertest.Response) {
	t.Helper()
	c := s.client()
	r := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": email})
	wantStatus(t, r, http.StatusAccepted)
	var started struct {
		FlowID string `json:"flowId"`
	}
	r.JSON(t, &started)
	m := s.box.nth(t, email, n)
	return c, c.JSON(http.MethodPost, "/api/email/finish", map[string]any{"flowId": started.FlowID, "code": m.code})
}

var disownLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/passkeys/wasnt-me\?token=([A-Za-z0-9_-]+)`)

// probationMail waits for the notice of a passkey on probation to email and
// returns its "This wasn't me" token.
func (s *probationSite) probationMail(t *testing.T, email string) string {
	t.Helper()
	m := s.box.find(t, "probation notice to "+email, func(got []mailtest.Message) (mailtest.Message, bool) {
		for _, m := range got {
			if strings.EqualFold(m.To[0], email) && strings.Contains(mailtest.Decode(t, m.Raw).Subject, "after an email sign-in") {
				return m, true
			}
		}
		return mailtest.Message{}, false
	})
	d := mailtest.Decode(t, m.Raw)
	lm := disownLinkRE.FindStringSubmatch(d.Text)
	if lm == nil || !strings.Contains(d.HTML, "token="+lm[1]) {
		t.Fatalf("no This wasn't me link in both parts of the notice:\n%s", d.Text)
	}
	return lm[1]
}

// notices is GET /api/session's "notices" on c.
func notices(t *testing.T, c *servertest.Client) []struct {
	Kind      string `json:"kind"`
	PasskeyID string `json:"passkeyId"`
	Until     string `json:"until"`
} {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/session", nil)
	wantStatus(t, r, http.StatusOK)
	var v struct {
		Notices []struct {
			Kind      string `json:"kind"`
			PasskeyID string `json:"passkeyId"`
			Until     string `json:"until"`
		} `json:"notices"`
	}
	r.JSON(t, &v)
	if v.Notices == nil {
		t.Fatalf("no notices array in %s", r.Body)
	}
	return v.Notices
}

// sessionExpiry returns c's session's expiresAt.
func sessionExpiry(t *testing.T, c *servertest.Client) time.Time {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/session", nil)
	wantStatus(t, r, http.StatusOK)
	var v struct {
		Session struct {
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"session"`
	}
	r.JSON(t, &v)
	return v.Session.ExpiresAt
}

// sensitiveRefusals tries every action probation guards on c and wants
// each refused with code (and, for credential_on_probation, an until).
func sensitiveRefusals(t *testing.T, c *servertest.Client, ownersPasskey, code string) {
	t.Helper()
	for name, r := range map[string]*servertest.Response{
		"remove the owner's passkey": c.JSON(http.MethodDelete, "/api/passkeys/"+ownersPasskey, nil),
		"change the email":           c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "thief@example.net"}),
		"change the password":        c.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": "guess", "newPassword": "a thief's new passphrase"}),
		"remove the password":        c.JSON(http.MethodDelete, "/api/account/password", nil),
		"make recovery codes":        c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{}),
		"export the account":         c.JSON(http.MethodGet, "/api/account/export", nil),
	} {
		t.Run(name, func(t *testing.T) {
			e := wantAPIError(t, r, http.StatusForbidden, code)
			if code == "credential_on_probation" && (e.Error.Until == "" || !strings.Contains(e.Error.Message, "until")) {
				t.Errorf("no end of probation in %s", r.Body)
			}
		})
	}
}

// TestT29AThiefsPasskeyAddedAfterAnEmailSigninIsOnProbation: under the
// default policy (restricted) a thief who holds the owner's mailbox signs
// in by email (a session of at most an hour, cookie too), adds their own
// passkey and steps up with it — and still cannot remove the owner's
// passkey, change the email or the password, make recovery codes or export,
// for 24 hours: 403 credential_on_probation with when it ends. The owner
// is mailed at once. After the probation a session of that passkey may.
func TestT29AThiefsPasskeyAddedAfterAnEmailSigninIsOnProbation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsRestricted)
		ada := s.owner(t, "ada@example.com")
		adasPasskey := listPasskeys(t, ada.c)[0].ID

		thief, r := s.emailSignin(t, ada.email, 1)
		wantStatus(t, r, http.StatusOK)
		if ck := setCookie(t, r, sessionCookie); ck == nil || ck.MaxAge > 3600 || ck.MaxAge < 3500 {
			t.Errorf("email sign-in cookie of a passkey member: %+v, want Max-Age of about an hour", ck)
		}
		if left := time.Until(sessionExpiry(t, thief)); left > time.Hour+time.Minute {
			t.Errorf("the session lasts %s, want at most an hour", left)
		}

		key := newSoftKey(t, s.liveSite)
		wantStatus(t, key.register(thief), http.StatusCreated)
		token := s.probationMail(t, ada.email)
		if token == "" {
			t.Fatal("no This wasn't me token")
		}
		wantStatus(t, stepUpWith(t, thief, key), http.StatusOK)
		sensitiveRefusals(t, thief, adasPasskey, "credential_on_probation")

		// A passkey sign-in with the thief's passkey is on probation too.
		other := s.client()
		wantStatus(t, key.signin(other, map[string]any{}, "modal"), http.StatusOK)
		sensitiveRefusals(t, other, adasPasskey, "credential_on_probation")

		// The email session ends within the hour, whatever its use.
		s.Clock.Advance(61 * time.Minute)
		wantSignedOut(t, thief)

		// After the probation a fresh session of that passkey may.
		s.Clock.Advance(24 * time.Hour)
		later := s.client()
		wantStatus(t, key.signin(later, map[string]any{}, "modal"), http.StatusOK)
		wantStatus(t, later.JSON(http.MethodDelete, "/api/passkeys/"+adasPasskey, nil), http.StatusNoContent)
	})
}

// TestAPasskeyOnProbationMayRemoveItselfButNoOlderOne: the session on
// probation may take back its own passkey, never an older one.
func TestAPasskeyOnProbationMayRemoveItselfButNoOlderOne(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsRestricted)
		ada := s.owner(t, "ada@example.com")
		older := listPasskeys(t, ada.c)[0].ID
		c, r := s.emailSignin(t, ada.email, 1)
		wantStatus(t, r, http.StatusOK)
		key := newSoftKey(t, s.liveSite)
		wantStatus(t, key.register(c), http.StatusCreated)
		wantStatus(t, stepUpWith(t, c, key), http.StatusOK)
		var newID string
		for _, p := range listPasskeys(t, ada.c) {
			if p.ID != older {
				newID = p.ID
			}
		}
		wantAPIError(t, c.JSON(http.MethodDelete, "/api/passkeys/"+older, nil), http.StatusForbidden, "credential_on_probation")
		wantStatus(t, c.JSON(http.MethodDelete, "/api/passkeys/"+newID, nil), http.StatusNoContent)
	})
}

// TestThisWasntMeFromTheMailWorksOnceUnderConcurrency: the notice's link
// opens a page that changes nothing; its POST, raced by eight requests,
// removes the thief's passkey exactly once and ends every session it
// proved or that added it, without signing in; the owner's own session
// stays.
func TestThisWasntMeFromTheMailWorksOnceUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsRestricted)
		ada := s.owner(t, "ada@example.com")
		thief, r := s.emailSignin(t, ada.email, 1)
		wantStatus(t, r, http.StatusOK)
		key := newSoftKey(t, s.liveSite)
		wantStatus(t, key.register(thief), http.StatusCreated)
		second := s.client()
		wantStatus(t, key.signin(second, map[string]any{}, "modal"), http.StatusOK)
		token := s.probationMail(t, ada.email)

		page := wantPage(t, s.client().Do(http.MethodGet, "/passkeys/wasnt-me?token="+url.QueryEscape(token), nil, nil), http.StatusOK)
		if !strings.Contains(page, `action="/passkeys/wasnt-me"`) {
			t.Errorf("the landing page posts nowhere:\n%s", page)
		}
		if n := len(listPasskeys(t, ada.c)); n != 2 {
			t.Fatalf("opening the link changed the passkeys: %d", n)
		}

		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			c := s.client()
			wg.Go(func() {
				statuses[i] = c.JSON(http.MethodPost, "/api/passkeys/wasnt-me", map[string]any{"token": token}).Status
			})
		}
		wg.Wait()
		won := 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				won++
			case http.StatusUnauthorized:
			default:
				t.Errorf("a racing request got %d", st)
			}
		}
		if won != 1 {
			t.Fatalf("%d requests removed the passkey, want 1 (%v)", won, statuses)
		}
		wantSignedOut(t, thief)
		wantSignedOut(t, second)
		if n := len(listPasskeys(t, ada.c)); n != 1 {
			t.Errorf("%d passkeys left, want the owner's one", n)
		}
		wantAPIError(t, s.client().JSON(http.MethodPost, "/api/passkeys/wasnt-me", map[string]any{"token": token}), http.StatusUnauthorized, "invalid_code")
		// The form's button after the race: the same refusal, on the page.
		f := s.client().Form("/passkeys/wasnt-me", url.Values{"token": {token}})
		if f.Status != http.StatusUnauthorized {
			t.Errorf("the used link's button: %d", f.Status)
		}
	})
}

// TestThisWasntMeFromTheBannerInAnotherSession: every other session of the
// member is told (GET /api/session's notices and a banner on /account),
// the thief's own sessions are not; the banner's button removes the
// passkey and signs the thief out; a passkey whose probation ended is no
// longer shown.
func TestThisWasntMeFromTheBannerInAnotherSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsRestricted)
		ada := s.owner(t, "ada@example.com")
		thief, r := s.emailSignin(t, ada.email, 1)
		wantStatus(t, r, http.StatusOK)
		key := newSoftKey(t, s.liveSite)
		wantStatus(t, key.register(thief), http.StatusCreated)

		if n := notices(t, thief); len(n) != 0 {
			t.Errorf("the thief's session is warned of its own passkey: %+v", n)
		}
		got := notices(t, ada.c)
		if len(got) != 1 || got[0].Kind != "passkey_probation" || got[0].Until == "" {
			t.Fatalf("the owner's notices: %+v", got)
		}
		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !strings.Contains(page, `id="probation-`+got[0].PasskeyID+`"`) || !strings.Contains(page, `action="/account/passkeys/`+got[0].PasskeyID+`/wasnt-me"`) {
			t.Fatalf("no banner with its button on /account:\n%s", page)
		}
		// The thief cannot use the button on the owner's passkey.
		wantAPIError(t, thief.JSON(http.MethodPost, "/api/passkeys/"+listPasskeys(t, ada.c)[0].ID+"/wasnt-me", map[string]any{}), http.StatusNotFound, "not_found")

		done := ada.c.Form("/account/passkeys/"+got[0].PasskeyID+"/wasnt-me", url.Values{})
		if done.Status != http.StatusOK || !strings.Contains(string(done.Body), "was removed") {
			t.Fatalf("the banner's button: %d\n%s", done.Status, done.Body)
		}
		wantSignedOut(t, thief)
		if n := len(listPasskeys(t, ada.c)); n != 1 {
			t.Errorf("%d passkeys left, want 1", n)
		}
		if n := notices(t, ada.c); len(n) != 0 {
			t.Errorf("the banner stays after the passkey went: %+v", n)
		}

		// Another passkey on probation: its banner goes when it ends.
		thief2, r := s.emailSignin(t, ada.email, 2)
		wantStatus(t, r, http.StatusOK)
		wantStatus(t, newSoftKey(t, s.liveSite).register(thief2), http.StatusCreated)
		if n := notices(t, ada.c); len(n) != 1 {
			t.Fatalf("notices %+v, want one", n)
		}
		s.Clock.Advance(24*time.Hour + time.Minute)
		ada.c.JSON(http.MethodGet, "/api/session", nil) // keeps the idle timeout at bay
		if n := notices(t, ada.c); len(n) != 0 {
			t.Errorf("the banner outlived the probation: %+v", n)
		}
	})
}

// TestFullEmailSigninIsTodaysBehaviour: under full an email session of a
// passkey member lasts as any other and a passkey it adds is on no
// probation: stepping up with it allows everything (T29 left open, which
// `keyshift audit` reports).
func TestFullEmailSigninIsTodaysBehaviour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsFull)
		ada := s.owner(t, "ada@example.com")
		adasPasskey := listPasskeys(t, ada.c)[0].ID
		thief, r := s.emailSignin(t, ada.email, 1)
		wantStatus(t, r, http.StatusOK)
		if ck := setCookie(t, r, sessionCookie); ck == nil || ck.MaxAge <= 3600 {
			t.Errorf("cookie %+v, want the full lifetime", ck)
		}
		key := newSoftKey(t, s.liveSite)
		wantStatus(t, key.register(thief), http.StatusCreated)
		wantStatus(t, stepUpWith(t, thief, key), http.StatusOK)
		wantStatus(t, thief.JSON(http.MethodDelete, "/api/passkeys/"+adasPasskey, nil), http.StatusNoContent)
	})
}

// TestMembersWithoutAPasskeyAreUnchangedByEveryPolicy: an email sign-in
// of a member without a passkey gets a full session, and their first
// passkey is on no probation, under every policy.
func TestMembersWithoutAPasskeyAreUnchangedByEveryPolicy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		for _, policy := range []string{config.PasskeyAccountsFull, config.PasskeyAccountsRestricted, config.PasskeyAccountsRequirePasskey} {
			t.Run(policy, func(t *testing.T) {
				s := startProbationSite(t, database, policy)
				email := "bo." + policy + "@example.com"
				newMemberWithoutPasskey(t, s.liveSite, email)
				s.verify(t, email)
				c, r := s.emailSignin(t, email, 1)
				wantStatus(t, r, http.StatusOK)
				if ck := setCookie(t, r, sessionCookie); ck == nil || ck.MaxAge <= 3600 {
					t.Errorf("cookie %+v, want the full lifetime", ck)
				}
				key := newSoftKey(t, s.liveSite)
				wantStatus(t, key.register(c), http.StatusCreated)
				if p := listPasskeys(t, c)[0]; p.ProbationUntil != nil {
					t.Errorf("first passkey on probation until %s", *p.ProbationUntil)
				}
			})
		}
	})
}

// TestRequirePasskeyAsksForAPasskeyInsteadOfSigningIn: under
// require_passkey a passkey member's email code and link prove the mailbox
// but sign nobody in — the API answers 409 passkey_required (reason
// email_signin), the landing page asks for a passkey on this device and
// offers the recovery code form — and the passkey then signs in. A member
// without a passkey signs in by email as before.
func TestRequirePasskeyAsksForAPasskeyInsteadOfSigningIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProbationSite(t, database, config.PasskeyAccountsRequirePasskey)
		ada := s.owner(t, "ada@example.com")

		c, r := s.emailSignin(t, ada.email, 1)
		e := wantAPIError(t, r, http.StatusConflict, "passkey_required")
		if e.Error.Reason != "email_signin" {
			t.Errorf("reason %q, want email_signin", e.Error.Reason)
		}
		if setCookie(t, r, sessionCookie) != nil {
			t.Error("a session cookie came with the refusal")
		}
		wantSignedOut(t, c)

		// The link's landing page: after Continue, a passkey or recovery.
		c2 := s.client()
		wantStatus(t, c2.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": ada.email}), http.StatusAccepted)
		m := s.box.nth(t, ada.email, 2)
		page := wantPage(t, c2.Form("/email/verify", url.Values{"token": {m.token}}), http.StatusOK)
		for _, want := range []string{`id="email-passkey-signin"`, `href="/signin#recovery-signin"`, `id="email-passkey-support"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the landing page lacks %s:\n%s", want, page)
			}
		}
		wantSignedOut(t, c2)
		// The link was used up by proving the mailbox.
		wantInvalidCode(t, "the link again", c2.JSON(http.MethodPost, "/api/email/finish", map[string]any{"token": m.token}))

		// With the passkey on this device, the member signs in.
		wantStatus(t, ada.key.signin(c2, map[string]any{}, "modal"), http.StatusOK)

		// A member without a passkey is signed in by email as before.
		newMemberWithoutPasskey(t, s.liveSite, "bo@example.com")
		s.verify(t, "bo@example.com")
		_, r = s.emailSignin(t, "bo@example.com", 1)
		wantStatus(t, r, http.StatusOK)
	})
}
