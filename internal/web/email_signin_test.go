package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// mailbox is a real SMTP server on 127.0.0.1 that keeps every mail, with
// the web tests' ways of finding a mail in it.
type mailbox struct{ *mailtest.Server }

// count returns how many mails reached to.
func (b mailbox) count(to string) int {
	n := 0
	for _, m := range b.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, to) {
				n++
			}
		}
	}
	return n
}

// find waits (bounded polling) until pick finds a mail among those received
// so far, and returns it decoded; what names the mail in the failure.
func (b mailbox) find(t *testing.T, what string, pick func([]mailtest.Message) (mailtest.Message, bool)) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := pick(b.Messages()); ok {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s within 15s", what)
	return mailtest.Message{}
}

// nth waits (bounded polling) for the n-th sign-in mail (1-based) to to;
// other mail (confirmations, notices) is skipped.
func (b mailbox) nth(t *testing.T, to string, n int) signinMail {
	t.Helper()
	m := b.find(t, fmt.Sprintf("mail #%d to %s", n, to), func(got []mailtest.Message) (mailtest.Message, bool) {
		var seen []mailtest.Message
		for _, m := range got {
			for _, r := range m.To {
				if strings.EqualFold(r, to) && isSigninMail(t, m.Raw) {
					seen = append(seen, m)
				}
			}
		}
		if len(seen) >= n {
			return seen[n-1], true
		}
		return mailtest.Message{}, false
	})
	return parseSigninMail(t, m.Raw)
}

// isSigninMail reports whether raw is a sign-in mail, by its subject.
func isSigninMail(t *testing.T, raw []byte) bool {
	return strings.Contains(mailtest.Decode(t, raw).Subject, "sign-in code")
}

// signinMail is what a member reads in a sign-in mail.
type signinMail struct {
	text, html string
	link       string
	token      string
	code       string
}

var (
	linkRE = regexp.MustCompile(`https?://[^\s"<>]+/email/verify\?token=([A-Za-z0-9_-]+)`)
	codeRE = regexp.MustCompile(`(?m)^(\d{6})\s*$`)
)

func parseSigninMail(t *testing.T, raw []byte) signinMail {
	t.Helper()
	d := mailtest.Decode(t, raw)
	sm := signinMail{text: d.Text, html: d.HTML}
	lm := linkRE.FindStringSubmatch(sm.text)
	cm := codeRE.FindStringSubmatch(sm.text)
	if lm == nil || cm == nil {
		t.Fatalf("no link or code in the mail:\n%s", sm.text)
	}
	sm.link, sm.token, sm.code = lm[0], lm[1], cm[1]
	if !strings.Contains(sm.html, sm.code) || !strings.Contains(sm.html, "token="+sm.token) {
		t.Errorf("the HTML part lacks the link or code:\n%s", sm.html)
	}
	return sm
}

// emailSite is keyshift delivering its mail to a real SMTP server.
type emailSite struct {
	*servertest.Instance
	box mailbox
}

func startEmailSite(t *testing.T, database string) *emailSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	in := servertest.Start(t, database, func(c *config.Config) { c.SMTPURLs = []string{box.URL()} })
	return &emailSite{Instance: in, box: box}
}

// start asks for a sign-in mail and returns the flow id.
func (s *emailSite) start(t *testing.T, c *servertest.Client, email string) string {
	t.Helper()
	r := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": email})
	if r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var body struct {
		FlowID string `json:"flowId"`
	}
	r.JSON(t, &body)
	if body.FlowID == "" {
		t.Fatalf("start: no flowId in %s", r.Body)
	}
	return body.FlowID
}

type emailSignin struct {
	User struct {
		ID            string `json:"id"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"emailVerified"`
		HasPassword   bool   `json:"hasPassword"`
	} `json:"user"`
	Next *string `json:"next"`
}

func finishEmail(t *testing.T, c *servertest.Client, body map[string]any) (*servertest.Response, emailSignin) {
	t.Helper()
	r := c.JSON(http.MethodPost, "/api/email/finish", body)
	var out emailSignin
	if r.Status == http.StatusOK {
		r.JSON(t, &out)
	}
	return r, out
}

func wantInvalidCode(t *testing.T, what string, r *servertest.Response) {
	t.Helper()
	if r.Status != http.StatusUnauthorized || r.ErrorCode() != "invalid_code" {
		t.Errorf("%s: %d %s, want 401 invalid_code", what, r.Status, r.Body)
	}
}

// sessionMethod returns the signed-in session's authMethod and the user's
// emailVerified ("" when not signed in).
func sessionMethod(t *testing.T, c *servertest.Client) (string, bool) {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/session", nil)
	if r.Status != http.StatusOK {
		return "", false
	}
	var s struct {
		User struct {
			EmailVerified bool `json:"emailVerified"`
		} `json:"user"`
		Session struct {
			AuthMethod string `json:"authMethod"`
		} `json:"session"`
	}
	r.JSON(t, &s)
	return s.Session.AuthMethod, s.User.EmailVerified
}

const emailPassword = "correct horse battery staple"

func TestEmailSigninWithTheLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		owner := s.Client(t)
		if r := owner.Signup("ada@example.com", emailPassword); r.Status != http.StatusCreated {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		// Proven by the sign-up's own link: a link sign-in then keeps
		// the password (a first proof by email would clear it, T3).
		verifyAddress(t, s.Instance, "ada@example.com")
		c := s.Client(t)
		flow := s.start(t, c, "Ada@Example.com")
		m := s.box.nth(t, "ada@example.com", 1)
		if !strings.HasPrefix(m.link, s.URL+"/email/verify?token=") {
			t.Errorf("link %q does not start at the origin %s", m.link, s.URL)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(m.token); err != nil || len(raw) < 16 {
			t.Errorf("token %q: %d bytes (%v), want at least 128 bits of base64url", m.token, len(raw), err)
		}

		r, got := finishEmail(t, c, map[string]any{"token": m.token})
		if r.Status != http.StatusOK {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		// No passkey yet, so the fresh install's rollout nudges.
		if got.User.Email != "ada@example.com" || !got.User.EmailVerified || !got.User.HasPassword || got.Next == nil || *got.Next != "enroll_passkey" {
			t.Errorf("sign-in answer %s", r.Body)
		}
		if method, verified := sessionMethod(t, c); method != "email_link" || !verified {
			t.Errorf("session: method %q verified %v, want email_link true", method, verified)
		}

		other := s.Client(t)
		r, _ = finishEmail(t, other, map[string]any{"token": m.token})
		wantInvalidCode(t, "replayed link", r)
		r, _ = finishEmail(t, other, map[string]any{"flowId": flow, "code": m.code})
		wantInvalidCode(t, "code after its link was used", r)
		if method, _ := sessionMethod(t, other); method != "" {
			t.Errorf("a refused redemption signed in (%s)", method)
		}
	})
}

func TestEmailSigninWithTheCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		s.Client(t).Signup("ada@example.com", emailPassword)
		c := s.Client(t)
		flow := s.start(t, c, "ada@example.com")
		m := s.box.nth(t, "ada@example.com", 1)

		r, got := finishEmail(t, c, map[string]any{"flowId": flow, "code": m.code})
		if r.Status != http.StatusOK || !got.User.EmailVerified {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		if method, _ := sessionMethod(t, c); method != "email_code" {
			t.Errorf("session method %q, want email_code", method)
		}
		other := s.Client(t)
		r, _ = finishEmail(t, other, map[string]any{"flowId": flow, "code": m.code})
		wantInvalidCode(t, "replayed code", r)
		r, _ = finishEmail(t, other, map[string]any{"token": m.token})
		wantInvalidCode(t, "link after its code was used", r)
	})
}

func TestEmailSigninExpires(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		first := s.start(t, c, "ada@example.com")
		m1 := s.box.nth(t, "ada@example.com", 1)
		s.Clock.Advance(signin.QuietFor) // a start sooner mails nothing new
		s.start(t, c, "ada@example.com")
		m2 := s.box.nth(t, "ada@example.com", 2)

		s.Clock.Advance(15*time.Minute - time.Second)
		r, _ := finishEmail(t, c, map[string]any{"token": m2.token})
		if r.Status != http.StatusOK {
			t.Fatalf("a link 1 s before expiry: %d %s", r.Status, r.Body)
		}
		s.Clock.Advance(time.Second)
		r, _ = finishEmail(t, s.Client(t), map[string]any{"token": m1.token})
		wantInvalidCode(t, "link after 15 min", r)
		r, _ = finishEmail(t, s.Client(t), map[string]any{"flowId": first, "code": m1.code})
		wantInvalidCode(t, "code after 15 min", r)
	})
}

func TestEmailSigninSixthCodeIsRefusedAndTheLinkStillWorks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		flow := s.start(t, c, "ada@example.com")
		m := s.box.nth(t, "ada@example.com", 1)
		wrong := "000000"
		if m.code == wrong {
			wrong = "000001"
		}
		for i := range 5 {
			r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": wrong})
			wantInvalidCode(t, "wrong code #"+string(rune('1'+i)), r)
		}
		r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": m.code})
		wantInvalidCode(t, "the right code after 5 wrong ones", r)
		// Wrong codes kill the code, not the link: whoever learnt the flow
		// id cannot take the member's link away.
		if r, _ = finishEmail(t, c, map[string]any{"token": m.token}); r.Status != http.StatusOK {
			t.Fatalf("the link of a flow whose code is dead: %d %s, want 200", r.Status, r.Body)
		}

		// Four wrong tries leave the fifth to the member.
		flow = s.start(t, c, "ada@example.com")
		m = s.box.nth(t, "ada@example.com", 2)
		for range 4 {
			finishEmail(t, c, map[string]any{"flowId": flow, "code": wrong})
		}
		if r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": m.code[:3] + " " + m.code[3:]}); r.Status != http.StatusOK {
			t.Errorf("the right code on the fifth try: %d %s", r.Status, r.Body)
		}
	})
}

func TestEmailSigninConcurrentRedemption(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		// Each redemption from an address of its own: forty from one would
		// meet the per-IP limit on redemptions, which is not tested here.
		s := startProxiedEmailSite(t, database)
		for i, kind := range []string{"token", "code"} {
			flow := s.start(t, s.Client(t), "ada@example.com")
			m := s.box.nth(t, "ada@example.com", i+1)
			body := map[string]any{"token": m.token}
			if kind == "code" {
				body = map[string]any{"flowId": flow, "code": m.code}
			}
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses = map[int]int{}
				userID   string
			)
			for j := range 20 {
				c := from(s.Client(t), nthIP(100*i+j))
				wg.Go(func() {
					r, got := finishEmail(t, c, body)
					mu.Lock()
					defer mu.Unlock()
					statuses[r.Status]++
					if r.Status == http.StatusOK {
						userID = got.User.ID
					}
				})
			}
			wg.Wait()
			if statuses[http.StatusOK] != 1 || statuses[http.StatusUnauthorized] != 19 {
				t.Fatalf("%s: 20 concurrent redemptions answered %v, want one 200 and nineteen 401", kind, statuses)
			}
			sessions, err := s.Sessions.List(context.Background(), userID)
			if err != nil {
				t.Fatal(err)
			}
			if len(sessions) != i+1 {
				t.Errorf("%s: %d sessions after %d races, want %d", kind, len(sessions), i+1, i+1)
			}
		}
	})
}

func TestEmailSigninUnknownAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		s.Client(t).Signup("ada@example.com", emailPassword)
		c := s.Client(t)
		known := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "ada@example.com"})
		unknown := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "grace@example.com"})
		if known.Status != unknown.Status || known.Status != http.StatusAccepted {
			t.Fatalf("statuses %d and %d, want 202 for both", known.Status, unknown.Status)
		}
		shape := regexp.MustCompile(`"flowId":"[^"]+"`)
		if a, b := shape.ReplaceAllString(string(known.Body), ""), shape.ReplaceAllString(string(unknown.Body), ""); a != b {
			t.Errorf("bodies differ beyond the flow id: %s vs %s", known.Body, unknown.Body)
		}
		var flow struct {
			FlowID string `json:"flowId"`
		}
		unknown.JSON(t, &flow)
		m := s.box.nth(t, "grace@example.com", 1)
		if !strings.Contains(m.text, "create") {
			t.Errorf("the mail to a new address does not say it creates an account:\n%s", m.text)
		}
		r, got := finishEmail(t, c, map[string]any{"flowId": flow.FlowID, "code": m.code})
		if r.Status != http.StatusOK {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}
		if got.User.Email != "grace@example.com" || !got.User.EmailVerified || got.User.HasPassword {
			t.Errorf("new account: %s", r.Body)
		}
	})
}

func TestEmailVerifyPageDoesNotSignInOnGet(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		s.start(t, c, "ada@example.com")
		m := s.box.nth(t, "ada@example.com", 1)

		scanner := s.Client(t)
		r := scanner.Do(http.MethodGet, strings.TrimPrefix(m.link, s.URL), nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET the link: %d %s", r.Status, r.Body)
		}
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q, want no-referrer", got)
		}
		if !strings.Contains(string(r.Body), `action="/email/verify"`) || !strings.Contains(string(r.Body), m.token) {
			t.Errorf("the page has no Continue form posting the token:\n%s", r.Body)
		}
		if method, _ := sessionMethod(t, scanner); method != "" {
			t.Fatalf("GET signed in (%s)", method)
		}
		// The GET used nothing up: the Continue button still signs in.
		// A member without a passkey goes by the rollout's nudge
		// (existing-users at 100 %, a fresh install's).
		r = c.Form("/email/verify", url.Values{"token": {m.token}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/welcome/passkey" {
			t.Fatalf("Continue: %d %s, want 303 to /welcome/passkey", r.Status, r.Body)
		}
		if method, _ := sessionMethod(t, c); method != "email_link" {
			t.Errorf("session method %q after Continue", method)
		}
		r = s.Client(t).Form("/email/verify", url.Values{"token": {m.token}})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("Continue again: %d, want 401", r.Status)
		}
	})
}

func TestEmailSigninPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		r := c.Do(http.MethodGet, "/signin", nil, nil)
		if !strings.Contains(string(r.Body), `action="/signin/email"`) || !strings.Contains(string(r.Body), "Email me a sign-in link") {
			t.Fatalf("/signin offers no email sign-in:\n%s", r.Body)
		}
		r = c.Form("/signin/email", url.Values{"email": {"ada@example.com"}})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `action="/email/code"`) {
			t.Fatalf("email form: %d %s", r.Status, r.Body)
		}
		flow := regexp.MustCompile(`name="flowId" value="([^"]+)"`).FindStringSubmatch(string(r.Body))
		if flow == nil {
			t.Fatalf("no flowId on the check-your-email page:\n%s", r.Body)
		}
		m := s.box.nth(t, "ada@example.com", 1)
		r = c.Form("/email/code", url.Values{"flowId": {flow[1]}, "code": {"99999x"}})
		if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), `action="/email/code"`) {
			t.Errorf("a malformed code: %d, want 401 and the form again", r.Status)
		}
		r = c.Form("/email/code", url.Values{"flowId": {flow[1]}, "code": {m.code}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/welcome/passkey" { // the nudge: no passkey yet
			t.Fatalf("code form: %d %s", r.Status, r.Body)
		}
		if method, _ := sessionMethod(t, c); method != "email_code" {
			t.Errorf("session method %q", method)
		}
		if r := c.Form("/signin/email", url.Values{"email": {"not an address"}}); r.Status != http.StatusBadRequest {
			t.Errorf("a bad address: %d, want 400", r.Status)
		}
	})
}

func TestEmailMalformedRequests(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		c := s.Client(t)
		jsonType := http.Header{"Content-Type": {"application/json"}}
		for _, tc := range []struct {
			name, path, body string
			header           http.Header
			status           int
		}{
			{"refuses a start that is not JSON", "/api/email/start", `email=a@example.com`, jsonType, 400},
			{"refuses a start with a number for the email", "/api/email/start", `{"email":5}`, jsonType, 400},
			{"refuses a start with the wrong content type", "/api/email/start", `{"email":"a@example.com"}`, http.Header{"Content-Type": {"text/plain"}}, 400},
			{"refuses an empty finish", "/api/email/finish", `{}`, jsonType, 400},
			{"refuses a finish with both token and code", "/api/email/finish", `{"token":"abc","flowId":"x","code":"123456"}`, jsonType, 400},
			{"refuses a finish with a code but no flow", "/api/email/finish", `{"code":"123456"}`, jsonType, 400},
			{"refuses a finish with an array token", "/api/email/finish", `{"token":["a"]}`, jsonType, 400},
			{"refuses trailing data", "/api/email/finish", `{"token":"a"} {}`, jsonType, 400},
			{"answers a NUL flow id as a wrong code", "/api/email/finish", `{"flowId":"\u0000","code":"123456"}`, jsonType, 401},
			{"answers a token with odd characters as a wrong code", "/api/email/finish", `{"token":"../\u0000é"}`, jsonType, 401},
			{"answers a huge token as a wrong code", "/api/email/finish", `{"token":"` + strings.Repeat("A", 5000) + `"}`, jsonType, 401},
			{"answers a non-numeric code as a wrong code", "/api/email/finish", `{"flowId":"00000000-0000-4000-8000-000000000000","code":"abcdef"}`, jsonType, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := c.Do(http.MethodPost, tc.path, []byte(tc.body), tc.header)
				if r.Status != tc.status {
					t.Fatalf("%d %s, want %d", r.Status, r.Body, tc.status)
				}
				want := "invalid_request"
				if tc.status == 401 {
					want = "invalid_code"
				}
				if r.ErrorCode() != want {
					t.Errorf("code %q, want %q", r.ErrorCode(), want)
				}
			})
		}
	})
}
