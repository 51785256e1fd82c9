package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// noticeSite is keyshift with passkey test conveniences, delivering its
// mail to a real SMTP server.
type noticeSite struct {
	*liveSite
	box mailbox
}

func startNoticeSite(t *testing.T, database string, opts ...servertest.Option) *noticeSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	opts = append([]servertest.Option{func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }}, opts...)
	return &noticeSite{liveSite: startPasskeySite(t, database, opts...), box: box}
}

// waitMail waits (bounded polling) for a mail to to whose subject contains
// subject, and returns it decoded.
func (b mailbox) waitMail(t *testing.T, to, subject string) mailtest.Decoded {
	t.Helper()
	var d mailtest.Decoded
	b.find(t, fmt.Sprintf("mail %q to %s", subject, to), func(got []mailtest.Message) (mailtest.Message, bool) {
		for _, m := range got {
			if len(m.To) == 0 || !strings.EqualFold(m.To[0], to) {
				continue
			}
			if d = mailtest.Decode(t, m.Raw); strings.Contains(d.Subject, subject) {
				return m, true
			}
		}
		return mailtest.Message{}, false
	})
	return d
}

// queued counts the outbox rows of kind to to, sent or not: what the
// committed transactions wrote, without waiting for delivery.
func queued(t *testing.T, in *servertest.Instance, kind, to string) int {
	t.Helper()
	all, err := in.Outbox.Recent(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range all {
		if m.Kind == kind && strings.EqualFold(m.To, to) {
			n++
		}
	}
	return n
}

var confirmRE = regexp.MustCompile(`https?://[^\s"<>]+/email/confirm\?token=([A-Za-z0-9_-]+)`)

// confirmToken waits for the n-th confirmation mail to to and returns its
// link and token.
func confirmToken(t *testing.T, b mailbox, to string) (link, token string) {
	t.Helper()
	m := b.waitMail(t, to, "Confirm your email address")
	lm := confirmRE.FindStringSubmatch(m.Text)
	if lm == nil {
		t.Fatalf("no confirmation link in the mail:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "token="+lm[1]) {
		t.Errorf("the HTML part lacks the link:\n%s", m.HTML)
	}
	return lm[0], lm[1]
}

func confirmAPI(c *servertest.Client, token string) *servertest.Response {
	return c.JSON(http.MethodPost, "/api/email/confirm", map[string]any{"token": token})
}

func verified(t *testing.T, c *servertest.Client) bool {
	t.Helper()
	_, v := sessionMethod(t, c)
	return v
}

func TestSignupEmailConfirmation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		link, token := confirmToken(t, s.box, "ada@example.com")
		if !strings.HasPrefix(link, s.URL+"/email/confirm?token=") {
			t.Errorf("link %q does not start at the origin %s", link, s.URL)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) < 16 {
			t.Errorf("token %q: %d bytes (%v), want at least 128 bits", token, len(raw), err)
		}
		if verified(t, ada.c) {
			t.Fatal("the address is verified before the link was used")
		}

		// The landing page changes nothing and leaks no referrer.
		page := s.Client(t).Do(http.MethodGet, "/email/confirm?token="+url.QueryEscape(token), nil, nil)
		wantStatus(t, page, http.StatusOK)
		if got := page.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer", got)
		}
		if !bytes.Contains(page.Body, []byte(`action="/email/confirm"`)) || !bytes.Contains(page.Body, []byte(token)) {
			t.Errorf("the landing page has no Confirm form for the token:\n%s", page.Body)
		}
		if verified(t, ada.c) {
			t.Fatal("GET of the landing page verified the address")
		}

		for name, bad := range map[string]string{"garbage": "not a token!", "unknown": strings.Repeat("A", 43), "empty": ""} {
			wantInvalidCode(t, name+" token", confirmAPI(s.Client(t), bad))
		}
		if verified(t, ada.c) {
			t.Fatal("a refused token verified the address")
		}

		r := confirmAPI(s.Client(t), token)
		wantStatus(t, r, http.StatusOK)
		var body emailSignin
		r.JSON(t, &body)
		if body.User.Email != "ada@example.com" || !body.User.EmailVerified {
			t.Errorf("confirm answer %s", r.Body)
		}
		if !verified(t, ada.c) {
			t.Error("GET /api/session: emailVerified false after confirming")
		}
		wantInvalidCode(t, "replayed token", confirmAPI(s.Client(t), token))

		// The page's form confirms too.
		bob := newMemberWithoutPasskey(t, s.liveSite, "bob@example.com")
		_, bobToken := confirmToken(t, s.box, "bob@example.com")
		r = s.Client(t).Form("/email/confirm", url.Values{"token": {bobToken}})
		wantStatus(t, r, http.StatusOK)
		if !bytes.Contains(r.Body, []byte("confirmed")) || !verified(t, bob.c) {
			t.Errorf("the Confirm button did not confirm:\n%s", r.Body)
		}
		r = s.Client(t).Form("/email/confirm", url.Values{"token": {bobToken}})
		wantStatus(t, r, http.StatusUnauthorized)
	})
}

func TestSignupEmailConfirmationExpires(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		_, token := confirmToken(t, s.box, "ada@example.com")
		s.Clock.Advance(7 * 24 * time.Hour)
		// The session would be gone too: sign in again to look.
		wantInvalidCode(t, "token after 7 days", confirmAPI(s.Client(t), token))
		c := s.Client(t)
		wantStatus(t, c.Signin(ada.email, goodPassword), http.StatusOK)
		if verified(t, c) {
			t.Error("an expired token verified the address")
		}
	})
}

func TestPasskeyNotices(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		ada.key = newSoftKey(t, s.liveSite)
		wantStatus(t, ada.key.register(ada.c), http.StatusCreated)
		m := s.box.waitMail(t, "ada@example.com", "A passkey was added")
		var list struct {
			Passkeys []passkeyView `json:"passkeys"`
		}
		ada.c.JSON(http.MethodGet, "/api/passkeys", nil).JSON(t, &list)
		if len(list.Passkeys) != 1 {
			t.Fatalf("passkeys: %+v", list.Passkeys)
		}
		pk := list.Passkeys[0]
		wantNotice(t, s, m, pk.Name)

		// A registration that fails verification rolls back: no notice.
		k := newSoftKey(t, s.liveSite)
		cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		k.Auth.AddCredential(k.Cred)
		wantStatus(t, finishRegister(ada.c, cer.FlowID, k.attestationFor(cer).Flags(0, passkeytest.FlagUV).Sign().JSON(), ""), http.StatusBadRequest)
		if n := queued(t, s.Instance, notice.KindPasskeyAdded, ada.email); n != 1 {
			t.Errorf("%d passkey-added notices after a refused registration, want 1", n)
		}
		// So does removing a passkey that is not the member's (after the
		// step-up with the passkey a member who has one needs).
		stepUp(t, ada)
		wantStatus(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/00000000-0000-4000-8000-000000000000", nil), http.StatusNotFound)
		if n := queued(t, s.Instance, notice.KindPasskeyRemoved, ada.email); n != 0 {
			t.Errorf("%d passkey-removed notices after a refused removal, want 0", n)
		}

		wantStatus(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+pk.ID, nil), http.StatusNoContent)
		m = s.box.waitMail(t, "ada@example.com", "A passkey was removed")
		wantNotice(t, s, m, pk.Name)
	})
}

// wantNotice checks that a notice says what, when, from where, and what to
// do, in both parts.
func wantNotice(t *testing.T, s *noticeSite, m mailtest.Decoded, what string) {
	t.Helper()
	when := s.Clock.Now().UTC().Format("2 January 2006")
	for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		// The test client's User-Agent (Go-http-client) names no browser
		// keyshift knows; notices never repeat the raw header.
		for _, want := range []string{what, when, "127.0.0.1", "an unrecognised browser", s.URL + "/account", "If it was not you"} {
			if !strings.Contains(body, want) {
				t.Errorf("the %s part of %q lacks %q:\n%s", part, m.Subject, want, body)
			}
		}
		if strings.Contains(body, "Go-http-client") {
			t.Errorf("the %s part of %q shows the raw User-Agent:\n%s", part, m.Subject, body)
		}
	}
}

func TestNewDeviceNotice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		// The browser that signed up carries the device cookie: no notice.
		wantStatus(t, ada.c.Signin(ada.email, goodPassword), http.StatusOK)
		if n := queued(t, s.Instance, notice.KindNewDevice, ada.email); n != 0 {
			t.Fatalf("%d new-device notices for sign-up and a known browser, want 0", n)
		}
		wantStatus(t, s.Client(t).Signin(ada.email, goodPassword), http.StatusOK)
		m := s.box.waitMail(t, "ada@example.com", "New sign-in")
		wantNotice(t, s, m, "with a password")
		if n := queued(t, s.Instance, notice.KindNewDevice, ada.email); n != 1 {
			t.Errorf("%d new-device notices, want 1", n)
		}
		// A wrong password signs nobody in and tells nobody.
		wantStatus(t, s.Client(t).Signin(ada.email, "wrong "+goodPassword), http.StatusUnauthorized)
		if n := queued(t, s.Instance, notice.KindNewDevice, ada.email); n != 1 {
			t.Errorf("%d new-device notices after a failed sign-in, want 1", n)
		}
	})
}

func TestNewDeviceNoticeCanBeTurnedOff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database, func(c *config.Config) { c.Notify.NewDevice = false })
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		wantStatus(t, s.Client(t).Signin(ada.email, goodPassword), http.StatusOK)
		confirmToken(t, s.box, "ada@example.com") // mail flows
		if n := queued(t, s.Instance, notice.KindNewDevice, ada.email); n != 0 {
			t.Errorf("%d new-device notices with notify.new_device off, want 0", n)
		}
	})
}

// TestSigninsCannotMailBombAnAddress: 40 password sign-ins from new
// browsers to an account signed up with a stranger's address mail the
// stranger nothing (the address was never proven); to a proven address
// they send one new-device notice, the rest wait for the hourly digest.
func TestSigninsCannotMailBombAnAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database)
		stranger := newMemberWithoutPasskey(t, s.liveSite, "stranger@example.com")
		ada := newMemberWithoutPasskey(t, s.liveSite, "ada@example.com")
		s.verify(t, ada.email)
		for range 40 {
			wantStatus(t, s.Client(t).Signin(stranger.email, goodPassword), http.StatusOK)
			wantStatus(t, s.Client(t).Signin(ada.email, goodPassword), http.StatusOK)
		}
		if n := queued(t, s.Instance, notice.KindNewDevice, stranger.email); n != 0 {
			t.Errorf("%d new-device notices to an unverified address, want 0", n)
		}
		if n := queued(t, s.Instance, notice.KindNewDevice, ada.email); n != 1 {
			t.Errorf("%d new-device notices for 40 sign-ins within the hour, want 1", n)
		}
		s.Clock.Advance(notice.NewDeviceQuiet)
		if n, err := s.Notices.SendDigests(context.Background()); err != nil || n != 1 {
			t.Fatalf("SendDigests = %d, %v; want one digest", n, err)
		}
		m := s.box.waitMail(t, ada.email, "More sign-ins")
		if !strings.Contains(m.Text, "39 more times") {
			t.Errorf("the digest does not count the 39 held back:\n%s", m.Text)
		}
	})
}
