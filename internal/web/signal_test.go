package web_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web/browsertest"
)

// TestTheSessionCarriesTheSignals: after a passkey sign-in, GET
// /api/session — which the page asks where the browser has the Signal API —
// lists every passkey the member has (for signalAllAcceptedCredentials)
// under their user handle, and their address as the name.
func TestTheSessionCarriesTheSignals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		second := newSoftKey(t, s)
		wantStatus(t, second.register(ada.c), http.StatusCreated)

		c := s.client()
		wantStatus(t, ada.key.signin(c, map[string]any{}, "modal"), http.StatusOK)
		r := c.JSON(http.MethodGet, "/api/session", nil)
		wantStatus(t, r, http.StatusOK)
		var answer struct {
			Signals struct {
				AcceptedCredentials struct {
					RPID   string   `json:"rpId"`
					UserID string   `json:"userId"`
					IDs    []string `json:"allAcceptedCredentialIds"`
				} `json:"acceptedCredentials"`
				CurrentUser struct {
					UserID string `json:"userId"`
					Name   string `json:"name"`
				} `json:"currentUser"`
			} `json:"signals"`
		}
		r.JSON(t, &answer)
		a := answer.Signals.AcceptedCredentials
		ids := []string{passkeytest.B64(ada.key.Cred.ID), passkeytest.B64(second.Cred.ID)}
		slices.Sort(ids)
		slices.Sort(a.IDs)
		if a.RPID != "localhost" || a.UserID != passkeytest.B64(ada.key.Handle()) || !slices.Equal(a.IDs, ids) {
			t.Errorf("acceptedCredentials %+v, want rpId localhost, the member's handle and ids %v", a, ids)
		}
		if u := answer.Signals.CurrentUser; u.UserID != a.UserID || u.Name != "ada@example.com" {
			t.Errorf("currentUser %+v", u)
		}
	})
}

// TestBrowserTheAccountPageKeepsTheAuthenticatorInStep: the account page
// hands its signals to the browser, and Chromium's virtual authenticator
// applies signalCurrentUserDetails: an address changed since the passkey
// was made is the name the authenticator shows after the next visit.
// (signalAllAcceptedCredentials is in TestBrowserRenameAndRemoveAPasskey.)
func TestBrowserTheAccountPageKeepsTheAuthenticatorInStep(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	auth := b.tab.AddAuthenticator(browsertest.CredentialImport)
	b.signUp("ada@example.com")
	b.addPasskey()
	waitFor(t, "the passkey named for the address", func() bool {
		c := auth.Credentials()
		return len(c) == 1 && c[0].UserName == "ada@example.com"
	})
	// The address changes behind the page's back, as a confirmed email
	// change or a support recovery does.
	_, key, _ := account.NormalizeEmail("ada.lovelace@example.com")
	if _, err := b.DB.Exec(t.Context(), "UPDATE users SET email = ?, email_key = ?", "ada.lovelace@example.com", key); err != nil {
		t.Fatal(err)
	}
	b.open("/account")
	waitFor(t, "the authenticator to show the new address", func() bool {
		c := auth.Credentials()
		return len(c) == 1 && c[0].UserName == "ada.lovelace@example.com"
	})
}
