// Package stepup confirms a member who has neither a passkey nor a
// password by a 6-digit code mailed to their verified address (POST
// /api/reauth/begin and /finish with method "email_code"): the step-up of
// account.SessionWithUser.RequireFresh for a member whose only way in is
// their mailbox. A code belongs to the session that asked for it, is kept
// only as an HMAC under the server's code key, expires, allows a bounded
// number of tries counted in the write that refuses the next, and is taken
// (deleted and returned in one statement) by the one right answer, so of
// concurrent answers exactly one steps the session up. Asking for codes is
// throttled per member and per IP before anything is written or mailed.
// No HTTP in here.
package stepup

import (
	"context"
	"crypto/hmac"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Code is one mailed step-up code in waiting. Only its hash is kept.
type Code struct {
	ID        string
	SessionID string
	UserID    string
	// CodeHash is account.HashCode of the code under the server's code
	// key, salted with ID.
	CodeHash  []byte
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage of step-up codes. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// ReplaceReauthCode deletes the session's code, if any, and inserts c.
	ReplaceReauthCode(ctx context.Context, c *Code) error
	// TryReauthCode counts one try on the session's code that expires
	// after now and had fewer than maxAttempts tries, and returns it, in
	// one statement; ENotFound when there is none.
	TryReauthCode(ctx context.Context, sessionID string, now time.Time, maxAttempts int) (*Code, error)
	// TakeReauthCode deletes and returns the live code id in one
	// statement; ENotFound when there is none (taken meanwhile).
	TakeReauthCode(ctx context.Context, id string, now time.Time) (*Code, error)
}

// Sessions steps a session up (session.Service).
type Sessions interface {
	StepUp(ctx context.Context, sessionID string, m account.AuthMethod, passkeyID string) (string, time.Time, error)
}

// Mailer queues a mail in the transaction of ctx (outbox.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg outbox.Message) error
}

// Throttle policies, reserved before any work.
var (
	// PolicyMailMember limits the codes mailed to one member: 3, then one
	// after 1, 2, 4 and then every 10 minutes; forgotten after a quiet day.
	PolicyMailMember = throttle.Policy{Name: "stepup-mail", Free: 3, Base: time.Minute, Max: 10 * time.Minute, Forget: 24 * time.Hour}
	// PolicyMailIP limits the codes asked for from one address.
	PolicyMailIP = throttle.Policy{Name: "stepup-mail-ip", Free: 20, Base: 10 * time.Second, Max: time.Hour, Forget: time.Hour}
)

// Defaults of Config.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultMaxAttempts = 5
)

// Event types written by this package (the step-up itself is
// account.EventReauth with method email_code).
const (
	// EventCodeSent records a step-up code mailed to the member.
	EventCodeSent = "reauth_code_sent"
)

// Config is the operator's policy.
type Config struct {
	// Site names the sender in the mail.
	Site string
	// TTL is how long a code lives (default 10 min).
	TTL time.Duration
	// MaxAttempts is how many tries a code allows (default 5).
	MaxAttempts int
	// CodeKey is the server secret codes are hashed under.
	CodeKey []byte
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions Sessions
	Limiter  *throttle.Limiter
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
	Mailer   Mailer
}

// Service mails step-up codes and checks them.
type Service struct {
	store Store
	cfg   Config
	d     Deps
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, d Deps) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, cfg: cfg, d: d}
}

// Offered reports whether u steps up with a mailed code: a member with
// neither passkey nor password, whose address is verified.
func Offered(u *account.User) bool {
	return u.PasskeyCount == 0 && !u.HasPassword && u.EmailVerified
}

// eligible refuses a member who steps up another way: with a passkey
// (EReauthRequired, reason "passkey": a mailbox must not reopen what the
// passkey guards), with the password (EInvalidRequest, reason "password"),
// or whose address was never proven (reason "unverified").
func eligible(u *account.User) error {
	switch {
	case u.PasskeyCount > 0:
		return &account.Error{Code: account.EReauthRequired, Reason: "passkey", Detail: "confirm with one of your passkeys"}
	case u.HasPassword:
		return &account.Error{Code: account.EInvalidRequest, Reason: "password", Field: "password", Detail: "confirm with your password"}
	case !u.EmailVerified:
		return &account.Error{Code: account.EInvalidRequest, Reason: "unverified", Detail: "your address is not verified"}
	}
	return nil
}

// Begin mails a fresh code to sw's member for this session, replacing any
// code the session was sent before, and records it. The member's and the
// IP's counts are reserved first (refused: EThrottled, nothing written).
func (s *Service) Begin(ctx context.Context, sw *account.SessionWithUser, c account.Client) error {
	u := &sw.User
	if err := eligible(u); err != nil {
		return err
	}
	now := s.d.Now()
	code := s.d.Random.NewCode()
	rc := &Code{ID: s.d.Random.NewID(), SessionID: sw.Session.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL)}
	rc.CodeHash = account.HashCode(s.cfg.CodeKey, rc.ID, code)
	msg, err := outbox.Render("stepup_code", "stepup_code", u.Email, s.cfg.Site,
		map[string]any{"Code": code, "Site": s.cfg.Site, "Minutes": int(s.cfg.TTL / time.Minute)})
	if err != nil {
		return err
	}
	checks := append(throttle.PerIP(PolicyMailIP, c.IP), throttle.Check{Policy: PolicyMailMember, Subject: u.ID})
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := account.Reserve(ctx, s.d.Limiter, checks...); err != nil {
			return err
		}
		if err := s.store.ReplaceReauthCode(ctx, rc); err != nil {
			return err
		}
		if err := s.d.Mailer.Enqueue(ctx, msg); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: EventCodeSent, UserID: u.ID, SessionID: sw.Session.ID,
			Method: string(account.MethodEmailCode), Outcome: account.OutcomeSuccess}, c)
	})
}

// Finish steps sw's session up with the code mailed for it and returns the
// session's new token and the step-up's time. Before a code is compared the
// client's IP (account.PolicyRedeemIP; refused: EThrottled) and the code's
// tries (MaxAttempts, counted in one write) allow it; a success gives the
// IP's try back. A missing, expired, used-up or wrong code is EInvalidCode,
// which never says which, and a failed reauth event.
func (s *Service) Finish(ctx context.Context, sw *account.SessionWithUser, code string, c account.Client) (string, time.Time, error) {
	u := &sw.User
	if err := eligible(u); err != nil {
		return "", time.Time{}, err
	}
	ip := throttle.PerIP(account.PolicyRedeemIP, c.IP)
	if _, err := account.Reserve(ctx, s.d.Limiter, ip...); err != nil {
		return "", time.Time{}, err
	}
	code = account.CleanCode(code)
	if !account.PlausibleCode(code) {
		return "", time.Time{}, s.failed(ctx, sw, "malformed", c)
	}
	rc, err := s.store.TryReauthCode(ctx, sw.Session.ID, s.d.Now(), s.cfg.MaxAttempts)
	if account.IsCode(err, account.ENotFound) {
		return "", time.Time{}, s.failed(ctx, sw, "unknown_code", c)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if !hmac.Equal(account.HashCode(s.cfg.CodeKey, rc.ID, code), rc.CodeHash) {
		return "", time.Time{}, s.failed(ctx, sw, "wrong_code", c)
	}
	var token string
	var at time.Time
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.TakeReauthCode(ctx, rc.ID, s.d.Now()); err != nil {
			return err
		}
		var err error
		if token, at, err = s.d.Sessions.StepUp(ctx, sw.Session.ID, account.MethodEmailCode, ""); err != nil {
			return err
		}
		if err := s.d.Limiter.Refund(ctx, ip...); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: account.EventReauth, UserID: u.ID, SessionID: sw.Session.ID,
			Method: string(account.MethodEmailCode), Outcome: account.OutcomeSuccess}, c)
	})
	if account.IsCode(err, account.ENotFound) {
		// Taken by a racing answer a moment ago: that one stepped up.
		return "", time.Time{}, s.failed(ctx, sw, "unknown_code", c)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return token, at, nil
}

// failed records a refused step-up by code and returns EInvalidCode.
func (s *Service) failed(ctx context.Context, sw *account.SessionWithUser, reason string, c account.Client) error {
	if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventReauth, UserID: sw.User.ID, SessionID: sw.Session.ID,
		Method: string(account.MethodEmailCode), Outcome: account.OutcomeFailure, Data: map[string]any{"reason": reason}}, c); err != nil {
		return err
	}
	return &account.Error{Code: account.EInvalidCode, Reason: "stepup", Field: "code", Detail: "unknown, used, expired or wrong code"}
}
