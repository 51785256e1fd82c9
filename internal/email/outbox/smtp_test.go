package outbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
)

// letter is a mail for the Sender tests, which need no outbox.
func letter(t *testing.T) outbox.Mail {
	return outbox.Mail{ID: 7, CreatedAt: t0, Message: sample(t, "ada@example.com")}
}

// send delivers one letter through urls, trusting ca (nil: the system's
// roots only).
func send(t *testing.T, ca *mailtest.CA, urls ...string) (string, error) {
	t.Helper()
	var opts []outbox.SMTPOption
	if ca != nil {
		roots, err := outbox.LoadCAFile(ca.WriteFile(t))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, outbox.WithRootCAs(roots))
	}
	s, err := outbox.NewSMTP(urls, "Keyshift <keyshift@example.com>", 5*time.Second, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, letter(t))
}

func TestSMTPDeliversOverTLSWithAuth(t *testing.T) {
	ca := mailtest.NewCA(t)
	// A password with every character a URL must escape, percent-encoded
	// by URLAs and decoded by keyshift.
	const user, pass = "mailer@example.com", "p@ss:w/rd%?#&= é"
	tests := []struct {
		name     string
		opts     []mailtest.Option
		wantUser string
	}{
		{"STARTTLS with AUTH PLAIN", []mailtest.Option{mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth(user, pass, "PLAIN")}, user},
		{"STARTTLS with AUTH LOGIN", []mailtest.Option{mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth(user, pass, "LOGIN")}, user},
		{"implicit TLS (smtps) with AUTH", []mailtest.Option{mailtest.ImplicitTLS(ca.ServerCert(t)), mailtest.Auth(user, pass)}, user},
		{"STARTTLS without AUTH", []mailtest.Option{mailtest.STARTTLS(ca.ServerCert(t))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts...)
			provider, err := send(t, ca, srv.URL())
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if provider != srv.Name() || strings.Contains(provider, "p%40ss") {
				t.Errorf("provider %q, want %q (no credentials)", provider, srv.Name())
			}
			got := srv.Wait(t, 1, 5*time.Second)[0]
			if !got.TLS {
				t.Error("the mail crossed in clear text")
			}
			if got.User != tt.wantUser {
				t.Errorf("authenticated as %q, want %q", got.User, tt.wantUser)
			}
			if d := mailtest.Decode(t, got.Raw); d.Subject != "Hello from Keyshift" {
				t.Errorf("subject %q", d.Subject)
			}
		})
	}
}

func TestSMTPWithoutTLSOnlyWhenAskedFor(t *testing.T) {
	srv := mailtest.Start(t)
	if !strings.HasSuffix(srv.URL(), "?tls=none") {
		t.Fatalf("a plain server's URL %q lacks tls=none", srv.URL())
	}
	if _, err := send(t, nil, srv.URL()); err != nil {
		t.Fatalf("tls=none: %v", err)
	}
	if got := srv.Wait(t, 1, 5*time.Second)[0]; got.TLS {
		t.Error("TLS on a server that offers none")
	}
	if _, err := send(t, nil, srv.Name()); err == nil {
		t.Error("smtp:// without tls=none delivered to a server that has no STARTTLS")
	}
	if n := srv.Count(); n != 1 {
		t.Errorf("%d mails, want only the tls=none one", n)
	}
}

// keyshift stores domains in their Unicode form (account.NormalizeEmail);
// the envelope and the To header carry the ASCII form, which every SMTP
// server accepts, SMTPUTF8 or not.
func TestSMTPSendsAUnicodeDomainInItsASCIIForm(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := outbox.NewSMTP([]string{srv.URL()}, "Keyshift <keyshift@example.com>", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := outbox.Mail{ID: 8, CreatedAt: t0, Message: sample(t, "ada@bücher.de")}
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if len(got.To) != 1 || got.To[0] != "ada@xn--bcher-kva.de" {
		t.Errorf("RCPT TO %q, want ada@xn--bcher-kva.de", got.To)
	}
	if d := mailtest.Decode(t, got.Raw); !strings.Contains(d.Header.Get("To"), "ada@xn--bcher-kva.de") {
		t.Errorf("To header %q, want the ASCII domain", d.Header.Get("To"))
	}
}

func TestSMTPWrongPasswordHandsTheMailToTheNextServer(t *testing.T) {
	ca := mailtest.NewCA(t)
	first := mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth("mailer", "right"))
	second := mailtest.Start(t, mailtest.ImplicitTLS(ca.ServerCert(t)), mailtest.Auth("backup", "also-right"))

	provider, err := send(t, ca, first.URLAs("mailer", "wrong"), second.URL())
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if provider != second.Name() {
		t.Errorf("provider %q, want the second server %q", provider, second.Name())
	}
	if first.AuthAttempts() == 0 || first.Count() != 0 {
		t.Errorf("first server: %d AUTH attempts, %d mails; want the refused AUTH and no mail", first.AuthAttempts(), first.Count())
	}
	if got := second.Wait(t, 1, 5*time.Second)[0]; got.User != "backup" || !got.TLS {
		t.Errorf("second server got the mail as %q over TLS=%v", got.User, got.TLS)
	}
}

func TestSMTPWrongPasswordAloneIsRetriedNotGivenUp(t *testing.T) {
	ca := mailtest.NewCA(t)
	srv := mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth("mailer", "right"))
	_, err := send(t, ca, srv.URLAs("mailer", "wrong"))
	if err == nil {
		t.Fatal("delivered with a wrong password")
	}
	if _, ok := errors.AsType[*outbox.PermanentError](err); ok {
		t.Errorf("a refused password gave up on the mail (%v): it must wait for the operator's fix", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// TestSMTPRefusesToSendWithoutTheTLSItWasPromised: no fallback to clear
// text, and the credentials never leave.
func TestSMTPRefusesToSendWithoutTheTLSItWasPromised(t *testing.T) {
	ca, stranger := mailtest.NewCA(t), mailtest.NewCA(t)
	tests := []struct {
		name    string
		srv     *mailtest.Server
		url     func(s *mailtest.Server) string
		trusted *mailtest.CA
	}{
		{
			name: "a server without STARTTLS (offering AUTH in clear text)",
			srv:  mailtest.Start(t, mailtest.Auth("mailer", "secret")),
			url:  func(s *mailtest.Server) string { return "smtp://mailer:secret@" + s.Addr() },
		},
		{
			name:    "a STARTTLS certificate from an unknown CA",
			srv:     mailtest.Start(t, mailtest.STARTTLS(stranger.ServerCert(t)), mailtest.Auth("mailer", "secret")),
			url:     (*mailtest.Server).URL,
			trusted: ca,
		},
		{
			name: "a STARTTLS certificate only a private CA signed, without smtp_ca_file",
			srv:  mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth("mailer", "secret")),
			url:  (*mailtest.Server).URL,
		},
		{
			name:    "an implicit-TLS certificate from an unknown CA",
			srv:     mailtest.Start(t, mailtest.ImplicitTLS(stranger.ServerCert(t)), mailtest.Auth("mailer", "secret")),
			url:     (*mailtest.Server).URL,
			trusted: ca,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := send(t, tt.trusted, tt.url(tt.srv))
			if err == nil {
				t.Fatal("delivered")
			}
			if n := tt.srv.AuthAttempts(); n != 0 {
				t.Errorf("the client tried AUTH %d times: the password left without TLS", n)
			}
			if n := tt.srv.Count(); n != 0 {
				t.Errorf("the server got %d mails", n)
			}
			if _, ok := errors.AsType[*outbox.PermanentError](err); ok {
				t.Errorf("gave up on the mail (%v): a TLS failure is retried", err)
			}
		})
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		raw     string
		want    outbox.Server
		wantErr string
	}{
		{raw: "smtp://mail.example.com:587", want: outbox.Server{Host: "mail.example.com", Port: 587, TLS: outbox.TLSStartTLS}},
		{raw: "smtp://u:p@mail.example.com:587?tls=starttls", want: outbox.Server{Host: "mail.example.com", Port: 587, TLS: outbox.TLSStartTLS, User: "u", Password: "p"}},
		{raw: "smtps://a%40b.example:p%40ss%3Aw@mail.example.com:465", want: outbox.Server{Host: "mail.example.com", Port: 465, TLS: outbox.TLSImplicit, User: "a@b.example", Password: "p@ss:w"}},
		{raw: "smtp://relay:25?tls=none", want: outbox.Server{Host: "relay", Port: 25, TLS: outbox.TLSNone}},
		{raw: "smtp://[::1]:25?tls=none", want: outbox.Server{Host: "::1", Port: 25, TLS: outbox.TLSNone}},
		{raw: "smtp://u:hunter2@relay:25?tls=none", wantErr: "clear text"},
		{raw: "smtp://relay:25?tls=off", wantErr: `tls="off"`},
		{raw: "smtps://relay:465?tls=none", wantErr: "always TLS"},
		{raw: "smtp://relay:25?timeout=5", wantErr: "unknown parameter"},
		{raw: "smtp://relay", wantErr: "no port"},
		{raw: "smtp://relay:0", wantErr: "no port"},
		{raw: "smtp://:25", wantErr: "no host"},
		{raw: "http://relay:25", wantErr: "not an smtp://"},
		{raw: "smtp:relay:25", wantErr: "not an smtp://"},
		{raw: "smtp://u:hunter2@%zz:25", wantErr: "not an smtp://"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := outbox.ParseServer(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
