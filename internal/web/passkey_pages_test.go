package web_test

// The passkey parts of the pages, over plain HTTP: what is rendered, and
// the rename and remove forms as a browser without JavaScript posts them.
// The ceremonies themselves run in the browser tests (browser_test.go).

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// seedPasskey stores a passkey for the member signed in on c, as a finished
// registration would, and returns its id. AAGUID 1Password, synced.
func (s *liveSite) seedPasskey(c *servertest.Client, name string, synced bool) string {
	s.t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	credID := make([]byte, 32)
	rand.Read(credID)
	onePassword, err := aaguid.Parse("bada5566-a7aa-401f-bd96-45619a55120d")
	if err != nil {
		s.t.Fatal(err)
	}
	now := s.Clock.Now()
	err = s.DB.CreateCredential(context.Background(), &account.Credential{
		ID: id, UserID: currentSession(s.t, c).User.ID, Type: account.CredentialWebAuthn,
		CredentialID: credID, PublicKey: []byte{0xa0}, AAGUID: onePassword, Transports: []string{"internal", "hybrid"},
		Attachment: "platform", BackupEligible: synced, BackupState: synced, Name: name,
		CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// passkeyItem returns the list item of passkey id on an account page, or "".
func passkeyItem(page, id string) string {
	re := regexp.MustCompile(`(?s)<li id="passkey-` + regexp.QuoteMeta(id) + `">.*?</li>`)
	return re.FindString(page)
}

func TestPasskeyFormsWorkWithoutJavaScript(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		id := s.seedPasskey(c, "Phone", true)
		rename := func(c *servertest.Client, id, name string) *servertest.Response {
			return c.Form("/account/passkeys/"+id+"/rename", url.Values{"name": {name}})
		}

		wantRedirect(t, rename(c, id, "  Work phone  "), "/account#passkeys")
		page := wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if item := passkeyItem(page, id); !strings.Contains(item, `<strong class="passkey-name">Work phone</strong>`) {
			t.Errorf("after renaming:\n%s", item)
		}

		// A refused name is explained in that passkey's open form.
		for _, bad := range []string{"", "   ", strings.Repeat("x", 65)} {
			page = wantPage(t, rename(c, id, bad), http.StatusBadRequest)
			item := passkeyItem(page, id)
			if !strings.Contains(item, `<details class="manage" open>`) || !strings.Contains(item, `role="alert">Give the passkey a name of 1 to 64 characters.`) {
				t.Errorf("renaming to %q:\n%s", bad, item)
			}
		}

		// Another member's passkey cannot be renamed or removed from here.
		eve := s.member("eve@example.com")
		wantRedirect(t, rename(eve, id, "Eve's now"), "/account#passkeys")
		wantRedirect(t, eve.Form("/account/passkeys/"+id+"/delete", nil), "/account#passkeys")
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if !strings.Contains(passkeyItem(page, id), "Work phone") {
			t.Fatalf("another member changed the passkey:\n%s", page)
		}

		// Removing needs a recent sign-in.
		s.Clock.Advance(time.Hour)
		page = wantPage(t, c.Form("/account/passkeys/"+id+"/delete", nil), http.StatusForbidden)
		if item := passkeyItem(page, id); !strings.Contains(item, "confirm it’s you") {
			t.Errorf("removing long after signing in:\n%s", item)
		}
		// A password sign-in is not enough for a member with a passkey.
		wantStatus(t, c.Signin("ada@example.com", goodPassword), http.StatusOK)
		page = wantPage(t, c.Form("/account/passkeys/"+id+"/delete", nil), http.StatusForbidden)
		if item := passkeyItem(page, id); !strings.Contains(item, "one of your passkeys") {
			t.Errorf("removing after a password sign-in:\n%s", item)
		}
		s.steppedUpByPasskey(c)
		wantRedirect(t, c.Form("/account/passkeys/"+id+"/delete", nil), "/account#passkeys")
		page = wantPage(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)
		if passkeyItem(page, id) != "" || !strings.Contains(page, "You have no passkeys yet") {
			t.Errorf("the removed passkey is still listed:\n%s", page)
		}
		wantRedirect(t, c.Form("/account/passkeys/"+id+"/delete", nil), "/account#passkeys")

		// Without a session, to the sign-in page; from another site, refused.
		anon := s.client()
		wantRedirect(t, rename(anon, id, "x"), "/signin")
		wantRedirect(t, anon.Form("/account/passkeys/"+id+"/delete", nil), "/signin")
		r := c.Do(http.MethodPost, "/account/passkeys/"+id+"/rename", []byte("name=x"), http.Header{
			"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {"https://evil.example"}})
		wantPage(t, r, http.StatusForbidden)
	})
}

func TestSigninPageOffersPasskeys(t *testing.T) {
	t.Parallel()
	s := startSite(t, "sqlite:"+testdb.SQLitePath(t))
	page := wantPage(t, s.client().Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
	for _, want := range []string{
		`<script src="/static/keyshift.js" defer></script>`,
		`id="passkey-signin" data-requires="webauthn" hidden`, // shown by the script, where WebAuthn is
		"Sign in with a passkey", "Sign in with your face, fingerprint or screen lock",
		`data-msg-not-allowed="`, `role="status"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the sign-in page lacks %q", want)
		}
	}
	r := s.client().Do(http.MethodGet, "/static/keyshift.js", nil, nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("keyshift.js has Content-Type %q", ct)
	}
}
