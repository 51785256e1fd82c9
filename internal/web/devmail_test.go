package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/web"
)

// devMode turns on dev mode, whose dev mailer keeps mail for /dev/mail.
func devMode(c *config.Config) { c.Dev = true }

func TestDevMailShowsQueuedMail(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		in := servertest.Start(t, database, devMode) // dev mode, no SMTP: the dev mailer
		msg := outbox.Message{To: "ada@example.com", Subject: "Your sign-in link", Kind: "test",
			Text: "Open http://localhost/email/verify?token=abc&x=1 or type 123456."}
		if err := in.DB.InTx(context.Background(), func(ctx context.Context) error { return in.Outbox.Enqueue(ctx, msg) }); err != nil {
			t.Fatal(err)
		}
		c := in.Client(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := c.Do(http.MethodGet, "/dev/mail", nil, nil)
			body := string(r.Body)
			if r.Status == http.StatusOK && strings.Contains(body, "sent (dev)") {
				if !strings.Contains(body, "Your sign-in link") || !strings.Contains(body, "token=abc&amp;x=1 or type 123456") {
					t.Errorf("/dev/mail lacks the mail:\n%s", body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/dev/mail never showed the mail as delivered to dev: %d\n%s", r.Status, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		r := c.Do(http.MethodGet, "/metrics", nil, nil)
		for _, want := range []string{"keyshift_mail_stuck 0", `keyshift_mail_sent_total{provider="dev"} 1`} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

type fakeMail []outbox.Mail

func (f fakeMail) Recent(context.Context, int) ([]outbox.Mail, error) { return f, nil }

// TestDevMailOnlyWithTheDevMailer: /dev/mail shows every sign-in link, so
// it is served only where the dev mailer runs — dev mode set explicitly,
// without SMTP. A loopback origin alone no longer opens it (docs/security.md, T6).
func TestDevMailOnlyWithTheDevMailer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		origin string
		dev    bool
		smtp   []string
		mail   string
		want   int
	}{
		{"is served in dev mode without SMTP", "http://localhost:8080", true, nil, "", http.StatusOK},
		{"is served in dev mode on a public host", "https://auth.example.com", true, nil, "", http.StatusOK},
		{"is hidden for a localhost origin outside dev mode", "http://localhost:8080", false, nil, "", http.StatusNotFound},
		{"is hidden for a loopback address outside dev mode", "http://127.0.0.1:8080", false, nil, "", http.StatusNotFound},
		{"is hidden in dev mode when SMTP delivers the mail", "http://localhost:8080", true, []string{"smtp://mail.example.com:587"}, "", http.StatusNotFound},
		{"is hidden in dev mode with mail: log", "http://localhost:8080", true, nil, "log", http.StatusNotFound},
		{"is hidden on a public host outside dev mode", "https://auth.example.com", false, nil, "", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Origin, cfg.Dev, cfg.SMTPURLs, cfg.Mail = tt.origin, tt.dev, tt.smtp, tt.mail
			s, err := web.New(web.Options{Config: cfg, Mail: fakeMail{{ID: 1, Message: outbox.Message{To: "a@example.com", Subject: "hello", Text: "secret link"}}}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, tt.origin+"/dev/mail", nil) // Host: the origin's host
			s.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("GET /dev/mail = %d, want %d", rec.Code, tt.want)
			}
			if shown := strings.Contains(rec.Body.String(), "secret link"); shown != (tt.want == http.StatusOK) {
				t.Errorf("mail body shown = %v", shown)
			}
		})
	}
}
