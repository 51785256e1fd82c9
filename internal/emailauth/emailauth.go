// Package emailauth signs members in by email: one mail holds a link
// (ORIGIN/email/verify?token=…) and a 6-digit code for reading the mail on
// another device. Both are single-use and die together, expire, and are
// stored only as hashes; a flow allows a bounded number of code tries.
// Starting flows is throttled per address and per IP. No HTTP in here:
// package web decodes and answers.
package emailauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Flow is one email sign-in in progress. Only hashes of its secrets are kept.
type Flow struct {
	ID       string
	Email    string // where the mail went, as the member typed it (normalised)
	EmailKey string // the account key the flow signs in to (or creates)
	// TokenHash is account.HashToken of the link's token (account.NewToken).
	TokenHash []byte
	// CodeHash is HMAC-SHA256 of the code under the server's code key,
	// salted with the flow id.
	CodeHash  []byte
	Attempts  int // code tries so far
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage email sign-in needs. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEmailFlow inserts f.
	CreateEmailFlow(ctx context.Context, f *Flow) error
	// TakeEmailFlowByToken deletes and returns the live flow (expiring
	// after now, with fewer than maxAttempts code tries) whose token hashes
	// to tokenHash, in one statement; ENotFound when there is none.
	TakeEmailFlowByToken(ctx context.Context, tokenHash []byte, now time.Time, maxAttempts int) (*Flow, error)
	// TryEmailCode counts one code try on the live flow id and returns it,
	// in one statement; ENotFound when the flow does not exist, has
	// expired, or already had maxAttempts tries.
	TryEmailCode(ctx context.Context, id string, now time.Time, maxAttempts int) (*Flow, error)
	// TakeEmailFlow deletes and returns the live flow id in one statement;
	// ENotFound when there is none.
	TakeEmailFlow(ctx context.Context, id string, now time.Time) (*Flow, error)
	// VerifyUserEmail marks the user's address as verified.
	VerifyUserEmail(ctx context.Context, userID string, at time.Time) error
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
	CreateUser(ctx context.Context, u *account.User) error
	AppendEvent(ctx context.Context, e *account.Event) error
}

// Mailer queues a mail in the transaction of ctx (mail.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg mail.Message) error
}

// Throttle policies for starting flows; every start counts, as sending mail
// costs the member's inbox and our reputation.
var (
	// PolicyStartAddress limits mails to one address.
	PolicyStartAddress = throttle.Policy{Name: "email-addr", Free: 5, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
	// PolicyStartIP limits flows started from one address.
	PolicyStartIP = throttle.Policy{Name: "email-ip", Free: 30, Base: 5 * time.Second, Max: time.Hour, Forget: time.Hour}
)

// Event types written by this package.
const (
	// EventStarted records a sign-in mail queued, or (data "sent": false)
	// a start for an unknown address while sign-up is closed, which stores
	// no flow and sends nothing.
	EventStarted = "email_signin_started"
)

// Defaults of Config.
const (
	DefaultTTL         = 15 * time.Minute
	DefaultMaxAttempts = 5
)

// Config is the operator's policy.
type Config struct {
	// Origin starts the link: Origin + "/email/verify?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// TTL is how long a flow lives (default 15 min).
	TTL time.Duration
	// MaxAttempts is how many code tries a flow allows (default 5).
	MaxAttempts int
	// SignupOpen lets a flow for an unknown address create the account;
	// when false, starting one for an unknown address stores nothing but
	// its audit event and sends nothing, and the answer is the same.
	SignupOpen bool
	// CodeKey is the server secret codes are hashed under.
	CodeKey []byte
}

// Service starts and finishes email sign-ins.
type Service struct {
	store    Store
	accounts *account.Service
	mailer   Mailer
	cfg      Config
	// Rand is the randomness of codes (nil: crypto/rand); the link's token
	// comes from accounts.NewToken like every other one-time token.
	Rand io.Reader
}

// New builds a Service. accounts supplies the clock, ids, the throttle
// limiter and sessions.
func New(cfg Config, store Store, accounts *account.Service, mailer Mailer) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	return &Service{store: store, accounts: accounts, mailer: mailer, cfg: cfg}
}

// Start begins a sign-in for the address and queues its mail in the same
// transaction as the flow, so the request never waits for SMTP. The answer
// is the flow id whether or not an account exists, after the same work.
func (s *Service) Start(ctx context.Context, emailIn string, c account.Client) (string, error) {
	email, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		return "", err
	}
	checks := []throttle.Check{
		{Policy: PolicyStartAddress, Subject: hashSubject(key)},
		{Policy: PolicyStartIP, Subject: c.IP},
	}
	if err := s.wait(ctx, checks); err != nil {
		return "", err
	}
	u, err := s.store.FindUserByEmailKey(ctx, key)
	if err != nil && !account.IsCode(err, account.ENotFound) {
		return "", err
	}
	known := err == nil
	token := s.accounts.NewToken()
	code := s.newCode()
	now := s.accounts.Now()
	f := &Flow{
		ID: s.accounts.NewID(), Email: email, EmailKey: key, TokenHash: account.HashToken(token),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL),
	}
	f.CodeHash = s.hashCode(f.ID, code)
	msg, err := s.render(email, token, code, !known)
	if err != nil {
		return "", err
	}
	send := known || s.cfg.SignupOpen
	ev := &account.Event{Type: EventStarted, Method: "email", Data: map[string]any{"flow": f.ID, "sent": send}}
	if known {
		ev.UserID = u.ID
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.accounts.Limiter.Fail(ctx, checks...); err != nil {
			return err
		}
		if send {
			if err := s.store.CreateEmailFlow(ctx, f); err != nil {
				return err
			}
			if err := s.mailer.Enqueue(ctx, msg); err != nil {
				return err
			}
		}
		return s.event(ctx, ev, c)
	})
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// render builds the sign-in mail.
func (s *Service) render(to, token, code string, newAccount bool) (mail.Message, error) {
	data := map[string]any{
		"Link":    strings.TrimRight(s.cfg.Origin, "/") + "/email/verify?token=" + url.QueryEscape(token),
		"Code":    code,
		"Site":    s.cfg.Site,
		"Minutes": int(s.cfg.TTL / time.Minute),
		"New":     newAccount,
	}
	return mail.Render("signin", "signin_link", to, s.cfg.Site, data)
}

// FinishLink signs in with the token of a mailed link. Any failure —
// unknown, used or expired token — is EInvalidCode.
func (s *Service) FinishLink(ctx context.Context, token string, c account.Client) (*account.SigninResult, error) {
	if !account.PlausibleToken(token) {
		return nil, s.failed(ctx, account.MethodEmailLink, c)
	}
	return s.finish(ctx, account.MethodEmailLink, c, func(ctx context.Context, now time.Time) (*Flow, error) {
		return s.store.TakeEmailFlowByToken(ctx, account.HashToken(token), now, s.cfg.MaxAttempts)
	})
}

// FinishCode signs in with a flow's 6-digit code. Each call counts a try
// before comparing, in one write, so no more than MaxAttempts codes are
// ever compared for a flow, however many requests race. Any failure is
// EInvalidCode.
func (s *Service) FinishCode(ctx context.Context, flowID, code string, c account.Client) (*account.SigninResult, error) {
	code = strings.NewReplacer(" ", "", "-", "").Replace(code)
	if !plausibleID(flowID) || !plausibleCode(code) {
		return nil, s.failed(ctx, account.MethodEmailCode, c)
	}
	f, err := s.store.TryEmailCode(ctx, flowID, s.accounts.Now(), s.cfg.MaxAttempts)
	if account.IsCode(err, account.ENotFound) {
		return nil, s.failed(ctx, account.MethodEmailCode, c)
	}
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(s.hashCode(f.ID, code), f.CodeHash) {
		if f.Attempts >= s.cfg.MaxAttempts {
			// The last try failed: the flow, link included, is dead.
			if _, err := s.store.TakeEmailFlow(ctx, f.ID, s.accounts.Now()); err != nil && !account.IsCode(err, account.ENotFound) {
				return nil, err
			}
		}
		return nil, s.failed(ctx, account.MethodEmailCode, c)
	}
	return s.finish(ctx, account.MethodEmailCode, c, func(ctx context.Context, now time.Time) (*Flow, error) {
		return s.store.TakeEmailFlow(ctx, f.ID, now)
	})
}

// finish takes the flow with take and signs its member in (creating the
// account when sign-up is open), all in one transaction: the flow's
// deletion, the user's verified address, the events and the session commit
// together, and of concurrent redemptions exactly one takes the flow.
func (s *Service) finish(ctx context.Context, m account.AuthMethod, c account.Client, take func(context.Context, time.Time) (*Flow, error)) (*account.SigninResult, error) {
	var res *account.SigninResult
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		f, err := take(ctx, s.accounts.Now())
		if account.IsCode(err, account.ENotFound) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		u, created, err := s.member(ctx, f, m, c)
		if err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(m), Outcome: account.OutcomeSuccess}, c); err != nil {
			return err
		}
		start := s.accounts.StartSession
		if created {
			start = s.accounts.StartFirstSession // no other device to warn
		}
		res, err = start(ctx, u, m, c)
		return err
	})
	if account.IsCode(err, account.EInvalidCode) {
		return nil, s.failed(ctx, m, c)
	}
	if err != nil {
		return nil, err
	}
	// Counts are loaded fresh: the sign-in answer reports them.
	if full, err := s.store.FindUser(ctx, res.User.ID); err == nil {
		res.User = *full
	}
	return res, nil
}

// member returns the account f signs in to, with its address verified: the
// mail reached it. An unknown address gets a new account when sign-up is
// open; created says so.
func (s *Service) member(ctx context.Context, f *Flow, m account.AuthMethod, c account.Client) (u *account.User, created bool, err error) {
	now := s.accounts.Now()
	u, err = s.store.FindUserByEmailKey(ctx, f.EmailKey)
	if account.IsCode(err, account.ENotFound) {
		if !s.cfg.SignupOpen {
			return nil, false, invalidCode()
		}
		u = &account.User{
			ID: s.accounts.NewID(), Email: f.Email, EmailKey: f.EmailKey, EmailVerified: true, Origin: account.OriginEmail,
			WebAuthnID: s.randomBytes(32), CreatedAt: now, UpdatedAt: now,
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return nil, false, err
		}
		return u, true, s.event(ctx, &account.Event{Type: account.EventSignup, UserID: u.ID, Method: string(m), Outcome: account.OutcomeSuccess}, c)
	}
	if err != nil {
		return nil, false, err
	}
	if !u.EmailVerified {
		if err := s.store.VerifyUserEmail(ctx, u.ID, now); err != nil {
			return nil, false, err
		}
		u.EmailVerified = true
	}
	return u, false, nil
}

// failed records a failed redemption and returns EInvalidCode, which never
// says what was wrong.
func (s *Service) failed(ctx context.Context, m account.AuthMethod, c account.Client) error {
	if err := s.event(ctx, &account.Event{Type: account.EventSignin, Method: string(m), Outcome: account.OutcomeFailure}, c); err != nil {
		return err
	}
	return invalidCode()
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired link or code"}
}

// wait returns EThrottled when a check must wait.
func (s *Service) wait(ctx context.Context, checks []throttle.Check) error {
	d, err := s.accounts.Limiter.Wait(ctx, checks...)
	if err != nil {
		return err
	}
	if d > 0 {
		return &account.Error{Code: account.EThrottled, RetryAfter: throttle.RetryAfterSeconds(d), Detail: fmt.Sprintf("throttled for %s", d.Round(time.Second))}
	}
	return nil
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	e.At = s.accounts.Now()
	e.IP = c.IP
	e.UserAgent = truncate(c.UserAgent, 512)
	return s.store.AppendEvent(ctx, e)
}

// newCode returns six uniformly random digits: 32-bit draws above the
// largest multiple of 10⁶ are rejected, so no digit string is likelier.
func (s *Service) newCode() string {
	const n = 1_000_000
	const limit = (1 << 32) / n * n
	for {
		v := binary.BigEndian.Uint32(s.randomBytes(4))
		if v < limit {
			return fmt.Sprintf("%06d", v%n)
		}
	}
}

// hashCode is HMAC-SHA256 under the server's code key of the flow id and
// the code: a stolen table cannot be brute-forced over the 10⁶ codes
// without the key, and one flow's hash says nothing of another's.
func (s *Service) hashCode(flowID, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte(flowID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// hashSubject keeps addresses out of the throttle table.
func hashSubject(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

func (s *Service) randomBytes(n int) []byte {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		// A broken source must not yield predictable tokens.
		panic(fmt.Sprintf("emailauth: random source failed: %v", err))
	}
	return b
}

// plausibleCode reports whether c is six ASCII digits.
func plausibleCode(c string) bool {
	if len(c) != 6 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// plausibleID reports whether id, from outside, could be an id NewID made:
// short, valid UTF-8 text without NUL bytes (PostgreSQL refuses those).
func plausibleID(id string) bool {
	return id != "" && len(id) <= 64 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
