package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers one mail. It returns the name of the provider that
// accepted it.
type Sender interface {
	Send(ctx context.Context, m Mail) (provider string, err error)
}

// PermanentError is a refusal no retry will change: every provider answered
// with a 5xx reply.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP sends through an ordered list of servers: the first that accepts a
// mail wins; a server that refuses the connection, times out or answers 4xx
// or 5xx hands the mail to the next.
type SMTP struct {
	from      string
	providers []provider
}

type provider struct {
	name string // host:port, for logs and metrics (never the password)
	opts []gomail.Option
	host string
}

// NewSMTP returns a Sender for urls (smtp://[user:pass@]host:port uses
// STARTTLS when the server offers it; smtps:// is TLS from the first byte),
// sending as from. timeout bounds each server's connection.
func NewSMTP(urls []string, from string, timeout time.Duration) (*SMTP, error) {
	if len(urls) == 0 {
		return nil, errors.New("mail: no SMTP server")
	}
	s := &SMTP{from: from}
	for _, raw := range urls {
		p, err := parseProvider(raw, timeout)
		if err != nil {
			return nil, err
		}
		s.providers = append(s.providers, p)
	}
	return s, nil
}

func parseProvider(raw string, timeout time.Duration) (provider, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return provider{}, errors.New("mail: an SMTP server is not an smtp://host:port or smtps://host:port URL")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return provider{}, fmt.Errorf("mail: SMTP server %s has no port", u.Host)
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	if u.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return provider{name: u.Scheme + "://" + u.Host, opts: opts, host: u.Hostname()}, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Mail) (string, error) {
	msg, err := s.compose(m)
	if err != nil {
		return "", &PermanentError{err}
	}
	var errs []error
	permanent := true
	for _, p := range s.providers {
		err := p.send(ctx, msg)
		if err == nil {
			return p.name, nil
		}
		if code := replyCode(err); code < 500 || code > 599 {
			permanent = false
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
		if ctx.Err() != nil {
			permanent = false
			break
		}
	}
	err = errors.Join(errs...)
	if permanent {
		return "", &PermanentError{err}
	}
	return "", err
}

func (p provider) send(ctx context.Context, msg *gomail.Msg) error {
	c, err := gomail.NewClient(p.host, p.opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// compose builds the MIME message: text, and HTML as an alternative. Its
// Message-ID is stable across retries, so a mail sent twice after a crash
// can be recognised as one.
func (s *SMTP) compose(m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("sender %q: %w", s.from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	domain := "keyshift.invalid"
	if at := strings.LastIndexByte(s.from, '@'); at >= 0 {
		domain = strings.Trim(s.from[at+1:], "> ")
	}
	msg.SetMessageIDWithValue(fmt.Sprintf("keyshift-outbox-%d-%d@%s", m.ID, m.CreatedAt.UnixMilli(), domain))
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// replyCode digs the SMTP reply code out of err, or 0 when the server never
// answered (refused, timed out, TLS failed).
func replyCode(err error) int {
	if se, ok := errors.AsType[*gomail.SendError](err); ok && se.ErrorCode() != 0 {
		return se.ErrorCode()
	}
	if te, ok := errors.AsType[*textproto.Error](err); ok {
		return te.Code
	}
	return 0
}

// DevSender is the dev mailer: it accepts every mail, logs it, and leaves it
// in the outbox for the /dev/mail page.
type DevSender struct{ Log *slog.Logger }

// Send implements Sender.
func (d DevSender) Send(_ context.Context, m Mail) (string, error) {
	if d.Log != nil {
		d.Log.Info("dev mailer: mail kept, not sent (see /dev/mail)", "id", m.ID, "to", m.To, "subject", m.Subject, "kind", m.Kind, "text", m.Text)
	}
	return "dev", nil
}
