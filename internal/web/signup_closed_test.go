package web_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// addMember inserts a member through the store, as `keyshift import` does:
// a verified address, no password, no passkey. It needs no open sign-up.
func addMember(t *testing.T, in *servertest.Instance, emailIn string) *account.User {
	t.Helper()
	email, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		t.Fatal(err)
	}
	now := in.Clock.Now()
	u := &account.User{
		ID: rand.Text(), Email: email, EmailKey: key, EmailVerified: true,
		WebAuthnID: []byte(rand.Text()), CreatedAt: now, UpdatedAt: now, Origin: account.OriginImport,
	}
	if err := in.DB.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func startClosedSite(t *testing.T, database string) *emailSite {
	t.Helper()
	box := mailbox{mailtest.Start(t)}
	in := servertest.Start(t, database, func(c *config.Config) {
		c.SMTPURLs = []string{box.URL()}
		c.Signup.Open = false
	})
	return &emailSite{Instance: in, box: box}
}

func TestClosedSignupRefusesNewAccounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startClosedSite(t, database)
		c := s.Client(t)

		r := c.JSON(http.MethodPost, "/api/signup", map[string]any{"email": "grace@example.com", "password": emailPassword})
		if r.Status != http.StatusForbidden || r.ErrorCode() != "signup_closed" {
			t.Errorf("POST /api/signup: %d %s, want 403 signup_closed", r.Status, r.Body)
		}
		// Any input gets the same answer: nothing is checked when nothing may be made.
		if r := c.JSON(http.MethodPost, "/api/signup", map[string]any{"email": "not an address", "password": ""}); r.ErrorCode() != "signup_closed" {
			t.Errorf("malformed sign-up: %d %s, want signup_closed", r.Status, r.Body)
		}
		r = c.Form("/signup", url.Values{"email": {"grace@example.com"}, "password": {emailPassword}})
		if body := string(r.Body); r.Status != http.StatusForbidden || !strings.Contains(body, "cannot be created") || strings.Contains(body, `action="/signup"`) {
			t.Errorf("POST /signup: %d, want 403 saying sign-up is closed, without the form:\n%s", r.Status, body)
		}
		if _, err := s.DB.FindUserByEmailKey(context.Background(), "grace@example.com"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("an account was created (%v)", err)
		}

		page := c.JSON(http.MethodGet, "/signup", nil)
		if body := string(page.Body); page.Status != http.StatusOK || !strings.Contains(body, "cannot be created") || strings.Contains(body, `action="/signup"`) {
			t.Errorf("GET /signup: %d, want a page saying sign-up is closed, without the form:\n%s", page.Status, body)
		}
		signin := c.JSON(http.MethodGet, "/signin", nil)
		if body := string(signin.Body); signin.Status != http.StatusOK || strings.Contains(body, `href="/signup"`) {
			t.Errorf("GET /signin still links to /signup:\n%s", body)
		}
	})
}

func TestOpenSignupLinksToTheSignupPage(t *testing.T) {
	in := servertest.Start(t, "sqlite:"+testdb.SQLitePath(t))
	c := in.Client(t)
	if body := string(c.JSON(http.MethodGet, "/signin", nil).Body); !strings.Contains(body, `href="/signup"`) {
		t.Errorf("GET /signin lacks the sign-up link:\n%s", body)
	}
	if body := string(c.JSON(http.MethodGet, "/signup", nil).Body); !strings.Contains(body, `action="/signup"`) {
		t.Errorf("GET /signup lacks the form:\n%s", body)
	}
}

func TestClosedSignupEmailSigninOnlyForMembers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startClosedSite(t, database)
		addMember(t, s.Instance, "ada@example.com")
		c := s.Client(t)

		unknown := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "grace@example.com"})
		known := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "ada@example.com"})
		if unknown.Status != http.StatusAccepted || known.Status != http.StatusAccepted {
			t.Fatalf("statuses %d and %d, want 202 for both", unknown.Status, known.Status)
		}
		var flow struct {
			FlowID string `json:"flowId"`
		}
		unknown.JSON(t, &flow)
		if flow.FlowID == "" {
			t.Fatalf("no flowId for the unknown address: %s", unknown.Body)
		}

		// The member's mail arrives and signs them in.
		m := s.box.nth(t, "ada@example.com", 1)
		if r, got := finishEmail(t, c, map[string]any{"token": m.token}); r.Status != http.StatusOK || got.User.Email != "ada@example.com" {
			t.Fatalf("member's sign-in: %d %s", r.Status, r.Body)
		}

		// The stranger's start wrote no mail, and its flow — stored so that
		// repeated starts answer as a member's do — matches no code or
		// token: its id leads nowhere.
		if n := queued(t, s.Instance, "signin_link", "grace@example.com"); n != 0 {
			t.Errorf("%d sign-in mails queued for an unknown address", n)
		}
		if n := s.box.count("grace@example.com"); n != 0 {
			t.Errorf("%d mails reached the unknown address", n)
		}
		r, _ := finishEmail(t, s.Client(t), map[string]any{"flowId": flow.FlowID, "code": "123456"})
		wantInvalidCode(t, "code for the unknown address", r)
		if _, err := s.DB.FindUserByEmailKey(context.Background(), "grace@example.com"); !account.IsCode(err, account.ENotFound) {
			t.Errorf("an account was created (%v)", err)
		}
	})
}
