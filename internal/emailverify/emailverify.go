// Package emailverify confirms a member's address after a password sign-up:
// the sign-up's transaction queues a mail with a link
// (ORIGIN/email/confirm?token=…), and using the link marks the address
// verified. The token carries 256 random bits, is stored only as its
// SHA-256, works once and expires. No HTTP in here: package web decodes and
// answers.
package emailverify

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Verification is one confirmation mail waiting for its link to be used.
type Verification struct {
	// TokenHash is account.HashToken of the link's token.
	TokenHash []byte
	UserID    string
	// EmailKey is the address the mail went to: the link confirms that
	// address only.
	EmailKey  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage verification needs. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEmailVerification inserts v.
	CreateEmailVerification(ctx context.Context, v *Verification) error
	// TakeEmailVerification deletes and returns the verification whose
	// token hashes to tokenHash and that expires after now, in one
	// statement; ENotFound when there is none.
	TakeEmailVerification(ctx context.Context, tokenHash []byte, now time.Time) (*Verification, error)
	// VerifyUserEmail marks the user's address as verified.
	VerifyUserEmail(ctx context.Context, userID string, at time.Time) error
	FindUser(ctx context.Context, id string) (*account.User, error)
	AppendEvent(ctx context.Context, e *account.Event) error
}

// Mailer queues a mail in the transaction of ctx (mail.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg mail.Message) error
}

// Event types written by this package.
const (
	// EventVerified records an address confirmed by its link.
	EventVerified = "email_verified"
	// EventResent records a confirmation mail the member asked for again.
	EventResent = "email_verification_resent"
)

// PolicyResend limits the confirmation mails a member may ask for again:
// every resend counts, as each costs an inbox a mail. After three, the
// next waits 5 minutes, doubling up to an hour; a day without one forgets.
var PolicyResend = throttle.Policy{Name: "verify-resend", Free: 3, Base: 5 * time.Minute, Max: time.Hour, Forget: 24 * time.Hour}

// DefaultTTL is how long a confirmation link works.
const DefaultTTL = 7 * 24 * time.Hour

// Config is the operator's policy.
type Config struct {
	// Origin starts the link: Origin + "/email/confirm?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// TTL is how long a link works (default 7 days).
	TTL time.Duration
}

// Service sends confirmation mails and redeems their links.
type Service struct {
	store    Store
	accounts *account.Service
	mailer   Mailer
	cfg      Config
}

// New builds a Service; accounts supplies the clock and tokens.
func New(cfg Config, store Store, accounts *account.Service, mailer Mailer) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	return &Service{store: store, accounts: accounts, mailer: mailer, cfg: cfg}
}

// Send implements account.EmailVerifier: it stores a fresh link for u's
// address and queues its mail, both in the transaction of ctx. Sending again
// later (a resend) makes another link; each works once.
func (s *Service) Send(ctx context.Context, u *account.User) error {
	token := s.accounts.NewToken()
	now := s.accounts.Now()
	v := &Verification{TokenHash: account.HashToken(token), UserID: u.ID, EmailKey: u.EmailKey, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL)}
	msg, err := mail.Render("verify_email", "verify_email", u.Email, s.cfg.Site, map[string]any{
		"Link": strings.TrimRight(s.cfg.Origin, "/") + "/email/confirm?token=" + url.QueryEscape(token),
		"Site": s.cfg.Site,
		"Days": int(s.cfg.TTL / (24 * time.Hour)),
	})
	if err != nil {
		return err
	}
	if err := s.store.CreateEmailVerification(ctx, v); err != nil {
		return err
	}
	return s.mailer.Enqueue(ctx, msg)
}

// Resend queues a fresh confirmation mail to the member's address when it
// is not verified yet: EEmailVerified when it is, EThrottled past
// PolicyResend (per account). Links sent before stay valid until they
// expire or one of them is used: a member who clicks the first mail after
// the second arrived should not meet a dead link, and every link confirms
// only the address it went to.
func (s *Service) Resend(ctx context.Context, userID string, c account.Client) (*account.User, error) {
	u, err := s.store.FindUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.EmailVerified {
		return nil, &account.Error{Code: account.EEmailVerified, Detail: "the address is verified already"}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Counted in the transaction that mails: of concurrent resends no
		// more than the policy allows get through.
		if _, err := s.accounts.Reserve(ctx, throttle.Check{Policy: PolicyResend, Subject: u.ID}); err != nil {
			return err
		}
		if err := s.Send(ctx, u); err != nil {
			return err
		}
		return s.store.AppendEvent(ctx, &account.Event{Type: EventResent, UserID: u.ID, Outcome: account.OutcomeSuccess,
			At: s.accounts.Now(), IP: c.IP, UserAgent: truncate(c.UserAgent, 512)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Confirm redeems a link's token: the address it was sent to is verified,
// and the member returned. Any failure — unknown, used or expired token, or
// an address changed since — is EInvalidCode, and nothing changes.
func (s *Service) Confirm(ctx context.Context, token string, c account.Client) (*account.User, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var u *account.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.accounts.Now()
		v, err := s.store.TakeEmailVerification(ctx, account.HashToken(token), now)
		if account.IsCode(err, account.ENotFound) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		if u, err = s.store.FindUser(ctx, v.UserID); err != nil {
			return err
		}
		if u.EmailKey != v.EmailKey {
			return invalidCode()
		}
		if err := s.store.VerifyUserEmail(ctx, u.ID, now); err != nil {
			return err
		}
		u.EmailVerified = true
		return s.store.AppendEvent(ctx, &account.Event{Type: EventVerified, UserID: u.ID, Outcome: account.OutcomeSuccess,
			At: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 512)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired confirmation link"}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
