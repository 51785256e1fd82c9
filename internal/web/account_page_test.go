package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/testdb"
)

func TestAccountPageManagesSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		laptop := s.member("ada@example.com")
		phone := s.client()
		wantStatus(t, phone.Signin("ada@example.com", goodPassword), http.StatusOK)
		laptopID := currentSession(t, laptop).Session.ID
		phoneID := currentSession(t, phone).Session.ID

		r := laptop.Do(http.MethodGet, "/account", nil, nil)
		page := wantPage(t, r, http.StatusOK)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("the account page has Cache-Control %q, want no-store", got)
		}
		for _, id := range []string{laptopID, phoneID} {
			if !strings.Contains(page, `<form method="post" action="/account/sessions/`+id+`/revoke">`) {
				t.Errorf("no revoke form for session %s:\n%s", id, page)
			}
		}
		if !strings.Contains(page, `action="/account/sessions/revoke-all"`) {
			t.Errorf("no sign-out-everywhere form:\n%s", page)
		}
		if n := strings.Count(page, "This device"); n != 1 {
			t.Errorf(`"This device" appears %d times, want once`, n)
		}

		// Revoking the phone from the laptop.
		wantRedirect(t, laptop.Form("/account/sessions/"+phoneID+"/revoke", nil), "/account")
		wantSignedOut(t, phone)
		page = wantPage(t, laptop.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if strings.Contains(page, phoneID) {
			t.Errorf("the revoked session is still listed")
		}

		// Revoking this very session signs this browser out.
		tablet := s.client()
		wantStatus(t, tablet.Signin("ada@example.com", goodPassword), http.StatusOK)
		tabletID := currentSession(t, tablet).Session.ID
		wantRedirect(t, tablet.Form("/account/sessions/"+tabletID+"/revoke", nil), "/signin")
		wantSignedOut(t, tablet)

		// Sign out everywhere.
		wantStatus(t, phone.Signin("ada@example.com", goodPassword), http.StatusOK)
		wantRedirect(t, laptop.Form("/account/sessions/revoke-all", nil), "/signin")
		wantSignedOut(t, laptop)
		wantSignedOut(t, phone)

		// Without a session the forms send to the sign-in page.
		wantRedirect(t, laptop.Form("/account/sessions/revoke-all", nil), "/signin")
		wantRedirect(t, laptop.Form("/account/sessions/"+laptopID+"/revoke", nil), "/signin")
	})
}

func TestAccountPageListsPasskeys(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")

		page := wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		for _, want := range []string{`id="passkeys"`, "You have no passkeys yet", `id="add-passkey"`, `data-requires="webauthn" hidden`, "with JavaScript turned on"} {
			if !strings.Contains(page, want) {
				t.Errorf("the account page without passkeys lacks %q", want)
			}
		}

		synced := s.seedPasskey(c, "Phone", true)
		s.Clock.Advance(time.Hour)
		local := s.seedPasskey(c, `<b>Laptop</b>`, false)
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		item := passkeyItem(page, synced)
		for _, want := range []string{"Phone", "1Password", "Synced", "Added ", "not used yet",
			`action="/account/passkeys/` + synced + `/rename"`, `action="/account/passkeys/` + synced + `/delete"`} {
			if !strings.Contains(item, want) {
				t.Errorf("the synced passkey's item lacks %q:\n%s", want, item)
			}
		}
		item = passkeyItem(page, local)
		if !strings.Contains(item, "This device only") || strings.Contains(item, "Synced") {
			t.Errorf("the device-bound passkey's item:\n%s", item)
		}
		if strings.Contains(item, "<b>Laptop") || !strings.Contains(item, "&lt;b&gt;Laptop") {
			t.Errorf("the name is not escaped:\n%s", item)
		}
		if strings.Index(page, synced) > strings.Index(page, local) {
			t.Errorf("passkeys are not listed oldest first")
		}
	})
}

func TestAccountPageConfirmsOnlyKnownNotices(t *testing.T) {
	t.Parallel()
	s := startSite(t, "sqlite:"+testdb.SQLitePath(t))
	c := s.member("ada@example.com")
	cases := []struct{ query, want string }{
		{"?passkey=added", "Passkey added."},
		{"?passkey=used", "You signed in with your passkey."},
		{"?passkey=%3Cscript%3E", ""},
		{"", ""},
	}
	for _, tc := range cases {
		page := wantPage(t, c.Do(http.MethodGet, "/account"+tc.query, nil, nil), http.StatusOK)
		notice := regexp.MustCompile(`<p class="notice ok" role="status">([^<]*)</p>`).FindStringSubmatch(page)
		switch {
		case tc.want == "" && notice != nil:
			t.Errorf("/account%s shows the notice %q", tc.query, notice[1])
		case tc.want != "" && (notice == nil || !strings.Contains(notice[1], tc.want)):
			t.Errorf("/account%s shows %q, want %q", tc.query, notice, tc.want)
		}
		if strings.Contains(page, "<script>") {
			t.Errorf("/account%s reflects markup", tc.query)
		}
	}
}
