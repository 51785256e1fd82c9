package outbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"
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

// TLSMode is how a connection to an SMTP server is protected.
type TLSMode string

// The TLS modes of an SMTP URL.
const (
	// TLSStartTLS is smtp://: plain TCP upgraded with STARTTLS before
	// anything else is said; a server that does not offer it is refused.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit is smtps://: TLS from the first byte (port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone is smtp://…?tls=none: no encryption, for a relay on the same
	// host or a private network. No credentials may be sent over it.
	TLSNone TLSMode = "none"
)

// Server is one SMTP server of KEYSHIFT_SMTP_URL.
type Server struct {
	Host string
	Port int
	TLS  TLSMode
	// User and Password are the URL's user-info, percent-decoded; both
	// empty means no AUTH.
	User, Password string
}

// Name is how the server appears in logs, the outbox and metrics:
// scheme://host:port, never the credentials.
func (s Server) Name() string {
	scheme := "smtp"
	if s.TLS == TLSImplicit {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// ParseServer reads one SMTP URL: smtp://[user:pass@]host:port (STARTTLS
// required), smtps://[user:pass@]host:port (implicit TLS), or
// smtp://host:port?tls=none (no TLS, no credentials). Its errors never
// hold the password.
func ParseServer(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Opaque != "" {
		return Server{}, errors.New("is not an smtp:// or smtps:// URL")
	}
	if u.Hostname() == "" {
		return Server{}, errors.New("has no host")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return Server{}, errors.New("has no port (or one outside 1-65535)")
	}
	s := Server{Host: u.Hostname(), Port: port, TLS: TLSStartTLS}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return Server{}, fmt.Errorf("has an unknown parameter %q (only tls=none is known)", k)
		}
	}
	switch tlsParam := q.Get("tls"); {
	case u.Scheme == "smtps" && q.Has("tls"):
		return Server{}, errors.New("is smtps://, which is always TLS: drop the tls= parameter")
	case u.Scheme == "smtps":
		s.TLS = TLSImplicit
	case tlsParam == "none":
		s.TLS = TLSNone
	case q.Has("tls") && tlsParam != string(TLSStartTLS):
		return Server{}, fmt.Errorf("has tls=%q; use tls=none to send without TLS, or nothing for STARTTLS", tlsParam)
	}
	if s.TLS == TLSNone && u.User != nil {
		return Server{}, errors.New("has tls=none and credentials, which would cross the network in clear text; use STARTTLS (smtp:// without tls=none) or smtps://")
	}
	return s, nil
}

// LoadCAFile reads PEM certificates from path and returns the system's
// trusted roots plus them: what verifies SMTP servers whose certificate a
// private CA signed, while public providers in the same list still verify.
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// SMTPOption configures NewSMTP.
type SMTPOption func(*smtpOptions)

type smtpOptions struct{ roots *x509.CertPool }

// WithRootCAs makes servers' certificates verify against roots instead of
// the system's (see LoadCAFile).
func WithRootCAs(roots *x509.CertPool) SMTPOption {
	return func(o *smtpOptions) { o.roots = roots }
}

// NewSMTP returns a Sender for urls (see ParseServer), sending as from.
// timeout bounds each server's connection. Certificates are always
// verified, against the system's roots or WithRootCAs.
func NewSMTP(urls []string, from string, timeout time.Duration, opts ...SMTPOption) (*SMTP, error) {
	if len(urls) == 0 {
		return nil, errors.New("mail: no SMTP server")
	}
	var o smtpOptions
	for _, opt := range opts {
		opt(&o)
	}
	s := &SMTP{from: from}
	for i, raw := range urls {
		srv, err := ParseServer(raw)
		if err != nil {
			return nil, fmt.Errorf("mail: SMTP server #%d %w", i+1, err)
		}
		s.providers = append(s.providers, newProvider(srv, timeout, o))
	}
	return s, nil
}

// newProvider turns srv into go-mail options. TLS is never opportunistic:
// a server that should speak TLS and does not is a failed provider, so a
// man in the middle who strips STARTTLS gets neither the mail nor the
// password.
func newProvider(srv Server, timeout time.Duration, o smtpOptions) provider {
	tc := &tls.Config{ServerName: srv.Host, RootCAs: o.roots, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{gomail.WithPort(srv.Port), gomail.WithTimeout(timeout)}
	switch srv.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tc))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tc))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if srv.User != "" || srv.Password != "" {
		// The strongest mechanism both sides know; PLAIN and LOGIN only
		// over TLS (go-mail refuses them otherwise).
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(srv.User), gomail.WithPassword(srv.Password))
	}
	return provider{name: srv.Name(), opts: opts, host: srv.Host}
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
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return &setupError{err}
	}
	// Once DATA is accepted the mail is the server's: a failed QUIT
	// changes nothing, so its error is dropped.
	defer c.CloseWithSMTPClient(sc)
	return c.SendWithSMTPClient(sc, msg)
}

// setupError is a failure before any mail was offered: connecting, the
// greeting, TLS or AUTH. Whatever its reply code, it says nothing about the
// mail, so it is never permanent: a wrong password or an untrusted
// certificate is the operator's to fix, and the mail waits for it.
type setupError struct{ err error }

func (e *setupError) Error() string { return "connecting: " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// compose builds the MIME message: text, and HTML as an alternative. Its
// Message-ID is stable across retries, so a mail sent twice after a crash
// can be recognised as one.
func (s *SMTP) compose(m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("sender %q: %w", s.from, err)
	}
	if err := msg.To(asciiDomain(m.To)); err != nil {
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

// asciiDomain returns the address with its domain in A-labels
// ("ada@xn--bcher-kva.de" for "ada@bücher.de"): keyshift stores domains in
// their Unicode form, and an SMTP server without SMTPUTF8 accepts only the
// ASCII one in the envelope and headers. An address it cannot convert is
// left as it is, for the server to refuse.
func asciiDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	d, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return addr
	}
	return addr[:at+1] + d
}

// replyCode digs the SMTP reply code out of err, or 0 when the server never
// answered (refused, timed out) or failed before the mail was offered
// (greeting, TLS, AUTH: see setupError).
func replyCode(err error) int {
	if _, ok := errors.AsType[*setupError](err); ok {
		return 0
	}
	if se, ok := errors.AsType[*gomail.SendError](err); ok && se.ErrorCode() != 0 {
		return se.ErrorCode()
	}
	if te, ok := errors.AsType[*textproto.Error](err); ok {
		return te.Code
	}
	return 0
}

// DevSender is the dev mailer (dev mode without SMTP): it accepts every
// mail and leaves it in the outbox, sealed, for the /dev/mail page. It logs
// id, kind and the recipient's domain only: a mail's subject and bodies
// hold live sign-in links and codes, which must never reach a log.
type DevSender struct{ Log *slog.Logger }

// Send implements Sender.
func (d DevSender) Send(_ context.Context, m Mail) (string, error) {
	if d.Log != nil {
		d.Log.Info("dev mailer: mail kept, not sent (read it at /dev/mail)", "id", m.ID, "kind", m.Kind, "to_domain", domainOf(m.To))
	}
	return "dev", nil
}

// LogSender is `mail: log`, and what runs when no SMTP server is set outside
// dev mode: it delivers nothing. Each mail is logged by id, kind and the
// recipient's domain only, and refused for good, so it stays in the outbox
// as failed (keyshift admin mail, keyshift_mail_stuck) instead of being
// reported sent.
type LogSender struct{ Log *slog.Logger }

// ErrNotDelivered is LogSender's refusal.
var ErrNotDelivered = errors.New("not delivered: no SMTP server is configured (mail: log)")

// Send implements Sender.
func (l LogSender) Send(_ context.Context, m Mail) (string, error) {
	if l.Log != nil {
		l.Log.Warn("mail not delivered: no SMTP server is configured", "id", m.ID, "kind", m.Kind, "to_domain", domainOf(m.To))
	}
	return "", &PermanentError{ErrNotDelivered}
}

// domainOf returns the domain of an address, for logs that must not name
// the person.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(addr[i+1:], ">")
	}
	return ""
}
