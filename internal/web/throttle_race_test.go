package web_test

// Throttles under concurrency (docs/security.md, T4): N requests at once against a
// real keyshift — and against two keyshift nodes on one database — do the
// work no more often than the throttle allows. Each attempt is reserved
// before its work by one atomic statement, so the allowance is exact: no
// slack. Work is counted by what it leaves: audit events of a member's
// failures (one per hash or comparison), mails in the outbox, accounts.

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// forwardedFor makes a client's requests come from ip: keyshift believes
// X-Forwarded-For from loopback when started with trustLoopbackProxy.
type forwardedFor struct {
	ip   string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	return f.next.RoundTrip(r)
}

// from makes c's requests come from the client address ip.
func from(c *servertest.Client, ip string) *servertest.Client {
	c.HTTP.Transport = forwardedFor{ip: ip, next: http.DefaultTransport}
	return c
}

// nthIP returns a distinct IPv4 address for each n.
func nthIP(n int) string { return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255) }

// twoNodes starts two keyshift nodes on one database, as a cluster runs
// (for SQLite: two servers on one file). Their clocks agree, as a
// cluster's do: each test clock starts at the time its node started, and
// on a loaded machine the second can start seconds after the first, which
// would let it see a back-off as over.
func twoNodes(t *testing.T, database string, opts ...servertest.Option) [2]*liveSite {
	t.Helper()
	nodes := [2]*liveSite{startSite(t, database, opts...), startSite(t, database, opts...)}
	// One time for both, as NTP gives real nodes: the second started later
	// by the first's whole start-up, and a clock that far ahead would let
	// it grant an attempt the first's back-off still holds.
	nodes[1].Clock.Set(nodes[0].Clock.Now())
	return nodes
}

// race runs do(0) … do(n-1) at once, each on its own goroutine, and counts
// the answers by status. A 429 must be too_many_attempts with Retry-After.
func race(t *testing.T, n int, do func(i int) *servertest.Response) map[int]int {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range n {
		wg.Go(func() {
			r := do(i)
			if r.Status == http.StatusTooManyRequests && (r.ErrorCode() != "too_many_attempts" || r.Header.Get("Retry-After") == "") {
				t.Errorf("a 429 without too_many_attempts and Retry-After: %s", r.Body)
			}
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

// wantStatuses fails t unless got counts exactly want.
func wantStatuses(t *testing.T, what string, got, want map[int]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s answered %v, want %v", what, got, want)
	}
}

// events counts the audit events of type for userID with outcome.
func events(t *testing.T, in *servertest.Instance, userID, typ, outcome string) int {
	t.Helper()
	evs, err := in.DB.FindEvents(context.Background(), store.EventFilter{UserID: userID, Type: typ, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if outcome == "" || e.Outcome == outcome {
			n++
		}
	}
	return n
}

func TestConcurrentWrongPasswordsGetExactlyTheFreeHashes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		nodes := twoNodes(t, database)
		id := currentSession(t, nodes[0].member(victimEmail)).User.ID
		free := passwordauth.PolicyAccount.Free

		got := race(t, 25, func(i int) *servertest.Response {
			return nodes[i%2].client().Signin(victimEmail, "not the password")
		})
		wantStatuses(t, "25 wrong passwords at once on two nodes", got, map[int]int{401: free, 429: 25 - free})
		if n := events(t, nodes[0].Instance, id, account.EventSignin, account.OutcomeFailure); n != free {
			t.Errorf("%d password checks ran (failure events), want %d", n, free)
		}
	})
}

func TestConcurrentWrongRecoveryCodesGetExactlyTheFreeTries(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		nodes := twoNodes(t, database)
		id := currentSession(t, nodes[0].member(victimEmail)).User.ID
		free := passwordauth.PolicyAccount.Free

		got := race(t, 25, func(i int) *servertest.Response {
			return recoverySignin(nodes[i%2].client(), victimEmail, "AAAAA-AAAAA")
		})
		wantStatuses(t, "25 wrong recovery codes at once on two nodes", got, map[int]int{401: free, 429: 25 - free})
		if n := events(t, nodes[0].Instance, id, account.EventSignin, account.OutcomeFailure); n != free {
			t.Errorf("%d recovery codes were tried (failure events), want %d", n, free)
		}
	})
}

func TestConcurrentWrongCurrentPasswordsGetExactlyTheFreeHashes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member(victimEmail) // a fresh session: the change needs no step-up
		id := currentSession(t, c).User.ID
		free := passwordauth.PolicyDevice.Free // c signed up: a trusted device

		got := race(t, 25, func(int) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/account/password", map[string]string{
				"currentPassword": "not the password", "newPassword": "another fine passphrase 7"})
		})
		wantStatuses(t, "25 password changes with a wrong current password at once", got, map[int]int{403: free, 429: 25 - free})
		if n := events(t, s.Instance, id, account.EventPasswordChanged, account.OutcomeFailure); n != free {
			t.Errorf("%d current passwords were checked (failure events), want %d", n, free)
		}
	})
}

func TestConcurrentSignupsFromOneAddressGetExactlyTheFreeAccounts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		nodes := twoNodes(t, database)
		free := passwordauth.PolicySignupIP.Free

		got := race(t, 25, func(i int) *servertest.Response {
			return nodes[i%2].client().JSON(http.MethodPost, "/api/signup",
				map[string]string{"email": fmt.Sprintf("new%d@example.com", i), "password": goodPassword})
		})
		wantStatuses(t, "25 sign-ups from one address at once on two nodes", got, map[int]int{201: free, 429: 25 - free})
		if n, err := nodes[0].DB.CountUsers(context.Background()); err != nil || n != free {
			t.Errorf("%d accounts (%v), want %d", n, err, free)
		}
	})
}

func TestConcurrentEmailStartsMailOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		nodes := twoNodes(t, database, trustLoopbackProxy)
		nodes[0].member(victimEmail)

		var mu sync.Mutex
		ids := map[string]int{}
		got := race(t, 60, func(i int) *servertest.Response {
			r := from(nodes[i%2].client(), nthIP(i)).JSON(http.MethodPost, "/api/email/start", map[string]any{"email": victimEmail})
			var body struct {
				FlowID string `json:"flowId"`
			}
			if r.Status == http.StatusAccepted {
				r.JSON(t, &body)
				mu.Lock()
				ids[body.FlowID]++
				mu.Unlock()
			}
			return r
		})
		wantStatuses(t, "60 starts for one address at once on two nodes", got, map[int]int{202: 60})
		if len(ids) != 1 {
			t.Errorf("the starts answered %d flow ids, want one: the first start's", len(ids))
		}
		if n := queued(t, nodes[0].Instance, "signin_link", victimEmail); n != 1 {
			t.Errorf("%d sign-in mails queued, want 1", n)
		}
		if n := events(t, nodes[0].Instance, "", signin.EventStarted, ""); n != 1 {
			t.Errorf("%d flows stored (start events), want 1", n)
		}
	})
}

func TestConcurrentEmailChangesMailExactlyTheFreeOnes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member(victimEmail)
		s.verify(t, victimEmail) // only a proven address moves
		free := change.PolicyBegin.Free

		got := race(t, 20, func(i int) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": fmt.Sprintf("new%d@example.com", i)})
		})
		wantStatuses(t, "20 email changes at once", got, map[int]int{202: free, 429: 20 - free})
		mails := 0
		for i := range 20 {
			mails += queued(t, s.Instance, "email_change", fmt.Sprintf("new%d@example.com", i))
		}
		if mails != free {
			t.Errorf("%d confirmation mails queued, want %d", mails, free)
		}
	})
}

func TestConcurrentResendsMailExactlyTheFreeOnes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member(victimEmail) // unverified: sign-up mailed one confirmation
		free := confirm.PolicyResend.Free

		got := race(t, 20, func(int) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/account/email/verification", nil)
		})
		wantStatuses(t, "20 resends at once", got, map[int]int{202: free, 429: 20 - free})
		if n := queued(t, s.Instance, "verify_email", victimEmail); n != 1+free {
			t.Errorf("%d confirmation mails queued, want %d (sign-up's and %d resends)", n, 1+free, free)
		}
	})
}
