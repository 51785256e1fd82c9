package web_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

const victimEmail = "victim@example.com"

func TestSigninFailuresRevealNothingAboutTheAccount(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(victimEmail)

		attempts := []struct{ name, email, password string }{
			{"a wrong password for an existing account", victimEmail, "not the password"},
			{"an unknown email", "nobody@example.com", "not the password"},
			{"an unknown email with the member's password", "nobody@example.com", goodPassword},
			{"an empty password for an existing account", victimEmail, ""},
			{"an empty password for an unknown email", "nobody@example.com", ""},
		}
		var first *servertest.Response
		for _, a := range attempts {
			r := s.client().Signin(a.email, a.password)
			wantAPIError(t, r, http.StatusUnauthorized, "invalid_credentials")
			if first == nil {
				first = r
				continue
			}
			if r.Status != first.Status || !bytes.Equal(r.Body, first.Body) {
				t.Errorf("%s answers %d %s; %s answered %d %s", a.name, r.Status, r.Body, attempts[0].name, first.Status, first.Body)
			}
			if len(r.Header.Values("Set-Cookie")) != len(first.Header.Values("Set-Cookie")) {
				t.Errorf("%s sets cookies %q; %s set %q", a.name, r.Header.Values("Set-Cookie"), attempts[0].name, first.Header.Values("Set-Cookie"))
			}
		}
	})
}

// failFreely makes the wrong-password failures that passwordauth.PolicyAccount
// lets through without any wait: Free of them; the attempt after them waits.
// It fails t if any is throttled.
func failFreely(t *testing.T, c *servertest.Client, email string) {
	t.Helper()
	for i := range passwordauth.PolicyAccount.Free {
		r := c.Signin(email, "not the password")
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d of %d: %d %s, want 401", i+1, passwordauth.PolicyAccount.Free, r.Status, r.Body)
		}
	}
}

// wantThrottled checks that r is a 429 with a usable Retry-After and returns it.
func wantThrottled(t *testing.T, r *servertest.Response) int {
	t.Helper()
	e := wantAPIError(t, r, http.StatusTooManyRequests, "too_many_attempts")
	n := retryAfter(t, r)
	if e.Error.RetryAfter != n {
		t.Errorf("error.retryAfter %d, Retry-After %d: they must agree", e.Error.RetryAfter, n)
	}
	return n
}

func TestWrongPasswordsThrottleTheAccountEvenForTheRightPassword(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(victimEmail)
		stranger := s.client()
		failFreely(t, stranger, victimEmail)
		before := s.written()

		wait := wantThrottled(t, stranger.Signin(victimEmail, "not the password"))
		if want := passwordauth.PolicyAccount.Base; time.Duration(wait)*time.Second != want {
			t.Errorf("Retry-After %ds, want the policy's first wait %s", wait, want)
		}
		// The right password does not get through either, from anyone
		// without a device cookie of the member.
		wantThrottled(t, stranger.Signin(victimEmail, goodPassword))
		wantThrottled(t, s.client().Signin(victimEmail, goodPassword))
		s.unchangedSince(t, before) // refused attempts are not even counted

		s.Clock.Advance(time.Duration(wait)*time.Second - time.Millisecond)
		wantThrottled(t, s.client().Signin(victimEmail, goodPassword))
		s.Clock.Advance(time.Millisecond)
		wantSigninAnswer(t, s.client().Signin(victimEmail, goodPassword), http.StatusOK, victimEmail)
	})
}

func TestAnUnknownEmailIsThrottledExactlyLikeAnAccount(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(victimEmail)
		failFreely(t, s.client(), victimEmail)
		failFreely(t, s.client(), "nobody@example.com")

		known := s.client().Signin(victimEmail, goodPassword)
		unknown := s.client().Signin("nobody@example.com", goodPassword)
		wantThrottled(t, known)
		wantThrottled(t, unknown)
		if !bytes.Equal(known.Body, unknown.Body) || known.Header.Get("Retry-After") != unknown.Header.Get("Retry-After") {
			t.Errorf("throttling tells accounts apart:\n account: %s Retry-After %s\n unknown: %s Retry-After %s",
				known.Body, known.Header.Get("Retry-After"), unknown.Body, unknown.Header.Get("Retry-After"))
		}
	})
}

func TestTheMembersOwnDeviceIsNotThrottledByStrangers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(victimEmail)
		laptop := s.client() // signed in before, so it holds a device cookie
		wantStatus(t, laptop.Signin(victimEmail, goodPassword), http.StatusOK)
		wantStatus(t, laptop.JSON(http.MethodDelete, "/api/session", nil), http.StatusNoContent)
		if laptop.Cookie(deviceCookie) == "" {
			t.Fatal("no device cookie after a successful sign-in")
		}

		stranger := s.client()
		failFreely(t, stranger, victimEmail)
		wantThrottled(t, stranger.Signin(victimEmail, goodPassword))

		wantSigninAnswer(t, laptop.Signin(victimEmail, goodPassword), http.StatusOK, victimEmail)
	})
}

func TestADeviceCookieOfAnotherAccountGivesNoExemption(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		victim := s.member(victimEmail)
		victimID := currentSession(t, victim).User.ID
		attacker := s.member("attacker@example.com") // holds a device cookie of its own account
		if attacker.Cookie(deviceCookie) == "" {
			t.Fatal("no device cookie after sign-up")
		}

		failFreely(t, attacker, victimEmail)
		wantThrottled(t, attacker.Signin(victimEmail, goodPassword))

		// Nor does a forged device cookie naming the victim.
		forger := s.client()
		forger.SetCookie(deviceCookie, victimID+".bXlkZXZpY2U."+randomToken())
		wantThrottled(t, forger.Signin(victimEmail, goodPassword))
	})
}
