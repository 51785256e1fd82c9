package web_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

var (
	changeRE = regexp.MustCompile(`https?://[^\s"<>]+/email/change\?token=([A-Za-z0-9_-]+)`)
	revertRE = regexp.MustCompile(`https?://[^\s"<>]+/email/revert\?token=([A-Za-z0-9_-]+)`)
)

// linkIn returns the link re finds in both parts of m, and its token.
func linkIn(t *testing.T, m mailtest.Decoded, re *regexp.Regexp) (link, token string) {
	t.Helper()
	lm := re.FindStringSubmatch(m.Text)
	if lm == nil {
		t.Fatalf("no link in %q:\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, "token="+lm[1]) {
		t.Errorf("the HTML part of %q lacks the link:\n%s", m.Subject, m.HTML)
	}
	return lm[0], lm[1]
}

// userOf is the {"user"} answer.
type userOf struct {
	User struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"emailVerified"`
		HasPassword   bool   `json:"hasPassword"`
	} `json:"user"`
}

func wantCode(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Errorf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

// wantLanding checks a link's landing page: it posts the token to action,
// changes nothing by itself, and leaks no referrer.
func wantLanding(t *testing.T, s *noticeSite, path, token, action string) {
	t.Helper()
	page := s.Client(t).Do(http.MethodGet, path+"?token="+url.QueryEscape(token), nil, nil)
	wantStatus(t, page, http.StatusOK)
	if got := page.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q, want no-referrer", path, got)
	}
	if !bytes.Contains(page.Body, []byte(`action="`+action+`"`)) || !bytes.Contains(page.Body, []byte(token)) {
		t.Errorf("%s has no form posting the token:\n%s", path, page.Body)
	}
}

func TestEmailChangeConfirmAndRevert(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address moves
		laptop := s.Client(t)
		wantStatus(t, laptop.Signin(ada.email, goodPassword), http.StatusOK)

		// Asked by a session newer than the password: the revert below
		// leaves the password (one set by the asking session's own sign-in,
		// a sign-up, would go).
		s.Clock.Advance(time.Minute)
		wantStatus(t, ada.c.Signin(ada.email, goodPassword), http.StatusOK)
		r := ada.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "Nova@Example.org"})
		wantStatus(t, r, http.StatusAccepted)
		link, token := linkIn(t, s.box.waitMail(t, "Nova@example.org", "Confirm your new email address"), changeRE)
		if !strings.HasPrefix(link, s.URL+"/email/change?token=") {
			t.Errorf("link %q does not start at the origin %s", link, s.URL)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) < 16 {
			t.Errorf("token %q: %d bytes (%v), want at least 128 bits", token, len(raw), err)
		}
		wantLanding(t, s, "/email/change", token, "/email/change")
		if got := currentSession(t, ada.c).User.Email; got != "ada@example.com" {
			t.Fatalf("the address is %s before the link was used", got)
		}

		r = s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token})
		wantStatus(t, r, http.StatusOK)
		var got userOf
		r.JSON(t, &got)
		if got.User.Email != "Nova@example.org" || !got.User.EmailVerified {
			t.Errorf("confirm answer %s", r.Body)
		}
		wantInvalidCode(t, "a replayed confirmation", s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}))
		wantStatus(t, s.Client(t).Signin("nova@example.org", goodPassword), http.StatusOK)
		wantStatus(t, s.Client(t).Signin("ada@example.com", goodPassword), http.StatusUnauthorized)
		wantStatus(t, ada.c.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)

		m := s.box.waitMail(t, "ada@example.com", "now uses another email address")
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			if !strings.Contains(body, "N…@example.org") || strings.Contains(body, "Nova@example.org") {
				t.Errorf("the %s part must name the new address masked:\n%s", part, body)
			}
		}
		_, revert := linkIn(t, m, revertRE)
		wantLanding(t, s, "/email/revert", revert, "/email/revert")

		s.Clock.Advance(6 * 24 * time.Hour)
		page := wantPage(t, s.Client(t).Form("/email/revert", url.Values{"token": {revert}}), http.StatusOK)
		if !strings.Contains(page, "ada@example.com") || !strings.Contains(page, `href="/signin"`) {
			t.Errorf("the revert page does not send the member to sign in at the old address:\n%s", page)
		}
		for name, c := range map[string]*servertest.Client{"the browser that changed it": ada.c, "another browser": laptop} {
			if r := c.JSON(http.MethodGet, "/api/session", nil); r.Status != http.StatusUnauthorized {
				t.Errorf("%s is still signed in after the revert: %d", name, r.Status)
			}
		}
		wantStatus(t, s.Client(t).Signin("ada@example.com", goodPassword), http.StatusOK)
		wantStatus(t, s.Client(t).Signin("nova@example.org", goodPassword), http.StatusUnauthorized)
		wantInvalidCode(t, "a replayed revert", s.Client(t).JSON(http.MethodPost, "/api/account/email/revert", map[string]any{"token": revert}))
	})
}

func TestEmailChangeRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address moves
		newMemberWithoutPasskey(t, s.liveSite, "bob@example.com")

		// Bob's address and a free one get the same answer.
		free := ada.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "free@example.org"})
		taken := ada.c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "bob@example.com"})
		wantStatus(t, free, http.StatusAccepted)
		wantStatus(t, taken, http.StatusAccepted)
		if !bytes.Equal(free.Body, taken.Body) {
			t.Errorf("answers differ: %s vs %s", free.Body, taken.Body)
		}
		// Bob's mailbox gets the link; using it changes nothing.
		_, token := linkIn(t, s.box.waitMail(t, "bob@example.com", "Confirm your new email address"), changeRE)
		wantCode(t, "confirm towards a taken address", s.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": token}),
			http.StatusConflict, "email_taken")
		if got := currentSession(t, ada.c).User.Email; got != "ada@example.com" {
			t.Errorf("the address became %s", got)
		}

		for _, tc := range []struct {
			name   string
			c      *servertest.Client
			method string
			path   string
			body   any
			status int
			code   string
		}{
			{"refuses a visitor without a session", s.Client(t), http.MethodPost, "/api/account/email", map[string]any{"email": "x@example.org"}, 401, "unauthenticated"},
			{"refuses a malformed address", ada.c, http.MethodPost, "/api/account/email", map[string]any{"email": "nope"}, 400, "invalid_email"},
			{"refuses the current address", ada.c, http.MethodPost, "/api/account/email", map[string]any{"email": "ADA@example.com"}, 400, "invalid_email"},
			{"refuses a body of the wrong shape", ada.c, http.MethodPost, "/api/account/email", map[string]any{"email": 42}, 400, "invalid_request"},
			{"refuses a garbage confirmation token", s.Client(t), http.MethodPost, "/api/account/email/confirm", map[string]any{"token": "../../etc"}, 401, "invalid_code"},
			{"refuses an unknown revert token", s.Client(t), http.MethodPost, "/api/account/email/revert", map[string]any{"token": strings.Repeat("A", 43)}, 401, "invalid_code"},
		} {
			wantCode(t, tc.name, tc.c.JSON(tc.method, tc.path, tc.body), tc.status, tc.code)
		}

		// Five minutes after sign-in, every sensitive action asks for it again.
		s.Clock.Advance(6 * time.Minute)
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/api/account/email", map[string]any{"email": "later@example.org"}},
			{http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}},
			{http.MethodDelete, "/api/account/password", nil},
			{http.MethodPost, "/api/passkeys/register/begin", map[string]any{}},
		} {
			wantCode(t, tc.method+" "+tc.path+" with an old sign-in", ada.c.JSON(tc.method, tc.path, tc.body), http.StatusForbidden, "reauth_required")
		}
		if n := s.box.count("later@example.org"); n != 0 {
			t.Errorf("a refused change sent %d mails", n)
		}
	})
}

func TestPasswordChangeAndRemoval(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		laptop := s.Client(t)
		wantStatus(t, laptop.Signin(ada.email, goodPassword), http.StatusOK)
		change := func(current, next string) *servertest.Response {
			return ada.c.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": current, "newPassword": next})
		}
		wantCode(t, "a wrong current password", change("wrong "+goodPassword, "a brand new passphrase"), http.StatusForbidden, "wrong_password")
		wantCode(t, "a weak new password", change(goodPassword, "12345678"), http.StatusBadRequest, "weak_password")
		wantStatus(t, laptop.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)

		r := change(goodPassword, "a brand new passphrase")
		wantStatus(t, r, http.StatusOK)
		var got userOf
		r.JSON(t, &got)
		if !got.User.HasPassword {
			t.Errorf("answer %s", r.Body)
		}
		m := s.box.waitMail(t, "ada@example.com", "password was changed")
		wantNotice(t, s, m, "was changed")
		wantStatus(t, ada.c.JSON(http.MethodGet, "/api/session", nil), http.StatusOK)
		wantStatus(t, laptop.JSON(http.MethodGet, "/api/session", nil), http.StatusUnauthorized)
		wantStatus(t, s.Client(t).Signin(ada.email, "a brand new passphrase"), http.StatusOK)

		wantCode(t, "removal without a passkey", ada.c.JSON(http.MethodDelete, "/api/account/password", nil), http.StatusConflict, "passkey_required")

		grace := newPasskeyMember(t, s.liveSite, "grace@example.com")
		s.verify(t, grace.email)
		// A member with a passkey confirms with it: the password sign-in
		// counts only for adding one.
		wantRefused(t, grace.c.JSON(http.MethodDelete, "/api/account/password", nil), http.StatusForbidden, "reauth_required", "passkey")
		stepUp(t, grace)
		wantStatus(t, grace.c.JSON(http.MethodDelete, "/api/account/password", nil), http.StatusNoContent)
		m = s.box.waitMail(t, "grace@example.com", "password was removed")
		wantNotice(t, s, m, "was removed")
		var after userOf
		grace.c.JSON(http.MethodGet, "/api/session", nil).JSON(t, &after)
		if after.User.HasPassword {
			t.Error("hasPassword after removal")
		}
		wantStatus(t, s.Client(t).Signin(grace.email, goodPassword), http.StatusUnauthorized)

		// Without a password, one is set without a current one.
		r = grace.c.JSON(http.MethodPost, "/api/account/password", map[string]any{"newPassword": "grace sets another one"})
		wantStatus(t, r, http.StatusOK)
		s.box.waitMail(t, "grace@example.com", "A password was set")
		wantStatus(t, s.Client(t).Signin(grace.email, "grace sets another one"), http.StatusOK)
	})
}

func TestAccountPageEmailAndPasswordForms(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email) // only a proven address moves
		page := wantPage(t, ada.c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		for _, want := range []string{`action="/account/email"`, `action="/account/password"`, `name="currentPassword"`, "add a passkey first"} {
			if !strings.Contains(page, want) {
				t.Errorf("the account page lacks %s", want)
			}
		}
		if strings.Contains(page, `action="/account/password/remove"`) {
			t.Error("the account page offers to remove the only password")
		}

		page = wantPage(t, ada.c.Form("/account/email", url.Values{"email": {"nope"}}), http.StatusBadRequest)
		if tag := inputTag([]byte(page), "email"); !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `value="nope"`) {
			t.Errorf("the refused address is not marked beside its field: %s", tag)
		}
		page = wantPage(t, ada.c.Form("/account/email", url.Values{"email": {"nova@example.org"}}), http.StatusOK)
		if !strings.Contains(visibleText(page), "We sent a link to nova@example.org") {
			t.Errorf("no notice after the change form:\n%s", visibleText(page))
		}
		_, token := linkIn(t, s.box.waitMail(t, "nova@example.org", "Confirm your new email address"), changeRE)
		page = wantPage(t, s.Client(t).Form("/email/change", url.Values{"token": {token}}), http.StatusOK)
		if !strings.Contains(visibleText(page), "Your account now uses nova@example.org") {
			t.Errorf("the confirm page says:\n%s", visibleText(page))
		}
		page = wantPage(t, s.Client(t).Form("/email/change", url.Values{"token": {token}}), http.StatusUnauthorized)
		if !strings.Contains(page, `role="alert"`) {
			t.Errorf("a replayed link shows no error:\n%s", page)
		}

		page = wantPage(t, ada.c.Form("/account/password", url.Values{"currentPassword": {"wrong"}, "newPassword": {"a brand new passphrase"}}), http.StatusForbidden)
		if tag := inputTag([]byte(page), "currentPassword"); !strings.Contains(tag, `aria-invalid="true"`) {
			t.Errorf("the wrong password is not marked beside its field: %s", tag)
		}
		page = wantPage(t, ada.c.Form("/account/password", url.Values{"currentPassword": {goodPassword}, "newPassword": {"a brand new passphrase"}}), http.StatusOK)
		if !strings.Contains(visibleText(page), "Password changed") {
			t.Errorf("no notice after the password form:\n%s", visibleText(page))
		}

		s.Clock.Advance(6 * time.Minute)
		page = wantPage(t, ada.c.Form("/account/email", url.Values{"email": {"late@example.org"}}), http.StatusForbidden)
		if !strings.Contains(visibleText(page), "confirm it’s you") {
			t.Errorf("an old sign-in is not asked to confirm:\n%s", visibleText(page))
		}
	})
}
