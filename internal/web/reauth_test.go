package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// stepUp runs POST /api/reauth/begin and /finish on m's client with m's
// passkey, as the pages do before a sensitive action.
func stepUp(t *testing.T, m *passkeyMember) {
	t.Helper()
	r := stepUpWith(t, m.c, m.key)
	wantStatus(t, r, http.StatusOK)
}

// stepUpWith answers c's step-up ceremony with key.
func stepUpWith(t *testing.T, c *servertest.Client, key *softKey) *servertest.Response {
	t.Helper()
	cer := begin(t, c, "/api/reauth/begin", map[string]any{})
	return c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"flowId": cer.FlowID, "credential": key.assertionFor(cer).JSON()})
}

// TestPasskeyMembersStepUpWithTheirPasskey: a member with a passkey whose
// sign-in is older than the reauth window cannot remove a passkey until a
// step-up with one of their own passkeys; the step-up rotates the session's
// token, is single-use, refuses another member's passkey and refuses the
// password (a thief with the password must not reopen the window).
func TestPasskeyMembersStepUpWithTheirPasskey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		bob := newPasskeyMember(t, s, "bob@example.com")
		id := listPasskeys(t, ada.c)[0].ID
		s.Clock.Advance(6 * time.Minute)

		before := s.stateOf(t, ada)
		wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusForbidden, "reauth_required")
		e := wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"password": goodPassword}), http.StatusForbidden, "reauth_required")
		if e.Error.Reason != "passkey" {
			t.Errorf("password step-up of a passkey member: reason %q, want passkey", e.Error.Reason)
		}
		wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusForbidden, "reauth_required")
		// Bob's passkey cannot answer Ada's step-up.
		wantRefused(t, stepUpWith(t, ada.c, bob.key), http.StatusUnauthorized, "passkey_rejected", "")
		s.wantStateUnchanged(t, before, ada)

		// Ada's own: the session is stepped up, under a new token.
		old := ada.c.Cookie(sessionCookie)
		cer := begin(t, ada.c, "/api/reauth/begin", map[string]any{})
		answer := ada.key.assertionFor(cer).JSON()
		r := ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"flowId": cer.FlowID, "credential": answer})
		wantStatus(t, r, http.StatusOK)
		var got struct{ SteppedUpAt, FreshUntil time.Time }
		r.JSON(t, &got)
		if got.FreshUntil.Sub(got.SteppedUpAt) != 5*time.Minute {
			t.Errorf("stepped up %v, fresh until %v: want the 5-minute window", got.SteppedUpAt, got.FreshUntil)
		}
		if now := ada.c.Cookie(sessionCookie); now == "" || now == old {
			t.Error("the step-up did not rotate the session token")
		}
		stale := s.client()
		stale.SetCookie(sessionCookie, old)
		wantAPIError(t, stale.JSON(http.MethodGet, "/api/session", nil), http.StatusUnauthorized, "unauthenticated")
		// The same answer again: the ceremony is spent.
		wantRefused(t, ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"flowId": cer.FlowID, "credential": answer}),
			http.StatusUnauthorized, "passkey_rejected", "")

		wantStatus(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusNoContent)
	})
}

// TestMembersWithoutAPasskeyStepUpWithTheirPassword: begin offers the
// password; a wrong one is refused and a right one opens the window again
// for a session older than it.
func TestMembersWithoutAPasskeyStepUpWithTheirPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		r := ada.c.JSON(http.MethodPost, "/api/reauth/begin", map[string]any{})
		wantStatus(t, r, http.StatusOK)
		var offered struct {
			Methods []string `json:"methods"`
			FlowID  string   `json:"flowId"`
		}
		r.JSON(t, &offered)
		if len(offered.Methods) != 1 || offered.Methods[0] != "password" || offered.FlowID != "" {
			t.Errorf("begin offered %+v, want the password only", offered)
		}

		s.Clock.Advance(6 * time.Minute)
		change := func() *servertest.Response {
			return ada.c.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"})
		}
		wantAPIError(t, change(), http.StatusForbidden, "reauth_required")
		wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"password": "not " + goodPassword}), http.StatusForbidden, "wrong_password")
		wantAPIError(t, change(), http.StatusForbidden, "reauth_required")
		wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{}), http.StatusBadRequest, "invalid_request")
		old := ada.c.Cookie(sessionCookie)
		wantStatus(t, ada.c.JSON(http.MethodPost, "/api/reauth/finish", map[string]any{"method": "password", "password": goodPassword}), http.StatusOK)
		if now := ada.c.Cookie(sessionCookie); now == "" || now == old {
			t.Error("the password step-up did not rotate the session token")
		}
		wantSignedOut(t, withCookie(t, s, sessionCookie, old))
		wantStatus(t, change(), http.StatusOK)

		wantAPIError(t, s.client().JSON(http.MethodPost, "/api/reauth/begin", map[string]any{}), http.StatusUnauthorized, "unauthenticated")
	})
}

// TestAPasskeyMembersPasswordSessionMayOnlyAddAPasskey: a member with a
// passkey who just signed in with the password holds a fresh session that
// counts only for adding a passkey: removing one, changing the password or
// making recovery codes wants one of their passkeys (reason "passkey"),
// after which each passes.
func TestAPasskeyMembersPasswordSessionMayOnlyAddAPasskey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		c := s.Client(t)
		wantStatus(t, c.Signin(ada.email, goodPassword), http.StatusOK)
		id := listPasskeys(t, c)[0].ID

		wantRefused(t, c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusForbidden, "reauth_required", "passkey")
		wantRefused(t, c.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{}), http.StatusForbidden, "reauth_required", "passkey")
		wantRefused(t, c.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}),
			http.StatusForbidden, "reauth_required", "passkey")
		wantStatus(t, c.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{}), http.StatusOK)

		wantStatus(t, stepUpWith(t, c, ada.key), http.StatusOK)
		wantStatus(t, c.JSON(http.MethodPost, "/api/account/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}),
			http.StatusOK)
		wantStatus(t, c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusNoContent)
	})
}

// registered adds a new soft passkey on c's account and returns it.
func registered(t *testing.T, s *liveSite, c *servertest.Client) *softKey {
	t.Helper()
	k := newSoftKey(t, s)
	wantStatus(t, k.register(c), http.StatusCreated)
	return k
}
