package web_test

// Email sign-in under attack (docs/security.md, T12 and T13): a budget of
// codes per address across flows, quiet starts while the last mail is
// fresh, and no stranger able to close a member's email sign-in — without
// the answers telling members from strangers.

import (
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// startProxiedEmailSite is startEmailSite behind a trusted loopback proxy,
// so one test speaks from many client addresses (from).
func startProxiedEmailSite(t *testing.T, database string, opts ...servertest.Option) *emailSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	opts = append([]servertest.Option{func(c *config.Config) { c.SMTPURLs = []string{box.URL()} }, trustLoopbackProxy}, opts...)
	return &emailSite{Instance: servertest.Start(t, database, opts...), box: box}
}

// inbox follows the sign-in mails to one address in the order they were
// queued: after every start, sync waits for each new mail to arrive before
// anything else is sent, so the n-th mail received is the n-th queued.
type inbox struct {
	s     *emailSite
	to    string
	mails []signinMail
}

// sync waits for every sign-in mail queued so far and returns how many
// arrived since the last call.
func (b *inbox) sync(t *testing.T) int {
	t.Helper()
	n := queued(t, b.s.Instance, "signin_link", b.to)
	got := 0
	for len(b.mails) < n {
		b.mails = append(b.mails, b.s.box.nth(t, b.to, len(b.mails)+1))
		got++
	}
	return got
}

// newest returns the last sign-in mail queued.
func (b *inbox) newest(t *testing.T) signinMail {
	t.Helper()
	if len(b.mails) == 0 {
		t.Fatal("no sign-in mail yet")
	}
	return b.mails[len(b.mails)-1]
}

// startFrom posts a start for email from c and returns the answer.
func startFrom(c *servertest.Client, email string) *servertest.Response {
	return c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": email})
}

func flowIDOf(t *testing.T, r *servertest.Response) string {
	t.Helper()
	if r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s, want 202", r.Status, r.Body)
	}
	var body struct {
		FlowID string `json:"flowId"`
	}
	r.JSON(t, &body)
	return body.FlowID
}

func TestAStrangerCannotKeepAMembersEmailSigninClosed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProxiedEmailSite(t, database)
		const lin = "lin@example.com"
		addMember(t, s.Instance, lin) // imported: no password, no passkey, no browser of hers known
		box := &inbox{s: s, to: lin}

		// A stranger starts a flow for her address every minute for two
		// hours, from ever new addresses. Every few minutes she opens a new
		// browser and asks for a mail: she always gets an answer, and the
		// code of the newest mail in her inbox signs her in.
		for minute := range 120 {
			flowIDOf(t, startFrom(from(s.Client(t), nthIP(minute)), lin))
			box.sync(t)
			if minute%17 == 16 {
				browser := from(s.Client(t), "192.0.2.10")
				id := flowIDOf(t, startFrom(browser, lin))
				box.sync(t)
				r, _ := finishEmail(t, browser, map[string]any{"flowId": id, "code": box.newest(t).code})
				if r.Status != http.StatusOK {
					t.Fatalf("minute %d: her code for the flow her start answered: %d %s", minute, r.Status, r.Body)
				}
			}
			s.Clock.Advance(time.Minute)
		}
		// Her mailbox got about one mail per PolicyStartAddress.Max, not 120.
		if n := len(box.mails); n > 25 {
			t.Errorf("%d sign-in mails in two hours of a stranger's starts, want at most 25", n)
		}

		// A browser she signed in with before has its own key: it gets a
		// fresh mail at once while the stranger holds the address's.
		laptop := from(s.Client(t), "192.0.2.11")
		id := flowIDOf(t, startFrom(laptop, lin))
		box.sync(t)
		if r, _ := finishEmail(t, laptop, map[string]any{"flowId": id, "code": box.newest(t).code}); r.Status != http.StatusOK {
			t.Fatalf("sign-in on her laptop: %d %s", r.Status, r.Body)
		}
		for range 3 {
			s.Clock.Advance(signin.QuietFor)
			flowIDOf(t, startFrom(from(s.Client(t), "198.51.100.7"), lin))
			flowIDOf(t, startFrom(laptop, lin))
			if got := box.sync(t); got != 1 {
				t.Fatalf("a stranger's and her laptop's start a minute after the last: %d new mails, want 1 — hers", got)
			}
			r, _ := finishEmail(t, laptop, map[string]any{"token": box.newest(t).token})
			if r.Status != http.StatusOK {
				t.Fatalf("her laptop's fresh link: %d %s", r.Status, r.Body)
			}
		}
	})
}

func TestEmailCodesHaveADailyBudgetPerAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startProxiedEmailSite(t, database)
		const lin = "lin@example.com"
		u := addMember(t, s.Instance, lin)
		box := &inbox{s: s, to: lin}
		budget, tries := signin.PolicyCodeAddress.Free, signin.DefaultMaxAttempts

		// Flows a stranger starts and guesses, each guess from a new address.
		var mu sync.Mutex
		guesses := 0
		guess := func(flow string, m signinMail) *servertest.Response {
			mu.Lock()
			guesses++
			ip := nthIP(guesses)
			mu.Unlock()
			wrong := "000000"
			if m.code == wrong {
				wrong = "000001"
			}
			r, _ := finishEmail(t, from(s.Client(t), ip), map[string]any{"flowId": flow, "code": wrong})
			return r
		}
		newFlow := func() (string, signinMail) {
			t.Helper()
			s.Clock.Advance(signin.PolicyStartAddress.Max) // so that the start mails
			id := flowIDOf(t, startFrom(from(s.Client(t), "198.51.100.7"), lin))
			if box.sync(t) != 1 {
				t.Fatal("a start after the longest wait mailed nothing")
			}
			return id, box.newest(t)
		}
		for range (budget - tries) / tries {
			id, m := newFlow()
			for range tries {
				wantInvalidCode(t, "a wrong code", guess(id, m))
			}
		}
		// Two live flows, ten guesses at once, five left in the budget:
		// five are compared, and not one more.
		id1, m1 := newFlow()
		id2, m2 := newFlow()
		var wg sync.WaitGroup
		for i := range 2 * tries {
			wg.Go(func() {
				id, m := id1, m1
				if i%2 == 1 {
					id, m = id2, m2
				}
				wantInvalidCode(t, "a wrong code at once", guess(id, m))
			})
		}
		wg.Wait()
		if n := events(t, s.Instance, u.ID, account.EventSignin, account.OutcomeFailure); n != budget {
			t.Errorf("%d wrong codes compared for her address (her failure events), want the budget, %d", n, budget)
		}
		if n := queued(t, s.Instance, notice.KindEmailCodes, lin); n != 1 {
			t.Errorf("%d wrong-code notices queued, want 1 however many wrong codes", n)
		}

		// Past the budget even the right code fails — a stranger learns
		// nothing from it — and the link works.
		id, m := newFlow()
		member := from(s.Client(t), "192.0.2.10")
		r, _ := finishEmail(t, member, map[string]any{"flowId": id, "code": m.code})
		wantInvalidCode(t, "the right code past the budget", r)
		if r, _ := finishEmail(t, member, map[string]any{"token": m.token}); r.Status != http.StatusOK {
			t.Fatalf("the link past the budget: %d %s", r.Status, r.Body)
		}
		// Her own browser, now known, has a budget of its own.
		id = flowIDOf(t, startFrom(member, lin))
		box.sync(t)
		if r, _ := finishEmail(t, member, map[string]any{"flowId": id, "code": box.newest(t).code}); r.Status != http.StatusOK {
			t.Errorf("the right code in her own browser: %d %s", r.Status, r.Body)
		}
		// A day without a guess, and codes work for everyone again.
		s.Clock.Advance(24 * time.Hour)
		id, m = newFlow()
		if r, _ := finishEmail(t, s.Client(t), map[string]any{"flowId": id, "code": m.code}); r.Status != http.StatusOK {
			t.Errorf("the right code a day later: %d %s", r.Status, r.Body)
		}
	})
}

func TestEmailStartsTellMembersFromStrangersByNothing(t *testing.T) {
	t.Parallel()
	for _, open := range []bool{true, false} {
		t.Run(map[bool]string{true: "sign-up open", false: "sign-up closed"}[open], func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, database string) {
				t.Parallel()
				s := startProxiedEmailSite(t, database, func(c *config.Config) { c.Signup.Open = open })
				addMember(t, s.Instance, "lin@example.com")
				addresses := []string{"lin@example.com", "nobody@example.com"}
				last := map[string]string{}
				trace := map[string][]string{}
				shape := regexp.MustCompile(`"flowId":"[^"]+"`)
				var body string
				step := func(advance time.Duration) {
					s.Clock.Advance(advance)
					for i, a := range addresses {
						r := startFrom(from(s.Client(t), nthIP(i)), a)
						b := fmt.Sprintf("%d %s", r.Status, shape.ReplaceAllString(string(r.Body), `"flowId":"…"`))
						if body == "" {
							body = b
						} else if b != body {
							t.Errorf("%s: answer %s, another start answered %s", a, b, body)
						}
						id := flowIDOf(t, r)
						seen := "new id"
						if id == last[a] {
							seen = "same id"
						}
						last[a] = id
						trace[a] = append(trace[a], seen)
					}
				}
				step(0)
				step(0)               // at once: the same flow
				step(signin.QuietFor) // a minute later: a new flow
				for range 8 {         // past the address's free starts: quiet, then new
					step(signin.QuietFor)
				}
				step(signin.PolicyStartAddress.Max)
				step(time.Second)
				if fmt.Sprint(trace[addresses[0]]) != fmt.Sprint(trace[addresses[1]]) {
					t.Errorf("repeated starts tell a member from a stranger:\n member: %v\nunknown: %v", trace[addresses[0]], trace[addresses[1]])
				}
				if want := "same id"; trace[addresses[0]][1] != want || trace[addresses[0]][2] != "new id" {
					t.Errorf("member's starts went %v: want the same id at once and a new one a minute later", trace[addresses[0]])
				}
			})
		})
	}
}
