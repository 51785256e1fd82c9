package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

// TestTheLinkLandingSaysWhoseAccountItOpens: a sign-in link someone else
// sent (for their own account: login CSRF) lands on a page that names the
// account it opens, and never silently replaces the session of a member
// signed in on the browser: it asks, and only a confirmed form switches.
func TestTheLinkLandingSaysWhoseAccountItOpens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		// Ada is signed in on her browser.
		ada := s.Client(t)
		s.start(t, ada, "ada@example.com")
		wantStatus(t, ada.Form("/email/verify", url.Values{"token": {s.box.nth(t, "ada@example.com", 1).token}}), http.StatusSeeOther)
		adaSession := currentSession(t, ada).Session.ID
		// Mallory asks for a link to her own account and sends it to Ada.
		mallory := s.Client(t)
		s.start(t, mallory, "mallory@example.org")
		link := s.box.nth(t, "mallory@example.org", 1)

		r := ada.Do(http.MethodGet, strings.TrimPrefix(link.link, s.URL), nil, nil)
		body := html.UnescapeString(string(r.Body))
		if r.Status != http.StatusOK || !strings.Contains(body, "signs you in as m…@example.org") ||
			!strings.Contains(body, "You are signed in as a…@example.com") || !strings.Contains(body, `name="switch"`) {
			t.Fatalf("the landing page does not say whose account the link opens and whose it ends: %d\n%s", r.Status, body)
		}
		// A form without the confirmation (an auto-submitting page
		// elsewhere, an old tab) changes nothing and uses nothing up.
		r = ada.Form("/email/verify", url.Values{"token": {link.token}})
		if r.Status != http.StatusConflict || currentSession(t, ada).Session.ID != adaSession {
			t.Fatalf("an unconfirmed switch: %d, session %s", r.Status, currentSession(t, ada).User.Email)
		}
		// Confirmed, it switches.
		r = ada.Form("/email/verify", url.Values{"token": {link.token}, "switch": {"1"}})
		if r.Status != http.StatusSeeOther || currentSession(t, ada).User.Email != "mallory@example.org" {
			t.Fatalf("a confirmed switch: %d", r.Status)
		}

		// With no session, or the link's own member's, the page just names
		// the account.
		s.start(t, mallory, "mallory@example.org")
		again := s.box.nth(t, "mallory@example.org", 2)
		r = s.Client(t).Do(http.MethodGet, strings.TrimPrefix(again.link, s.URL), nil, nil)
		body = html.UnescapeString(string(r.Body))
		if !strings.Contains(body, "Continue as m…@example.org") || strings.Contains(body, `name="switch"`) {
			t.Errorf("a browser without a session:\n%s", body)
		}
		r = ada.Do(http.MethodGet, strings.TrimPrefix(again.link, s.URL), nil, nil)
		if body := string(r.Body); strings.Contains(body, `name="switch"`) {
			t.Errorf("the link's own member is asked to switch:\n%s", body)
		}
		// An unknown link says so at once.
		r = s.Client(t).Do(http.MethodGet, "/email/verify?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, nil)
		if r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), "email-verify-form") {
			t.Errorf("an unknown link: %d\n%s", r.Status, r.Body)
		}
	})
}
