// Package mailtest runs a real SMTP server on 127.0.0.1 (over
// github.com/emersion/go-smtp) that keeps what it accepts, and decodes the
// MIME of the mails it got. It is for tests only: it is an ordinary package
// so that every package's tests can use it, but nothing outside tests
// should import it.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Server is an SMTP server on 127.0.0.1 that keeps every mail it accepts.
// It is closed when the test ends.
type Server struct {
	addr  string
	reply func(n int) error
	delay time.Duration

	mu    sync.Mutex
	got   []Message
	datas int
}

// Message is one mail the server accepted: its envelope and raw content.
type Message struct {
	From string
	To   []string
	Raw  []byte
}

// Option configures Start.
type Option func(*config)

type config struct {
	addr  string
	reply func(n int) error
	delay time.Duration
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
	s := &Server{addr: ln.Addr().String(), reply: c.reply, delay: c.delay}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the server's address for keyshift's SMTP settings,
// "smtp://127.0.0.1:PORT".
func (s *Server) URL() string { return "smtp://" + s.addr }

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

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
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
	x.s.got = append(x.s.got, Message{From: x.from, To: append([]string(nil), x.to...), Raw: raw})
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
