// Package confirm confirms a member's address after a password sign-up:
// the sign-up's transaction queues a mail that says plainly that an account
// was made with the address (when, from which browser) and holds two links
// with one token: ORIGIN/email/confirm?token=… ratifies the sign-up (marks
// the address verified, whatever browser opens it), and
// ORIGIN/email/disown?token=… ("This wasn't me") removes the account's
// credentials and sessions — whoever signed up with someone else's address
// loses it — and marks the address verified, since only the mailbox holder
// has the link (docs/security.md, T3). The token carries 256 random bits,
// is stored only as its SHA-256, works once (for either link) and expires.
// No HTTP in here: package web decodes and answers.
package confirm

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Verification is one confirmation mail waiting for its link to be used.
type Verification struct {
	// TokenHash is the hash of the link's token (link.New).
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
	// EmailVerificationLinks finds and takes confirmation links by their
	// token's hash (link.Store).
	EmailVerificationLinks() link.Store[Verification]
	// DeleteUserEmailVerifications removes every confirmation link of the
	// user and says how many there were.
	DeleteUserEmailVerifications(ctx context.Context, userID string) (int, error)
	// VerifyUserEmail marks the user's address as verified.
	VerifyUserEmail(ctx context.Context, userID string, at time.Time) error
	FindUser(ctx context.Context, id string) (*account.User, error)
}

// Members locks the account a link acts on and cleans it up when its
// mailbox's owner disowns it (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	ResetCredentials(ctx context.Context, userID string, r account.Reset) (account.Removed, error)
	VoidEmailChanges(ctx context.Context, userID string) (int, error)
	EndSessions(ctx context.Context, userID string) (int, error)
}

// Mailer queues a mail in the transaction of ctx (outbox.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg outbox.Message) error
}

// Event types written by this package.
const (
	// EventVerified records an address confirmed by its link.
	EventVerified = "email_verified"
	// EventResent records a confirmation mail the member asked for again.
	EventResent = "email_verification_resent"
	// EventDisowned records a "This wasn't me" from a confirmation mail:
	// the account's credentials and sessions were removed (Data says
	// what) and its address verified.
	EventDisowned = "email_disowned"
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

// Deps are the parts a Service works with.
type Deps struct {
	Members Members
	Limiter *throttle.Limiter
	Audit   account.Audit
	Random  account.Random
	Now     func() time.Time
	Mailer  Mailer
}

// Service sends confirmation mails and redeems their links.
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
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, cfg: cfg, d: d}
}

// Send implements passwordauth.EmailVerifier: it stores a fresh link for u's
// address and queues its mail, both in the transaction of ctx. The mail
// says when the account was made and from which browser (c, named by
// account.BrowserName, never the raw User-Agent). Sending again later (a
// resend) makes another link; each works once.
func (s *Service) Send(ctx context.Context, u *account.User, c account.Client) error {
	return s.send(ctx, u, map[string]any{"SignupBrowser": browserOf(c), "ResentBrowser": ""})
}

// send stores a link for u's address and queues its mail with data.
func (s *Service) send(ctx context.Context, u *account.User, data map[string]any) error {
	token, hash := link.New(s.d.Random)
	now := s.d.Now()
	v := &Verification{TokenHash: hash, UserID: u.ID, EmailKey: u.EmailKey, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL)}
	origin := strings.TrimRight(s.cfg.Origin, "/")
	data["Link"] = origin + "/email/confirm?token=" + url.QueryEscape(token)
	data["DisownLink"] = origin + "/email/disown?token=" + url.QueryEscape(token)
	data["Site"] = s.cfg.Site
	data["Days"] = int(s.cfg.TTL / (24 * time.Hour))
	data["Created"] = u.CreatedAt.UTC().Format(timeFormat)
	data["When"] = now.UTC().Format(timeFormat)
	msg, err := outbox.Render("verify_email", "verify_email", u.Email, s.cfg.Site, data)
	if err != nil {
		return err
	}
	if err := s.store.CreateEmailVerification(ctx, v); err != nil {
		return err
	}
	return s.d.Mailer.Enqueue(ctx, msg)
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
		if _, err := account.Reserve(ctx, s.d.Limiter, throttle.Check{Policy: PolicyResend, Subject: u.ID}); err != nil {
			return err
		}
		// The browser that made the account is not kept; the mail says
		// when it was made, and which browser asked for this mail.
		if err := s.send(ctx, u, map[string]any{"SignupBrowser": "", "ResentBrowser": browserOf(c)}); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: EventResent, UserID: u.ID, Outcome: account.OutcomeSuccess}, c)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Confirm redeems a link's token: the address it was sent to is verified
// — the sign-up is ratified, from whatever browser, with its password —,
// the account's other confirmation links die (nothing is left to confirm),
// and the member is returned. Any failure — unknown, used or expired token,
// or an address changed since — is EInvalidCode, and nothing changes.
func (s *Service) Confirm(ctx context.Context, token string, c account.Client) (*account.User, error) {
	var u *account.User
	err := s.redeem(ctx, token, func(ctx context.Context, v *Verification, now time.Time) error {
		var err error
		if u, err = s.store.FindUser(ctx, v.UserID); err != nil {
			return err
		}
		if u.EmailKey != v.EmailKey {
			return invalidCode()
		}
		if err := s.store.VerifyUserEmail(ctx, u.ID, now); err != nil {
			return err
		}
		if _, err := s.store.DeleteUserEmailVerifications(ctx, u.ID); err != nil {
			return err
		}
		u.EmailVerified = true
		return s.d.Audit.Record(ctx, &account.Event{Type: EventVerified, UserID: u.ID, Outcome: account.OutcomeSuccess}, c)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Disowned is what "This wasn't me" did: the account as it is now (no
// password, no passkeys, its address verified) and what was removed.
type Disowned struct {
	User    *account.User
	Removed account.Removed
}

// Disown redeems a link's token as "This wasn't me": whoever made the
// account with this address did not own it. In one transaction, under the
// account's lock, the account loses its password, passkeys and recovery
// codes, every session ends and its device epoch moves on, its other
// confirmation links and pending email changes die, and its address is
// marked verified: only the mailbox's holder has the link, and may now
// sign in with the address by email and start afresh. Failures are as for
// Confirm: EInvalidCode, nothing changes.
func (s *Service) Disown(ctx context.Context, token string, c account.Client) (*Disowned, error) {
	var out Disowned
	err := s.redeem(ctx, token, func(ctx context.Context, v *Verification, now time.Time) error {
		u, err := s.store.FindUser(ctx, v.UserID)
		if err != nil {
			return err
		}
		if u.EmailKey != v.EmailKey {
			return invalidCode()
		}
		if out.Removed, err = s.d.Members.ResetCredentials(ctx, u.ID, account.Reset{}); err != nil {
			return err
		}
		if _, err := s.store.DeleteUserEmailVerifications(ctx, u.ID); err != nil {
			return err
		}
		if _, err := s.d.Members.VoidEmailChanges(ctx, u.ID); err != nil {
			return err
		}
		if out.Removed.Sessions, err = s.d.Members.EndSessions(ctx, u.ID); err != nil {
			return err
		}
		if err := s.store.VerifyUserEmail(ctx, u.ID, now); err != nil {
			return err
		}
		if out.User, err = s.store.FindUser(ctx, u.ID); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: EventDisowned, UserID: u.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{
				"cleared": out.Removed.Cleared(), "passkeys": len(out.Removed.Passkeys), "recoveryCodes": out.Removed.RecoveryCodes,
				"sessions": out.Removed.Sessions,
			}}, c)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// redeem runs act with the live verification token names, taken (deleted)
// in act's transaction under its account's lock (link.Take); an unknown,
// used or expired token is EInvalidCode.
func (s *Service) redeem(ctx context.Context, token string, act func(ctx context.Context, v *Verification, now time.Time) error) error {
	if !account.PlausibleToken(token) {
		return invalidCode() // before a transaction is opened
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		v, err := link.Take(ctx, s.store.EmailVerificationLinks(), token, now, func(ctx context.Context, v *Verification) error {
			return s.d.Members.Lock(ctx, v.UserID, "")
		})
		if errors.Is(err, link.ErrUnknown) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		return act(ctx, v, now)
	})
}

// timeFormat is how the mail writes times, as notices do.
const timeFormat = "Monday, 2 January 2006, 15:04 MST"

// browserOf names c's browser as notices do, never by the raw User-Agent.
func browserOf(c account.Client) string {
	if b := account.BrowserName(c.UserAgent); b != "" {
		return b
	}
	return "an unrecognised browser"
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired confirmation link"}
}
