// Package mailtest runs a real SMTP server on 127.0.0.1 (over
// github.com/emersion/go-smtp) that keeps what it accepts, and decodes the
// MIME of the mails it got. The server can offer STARTTLS or speak TLS from
// the first byte, with a certificate from a CA made in the test (NewCA),
// and can require AUTH PLAIN or LOGIN. It is for tests only: it is an ordinary package
// so that every package's tests can use it, but nothing outside tests
// should import it.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is an SMTP server on 127.0.0.1 that keeps every mail it accepts.
// It is closed when the test ends.
type Server struct {
	addr string
	config

	mu    sync.Mutex
	got   []Message
	datas int
	auths int
}

// Message is one mail the server accepted: its envelope and raw content.
type Message struct {
	From string
	To   []string
	Raw  []byte
	// TLS reports whether the connection was encrypted when the mail came.
	TLS bool
	// User is who authenticated on the connection ("" without AUTH).
	User string
}

// Option configures Start.
type Option func(*config)

type config struct {
	addr     string
	reply    func(n int) error
	delay    time.Duration
	cert     *tls.Certificate
	implicit bool     // TLS from the first byte (smtps) rather than STARTTLS
	user     string   // AUTH required when set
	pass     string   //
	mechs    []string // offered AUTH mechanisms
}

// STARTTLS makes the server offer STARTTLS with cert (see CA.ServerCert);
// AUTH is then offered only after it.
func STARTTLS(cert tls.Certificate) Option {
	return func(c *config) { c.cert, c.implicit = &cert, false }
}

// ImplicitTLS makes the server speak TLS from the first byte with cert, as
// port 465 does (smtps://).
func ImplicitTLS(cert tls.Certificate) Option {
	return func(c *config) { c.cert, c.implicit = &cert, true }
}

// Auth makes the server refuse MAIL until the client authenticated as user
// with pass, offering mechs (default PLAIN and LOGIN). A server without TLS
// then offers AUTH in clear text, as a careless relay would.
func Auth(user, pass string, mechs ...string) Option {
	if len(mechs) == 0 {
		mechs = []string{sasl.Plain, sasl.Login}
	}
	return func(c *config) { c.user, c.pass, c.mechs = user, pass, mechs }
}

// Reply makes the server answer the n-th DATA (1-based, counting refused
// ones) with what reply returns: nil accepts the mail, an error (see
// Refusal) refuses it with that error's SMTP reply.
func Reply(reply func(n int) error) Option { return func(c *config) { c.reply = reply } }

// Delay makes the server take d to accept each message (after reading it).
// Messages on different connections are delayed concurrently.
func Delay(d time.Duration) Option { return func(c *config) { c.delay = d } }

// At makes the server listen on addr (such as one from ClosedAddr) instead
// of 127.0.0.1:0.
func At(addr string) Option { return func(c *config) { c.addr = addr } }

// Refusal is an SMTP reply with code (4xx for a temporary failure, 5xx for
// a permanent one) and msg, for Reply.
func Refusal(code int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// Start starts a server on 127.0.0.1:0 (or the address given with At) and
// closes it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	c := config{addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(&c)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{addr: ln.Addr().String(), config: c}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	// Without TLS there is nothing to wait for: AUTH is offered in clear
	// text, so a test can show the client refuses to use it.
	srv.AllowInsecureAuth = c.cert == nil
	if c.cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*c.cert}, MinVersion: tls.VersionTLS12}
		if c.implicit {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the server's address for keyshift's SMTP settings, with the
// server's own credentials when it requires AUTH: "smtps://…" for implicit
// TLS, "smtp://…" for STARTTLS, and "smtp://127.0.0.1:PORT?tls=none" for a
// server without TLS (keyshift requires STARTTLS unless told otherwise).
func (s *Server) URL() string {
	if s.user == "" {
		return s.url(nil)
	}
	return s.URLAs(s.user, s.pass)
}

// URLAs is URL with other credentials, such as a wrong password.
func (s *Server) URLAs(user, pass string) string { return s.url(url.UserPassword(user, pass)) }

func (s *Server) url(user *url.Userinfo) string {
	u := url.URL{Scheme: "smtp", Host: s.addr, User: user}
	switch {
	case s.cert == nil:
		u.RawQuery = "tls=none"
	case s.implicit:
		u.Scheme = "smtps"
	}
	return u.String()
}

// Name is how keyshift names the server in the outbox and metrics:
// scheme://host:port, never the credentials.
func (s *Server) Name() string {
	if s.cert != nil && s.implicit {
		return "smtps://" + s.addr
	}
	return "smtp://" + s.addr
}

// AuthAttempts counts the AUTH commands the server received, right or
// wrong: a client that must not send credentials leaves it at zero.
func (s *Server) AuthAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Messages returns a copy of the mails accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// Count returns how many mails the server has accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// Wait polls until the server has accepted at least n mails and returns
// them; the test fails if that takes longer than timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: %d of %d mails within %v", s.Count(), n, timeout)
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClosedAddr returns a 127.0.0.1 host:port nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string // authenticated as
	from string
	to   []string
}

// AuthMechanisms implements smtp.AuthSession: none unless Auth was given.
func (x *session) AuthMechanisms() []string { return x.s.mechs }

// Auth implements smtp.AuthSession, counting every attempt.
func (x *session) Auth(mech string) (sasl.Server, error) {
	x.s.mu.Lock()
	x.s.auths++
	x.s.mu.Unlock()
	check := func(user, pass string) error {
		if user != x.s.user || pass != x.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		x.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login),
// which go-sasl has only as a client: ask for the user, then the password.
type loginServer struct {
	check     func(user, pass string) error
	user      string
	askedUser bool
	askedPass bool
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch {
	case !l.askedUser:
		l.askedUser = true
		if resp != nil { // an initial response carries the user name
			l.user, l.askedPass = string(resp), true
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case !l.askedPass:
		l.user, l.askedPass = string(resp), true
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.user != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.delay > 0 {
		time.Sleep(x.s.delay)
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.datas++
	if x.s.reply != nil {
		if err := x.s.reply(x.s.datas); err != nil {
			return err
		}
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.s.got = append(x.s.got, Message{From: x.from, To: append([]string(nil), x.to...), Raw: raw, TLS: isTLS, User: x.user})
	return nil
}

// Decoded is a mail with its MIME undone.
type Decoded struct {
	Header  mail.Header
	Subject string // decoded from RFC 2047
	Text    string // the text/plain part
	HTML    string // the text/html part
}

// Decode parses raw, walks its multipart tree and undoes quoted-printable
// and base64 transfer encodings. The test fails on a malformed mail.
func Decode(t testing.TB, raw []byte) Decoded {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mailtest: reading the mail: %v", err)
	}
	d := Decoded{Header: m.Header}
	if d.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("mailtest: subject: %v", err)
	}
	d.walk(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return d
}

func (d *Decoded) walk(t testing.TB, ctype, enc string, body io.Reader) {
	t.Helper()
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("mailtest: content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// NextPart undoes quoted-printable itself and drops that header.
			d.walk(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips the line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("mailtest: %s body: %v", mt, err)
	}
	switch mt {
	case "text/plain":
		d.Text = string(b)
	case "text/html":
		d.HTML = string(b)
	}
}
