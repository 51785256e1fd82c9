package web_test

// Refused sign-ins from anyone (docs/security.md, T9 and T10): failures
// that no account can be tied to are counted per minute and IP, not
// appended to the audit log one row each; redemptions that need no password
// are limited per IP; and an IPv6 client is one /64, beside its /48.

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/throttle"
)

func TestUnauthenticatedFailuresAreCountedNotLogged(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database, trustLoopbackProxy)
		before := s.written()
		stranger := func() *servertest.Client { return from(s.client(), "203.0.113.9") }
		badLink := func() *servertest.Response {
			r, _ := finishEmail(t, stranger(), map[string]any{"token": randomToken()})
			return r
		}
		badCode := func() *servertest.Response {
			r, _ := finishEmail(t, stranger(), map[string]any{"flowId": "00000000-0000-4000-8000-000000000000", "code": "123456"})
			return r
		}
		unknownPasskey := func() *servertest.Response {
			c := stranger()
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			return finishLogin(c, cer.FlowID, newSoftKey(t, s).assertionFor(cer).JSON(), "modal")
		}
		free := account.PolicyRedeemIP.Free
		for i := range free {
			switch i % 3 {
			case 0:
				wantAPIError(t, badLink(), http.StatusUnauthorized, "invalid_code")
			case 1:
				wantAPIError(t, badCode(), http.StatusUnauthorized, "invalid_code")
			case 2:
				wantAPIError(t, unknownPasskey(), http.StatusUnauthorized, "passkey_rejected")
			}
		}
		for i := range 5 {
			wantAPIError(t, from(s.client(), "203.0.113.9").Signin(fmt.Sprintf("nobody%d@example.com", i), "not the password"),
				http.StatusUnauthorized, "invalid_credentials")
		}
		s.unchangedSince(t, before) // not one audit event

		got, err := s.DB.FailureCounts(context.Background(), account.EventSignin, s.Clock.Now().Add(-time.Hour), s.Clock.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.FailureCount{
			{Method: "email_code", Outcome: "failure", Count: free / 3},
			{Method: "email_link", Outcome: "failure", Count: free / 3},
			{Method: "passkey_modal", Outcome: "failure", Count: free / 3}, // by its ceremony's mediation
			{Method: "password", Outcome: "failure", Count: 5},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counted failures %v, want %v", got, want)
		}

		// The address has used its redemptions: each kind is refused
		// before any work, and writes nothing.
		wantThrottled(t, badLink())
		wantThrottled(t, badCode())
		wantThrottled(t, unknownPasskey())
		again, _ := s.DB.FailureCounts(context.Background(), account.EventSignin, s.Clock.Now().Add(-time.Hour), s.Clock.Now().Add(time.Hour))
		if fmt.Sprint(again) != fmt.Sprint(want) {
			t.Errorf("refused attempts were counted: %v, want %v", again, want)
		}
		// Another address is not held back.
		r, _ := finishEmail(t, from(s.client(), "203.0.113.10"), map[string]any{"token": randomToken()})
		wantAPIError(t, r, http.StatusUnauthorized, "invalid_code")
	})
}

func TestIPv6ClientsAreCountedByTheirSlash64AndSlash48(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, trustLoopbackProxy)
		free := passwordauth.PolicyIP.Free
		n := 0
		try := func(ip string) *servertest.Response {
			n++
			return from(s.client(), ip).Signin(fmt.Sprintf("nobody%d@example.com", n), "not the password")
		}
		// Rotating addresses inside one /64 gains nothing.
		for i := range free {
			wantAPIError(t, try(fmt.Sprintf("2001:db8:1:2::%x", i+1)), http.StatusUnauthorized, "invalid_credentials")
		}
		wantThrottled(t, try("2001:db8:1:2:ffff:ffff:ffff:ffff"))

		// Other /64s of the /48 count too, against a looser limit.
		for i := free; i < throttle.WideFactor*free; i++ {
			wantAPIError(t, try(fmt.Sprintf("2001:db8:1:%x::1", i)), http.StatusUnauthorized, "invalid_credentials")
		}
		wantThrottled(t, try("2001:db8:1:ffff::1"))

		// Another /48, and IPv4, are not held back.
		wantAPIError(t, try("2001:db8:2::1"), http.StatusUnauthorized, "invalid_credentials")
		wantAPIError(t, try("192.0.2.1"), http.StatusUnauthorized, "invalid_credentials")
	})
}
