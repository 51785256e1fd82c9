package web_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// Session lifetimes of config.Default, which servertest keeps.
const (
	idleTimeout     = 7 * 24 * time.Hour
	absoluteTimeout = 30 * 24 * time.Hour
)

// wantKeys fails t unless object has exactly the keys want.
func wantKeys[V any](t *testing.T, what string, object map[string]V, want ...string) {
	t.Helper()
	var got []string
	for k := range object {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s has keys %q, want exactly %q", what, got, want)
	}
}

// wantSigninAnswer checks that r is API.md's sign-in answer for email, with
// status, and returns the user's id. Whether "next" nudges follows the
// rollout (rollout_api_test.go checks it); here it must be one of the two
// values API.md allows.
func wantSigninAnswer(t *testing.T, r *servertest.Response, status int, email string) string {
	t.Helper()
	wantStatus(t, r, status)
	var top map[string]json.RawMessage
	r.JSON(t, &top)
	wantKeys(t, "the sign-in answer", top, "user", "next")
	if next := string(top["next"]); next != "null" && next != `"enroll_passkey"` {
		t.Errorf("next = %s, want null or \"enroll_passkey\"", next)
	}
	var user map[string]any
	if err := json.Unmarshal(top["user"], &user); err != nil {
		t.Fatalf("user is not an object: %s", top["user"])
	}
	wantKeys(t, "user", user, "id", "email", "emailVerified", "hasPassword", "passkeyCount")
	id, _ := user["id"].(string)
	if id == "" {
		t.Errorf("user.id = %v, want a non-empty string", user["id"])
	}
	want := map[string]any{"email": email, "emailVerified": false, "hasPassword": true, "passkeyCount": float64(0)}
	for k, v := range want {
		if user[k] != v {
			t.Errorf("user.%s = %#v, want %#v", k, user[k], v)
		}
	}
	return id
}

// wantSafeCookie checks a cookie keyshift sets on an http origin.
func wantSafeCookie(t *testing.T, r *servertest.Response, name string) *http.Cookie {
	t.Helper()
	c := setCookie(t, r, name)
	if c == nil {
		t.Fatalf("no %s cookie set; Set-Cookie: %q", name, r.Header.Values("Set-Cookie"))
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.Value == "" {
		t.Errorf("%s cookie: HttpOnly=%v SameSite=%v Secure=%v Path=%q, want HttpOnly, Lax, not Secure on http, /",
			name, c.HttpOnly, c.SameSite, c.Secure, c.Path)
	}
	return c
}

func TestSignupAndSigninAnswerAsAPIMdSays(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)

		// The domain is lower-cased, the local part kept as typed.
		r := postJSON(s.client(), "/api/signup", credentials(" Ada.Lovelace@Example.COM ", goodPassword))
		id := wantSigninAnswer(t, r, http.StatusCreated, "Ada.Lovelace@example.com")
		c := wantSafeCookie(t, r, sessionCookie)
		if c.MaxAge != int(absoluteTimeout.Seconds()) {
			t.Errorf("session cookie Max-Age %d, want the absolute timeout %d", c.MaxAge, int(absoluteTimeout.Seconds()))
		}
		wantSafeCookie(t, r, deviceCookie)

		r = s.client().Signin("ada.lovelace@example.com", goodPassword)
		if got := wantSigninAnswer(t, r, http.StatusOK, "Ada.Lovelace@example.com"); got != id {
			t.Errorf("sign-in answered user %s, sign-up made %s", got, id)
		}
		// A fresh install's rollout (existing-users at 100 %) nudges a
		// member without a passkey after a password sign-in.
		if next := nextOf(t, r); next != "enroll_passkey" {
			t.Errorf("next = %q after a password sign-in without a passkey, want enroll_passkey", next)
		}
		wantSafeCookie(t, r, sessionCookie)
		wantSafeCookie(t, r, deviceCookie)
	})
}

func TestGetSessionDescribesTheMemberAndTheSession(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("grace@example.com")
		c := s.client()
		c.Signin("grace@example.com", goodPassword)

		r := c.JSON(http.MethodGet, "/api/session", nil)
		wantStatus(t, r, http.StatusOK)
		var top map[string]json.RawMessage
		r.JSON(t, &top)
		wantKeys(t, "GET /api/session", top, "user", "session", "signals", "notices")
		// The Signal API's calls: the member's user handle, no passkeys yet,
		// and the address as the name a password manager shows.
		var signals struct {
			AcceptedCredentials struct {
				RPID   string   `json:"rpId"`
				UserID string   `json:"userId"`
				IDs    []string `json:"allAcceptedCredentialIds"`
			} `json:"acceptedCredentials"`
			CurrentUser struct {
				UserID, Name string
			} `json:"currentUser"`
		}
		json.Unmarshal(top["signals"], &signals)
		if a := signals.AcceptedCredentials; a.RPID != "localhost" || a.UserID == "" || a.IDs == nil || len(a.IDs) != 0 ||
			signals.CurrentUser.UserID != a.UserID || signals.CurrentUser.Name != "grace@example.com" {
			t.Errorf("signals: %s", top["signals"])
		}
		var user map[string]any
		json.Unmarshal(top["user"], &user)
		wantKeys(t, "user", user, "id", "email", "emailVerified", "hasPassword", "passkeyCount")
		var session map[string]any
		json.Unmarshal(top["session"], &session)
		for _, k := range []string{"id", "authMethod", "authenticatedAt", "createdAt"} {
			if _, ok := session[k]; !ok {
				t.Errorf("session has no %q: %s", k, top["session"])
			}
		}
		if session["authMethod"] != "password" {
			t.Errorf("authMethod %v, want password", session["authMethod"])
		}
		for _, k := range []string{"authenticatedAt", "createdAt"} {
			v, _ := session[k].(string)
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				t.Errorf("session.%s = %v, want an RFC 3339 time", k, session[k])
			}
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
	})
}

func TestSignoutKillsTheSessionServerSide(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("linus@example.com")
		old := c.Cookie(sessionCookie)
		currentSession(t, c)

		r := c.JSON(http.MethodDelete, "/api/session", nil)
		wantStatus(t, r, http.StatusNoContent)
		if got := c.Cookie(sessionCookie); got != "" {
			t.Errorf("session cookie still in the jar after sign-out: %q", got)
		}
		wantSignedOut(t, c)

		// A copy of the cookie taken before sign-out is worthless.
		c.SetCookie(sessionCookie, old)
		wantSignedOut(t, c)

		// Signing out again is harmless.
		wantStatus(t, c.JSON(http.MethodDelete, "/api/session", nil), http.StatusNoContent)
	})
}

// sessionList is the answer of GET /api/sessions.
type sessionList struct {
	Sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	} `json:"sessions"`
}

func listSessions(t *testing.T, c *servertest.Client) sessionList {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/sessions", nil)
	wantStatus(t, r, http.StatusOK)
	var l sessionList
	r.JSON(t, &l)
	return l
}

func TestMembersListAndRevokeTheirOwnSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		laptop := s.member("hedy@example.com")
		phone := s.client()
		wantStatus(t, phone.Signin("hedy@example.com", goodPassword), http.StatusOK)
		laptopID := currentSession(t, laptop).Session.ID
		phoneID := currentSession(t, phone).Session.ID

		for _, c := range []struct {
			name   string
			client *servertest.Client
			self   string
		}{{"laptop", laptop, laptopID}, {"phone", phone, phoneID}} {
			l := listSessions(t, c.client)
			if len(l.Sessions) != 2 {
				t.Fatalf("%s lists %d sessions, want 2: %+v", c.name, len(l.Sessions), l)
			}
			for _, x := range l.Sessions {
				if x.Current != (x.ID == c.self) {
					t.Errorf("%s: session %s current=%v, want %v", c.name, x.ID, x.Current, x.ID == c.self)
				}
			}
		}

		// Another member cannot revoke, or learn anything about, hedy's sessions.
		stranger := s.member("eve@example.com")
		wantAPIError(t, stranger.JSON(http.MethodDelete, "/api/sessions/"+phoneID, nil), http.StatusNotFound, "not_found")
		currentSession(t, phone)

		// The laptop signs the phone out.
		wantStatus(t, laptop.JSON(http.MethodDelete, "/api/sessions/"+phoneID, nil), http.StatusNoContent)
		wantSignedOut(t, phone)
		currentSession(t, laptop)
		if l := listSessions(t, laptop); len(l.Sessions) != 1 || l.Sessions[0].ID != laptopID {
			t.Errorf("after revoking the phone, sessions = %+v", l)
		}
		wantAPIError(t, laptop.JSON(http.MethodDelete, "/api/sessions/"+phoneID, nil), http.StatusNotFound, "not_found")

		// Sign out everywhere: this browser included.
		tablet := s.client()
		wantStatus(t, tablet.Signin("hedy@example.com", goodPassword), http.StatusOK)
		wantStatus(t, laptop.JSON(http.MethodDelete, "/api/sessions", nil), http.StatusNoContent)
		wantSignedOut(t, laptop)
		wantSignedOut(t, tablet)
		currentSession(t, stranger)
	})
}

func TestEverySigninIssuesAFreshToken(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("barbara@example.com")

		// Session fixation: a token planted before sign-in is not adopted.
		c := s.client()
		planted := base64.RawURLEncoding.EncodeToString([]byte("chosen by the attacker, 32 bytes"))
		c.SetCookie(sessionCookie, planted)
		wantStatus(t, c.Signin("barbara@example.com", goodPassword), http.StatusOK)
		first := c.Cookie(sessionCookie)
		if first == "" || first == planted {
			t.Fatalf("session cookie after sign-in = %q, want a fresh token (planted %q)", first, planted)
		}
		attacker := s.client()
		attacker.SetCookie(sessionCookie, planted)
		wantSignedOut(t, attacker)

		wantStatus(t, c.Signin("barbara@example.com", goodPassword), http.StatusOK)
		if second := c.Cookie(sessionCookie); second == first || second == "" {
			t.Errorf("a second sign-in kept the token %q", first)
		}
		currentSession(t, c)
	})
}

// randomToken returns what a real token looks like: 32 random bytes,
// base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestGarbageSessionCookiesAreUnauthenticated(t *testing.T) {
	t.Parallel()
	cookies := []struct {
		name, header string
	}{
		{"refuses an empty session cookie", sessionCookie + "="},
		{"refuses a random word", sessionCookie + "=hello"},
		{"refuses a 10 KB value", sessionCookie + "=" + strings.Repeat("A", 10<<10)},
		{"refuses valid-looking base64", sessionCookie + "=" + base64.StdEncoding.EncodeToString([]byte("a session, honestly"))},
		{"refuses a forged token of the right length", sessionCookie + "=" + randomToken()},
		{"refuses a token with padding added", sessionCookie + "=" + randomToken() + "="},
		{"refuses SQL in the cookie", sessionCookie + `="' OR '1'='1"`},
		{"refuses SQL with a semicolon in the cookie", sessionCookie + `="; DROP TABLE sessions; --`},
		{"refuses two session cookies of which neither is real", sessionCookie + "=" + randomToken() + "; " + sessionCookie + "=" + randomToken()},
	}
	requests := []struct{ method, path string }{
		{http.MethodGet, "/api/session"},
		{http.MethodGet, "/api/sessions"},
		{http.MethodDelete, "/api/sessions"},
		{http.MethodDelete, "/api/sessions/00000000-0000-4000-8000-000000000000"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		member := s.member("katherine@example.com")
		before := s.written()
		for _, tc := range cookies {
			t.Run(tc.name, func(t *testing.T) {
				for _, rq := range requests {
					r := s.client().Do(rq.method, rq.path, nil, http.Header{"Cookie": {tc.header}})
					wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
				}
			})
		}
		s.unchangedSince(t, before)
		currentSession(t, member)
	})
}

func TestASessionLeftIdlePastTheIdleTimeoutEnds(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("idle@example.com")
		s.Clock.Advance(idleTimeout - time.Minute)
		currentSession(t, c)
		s.Clock.Advance(idleTimeout + time.Minute)
		wantSignedOut(t, c)
		// The session is gone, not only refused: back at a time when it
		// was fresh, it still does not work.
		s.Clock.Advance(-idleTimeout)
		wantSignedOut(t, c)
	})
}

func TestAnActiveSessionEndsAtTheAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("busy@example.com")
		step := 6 * 24 * time.Hour
		elapsed := time.Duration(0)
		for elapsed+step < absoluteTimeout {
			s.Clock.Advance(step)
			elapsed += step
			currentSession(t, c) // activity within the idle timeout keeps it alive
		}
		s.Clock.Advance(absoluteTimeout - elapsed + time.Minute)
		wantSignedOut(t, c)
		if l := listSessionsOf(t, s, "busy@example.com"); len(l.Sessions) != 1 {
			t.Errorf("a fresh sign-in lists %d sessions, want only itself", len(l.Sessions))
		}
	})
}

// listSessionsOf signs email in from a new client and lists its sessions.
func listSessionsOf(t *testing.T, s *liveSite, email string) sessionList {
	t.Helper()
	c := s.client()
	wantStatus(t, c.Signin(email, goodPassword), http.StatusOK)
	return listSessions(t, c)
}
