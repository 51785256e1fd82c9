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

// TestARefusalNamesAnUnknownPasskeyOnlyInADiscoverableSignin: a passkey
// keyshift does not know (deleted here, or from before the site moved to
// keyshift) presented in a discoverable sign-in is refused with the
// signalUnknownCredential argument, so the page can tell the member's
// password manager. A username-first sign-in says nothing of the kind: its
// allowCredentials may be decoys, and "unknown" would tell them from real
// passkeys — for a member with passkeys and for an address without any.
func TestARefusalNamesAnUnknownPasskeyOnlyInADiscoverableSignin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		newPasskeyMember(t, s, "ada@example.com")
		stray := newSoftKey(t, s) // never registered here

		type refusal struct {
			Error struct {
				Code    string `json:"code"`
				Reason  string `json:"reason"`
				Signals *struct {
					UnknownCredential *account.UnknownCredential `json:"unknownCredential"`
				} `json:"signals"`
			} `json:"error"`
		}
		tests := []struct {
			name   string
			body   map[string]any
			signal bool
		}{
			{"discoverable", map[string]any{}, true},
			{"username-first, a member with passkeys", map[string]any{"email": "ada@example.com"}, false},
			{"username-first, an address with none (decoys)", map[string]any{"email": "nobody@example.com"}, false},
		}
		for _, tt := range tests {
			r := stray.signin(s.client(), tt.body, "modal")
			wantStatus(t, r, http.StatusUnauthorized)
			var got refusal
			r.JSON(t, &got)
			if got.Error.Code != "passkey_rejected" || got.Error.Reason != "" {
				t.Errorf("%s: %s, want passkey_rejected without a reason", tt.name, r.Body)
			}
			switch {
			case !tt.signal && got.Error.Signals != nil:
				t.Errorf("%s: the refusal carries signals: %s", tt.name, r.Body)
			case tt.signal && (got.Error.Signals == nil || got.Error.Signals.UnknownCredential == nil):
				t.Errorf("%s: no unknownCredential signal: %s", tt.name, r.Body)
			case tt.signal:
				want := account.UnknownCredential{RPID: "localhost", CredentialID: passkeytest.B64(stray.Cred.ID)}
				if u := *got.Error.Signals.UnknownCredential; u != want {
					t.Errorf("%s: unknownCredential %+v, want %+v", tt.name, u, want)
				}
			}
		}
	})
}
