// Package emailchange moves a member's account to a new email address, and
// back. Begin mails a confirmation link to the NEW address; Confirm (the
// link used) changes the address and mails the OLD address a notice with a
// revert link valid for 7 days; Revert (that link used) restores the old
// address, ends every session of the account and voids every pending link.
// Tokens carry 256 random bits, are stored only as SHA-256, work once (one
// DELETE … RETURNING inside the transaction that acts) and expire. No HTTP
// in here: package web decodes, checks the session's freshness and answers.
package emailchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Kind tells a confirmation link from a revert link.
type Kind string

// The two kinds of link.
const (
	KindConfirm Kind = "confirm" // mailed to the new address; moves the account there
	KindRevert  Kind = "revert"  // mailed to the old address after a change; moves it back
)

// Change is one link waiting to be used.
type Change struct {
	// TokenHash is account.HashToken of the link's token.
	TokenHash []byte
	Kind      Kind
	UserID    string
	// Email and EmailKey are the address the link moves the account to:
	// the new one (confirm) or the old one (revert).
	Email    string
	EmailKey string
	// OldKey is the account's address when the link was made. A
	// confirmation works only while the account still has it, so a link
	// from before another change is dead.
	OldKey    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage email change needs. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEmailChange inserts c.
	CreateEmailChange(ctx context.Context, c *Change) error
	// TakeEmailChange deletes and returns the link of kind whose token
	// hashes to tokenHash and that expires after now, in one statement;
	// ENotFound when there is none.
	TakeEmailChange(ctx context.Context, kind Kind, tokenHash []byte, now time.Time) (*Change, error)
	// DeleteUserEmailChanges removes the user's pending links of the given
	// kinds (all kinds when none is given) and says how many.
	DeleteUserEmailChanges(ctx context.Context, userID string, kinds ...Kind) (int, error)
	// UpdateUserEmail sets the user's address (as verified or not);
	// EEmailTaken when another account has key, ENotFound when the user is
	// gone.
	UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error
	// DeleteUserSessions removes every session of the user.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
	AppendEvent(ctx context.Context, e *account.Event) error
}

// Mailer queues a mail in the transaction of ctx (mail.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg mail.Message) error
}

// Notifier tells the old address that the account moved, with the revert
// link (package notice). It joins the transaction in ctx.
type Notifier interface {
	EmailChanged(ctx context.Context, oldEmail, newEmail, revertLink string, valid time.Duration, c account.Client) error
}

// Event types written by this package.
const (
	EventRequested = "email_change_requested"
	EventChanged   = "email_changed"
	EventReverted  = "email_change_reverted"
)

// PolicyBegin limits change requests per account: each one mails an
// address the requester chose, so every request counts.
var PolicyBegin = throttle.Policy{Name: "email-change", Free: 5, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour}

// Defaults of Config.
const (
	DefaultTTL = time.Hour
	// RevertTTL is how long the old address can undo a change (issue 4:
	// "can revert within 7 days").
	RevertTTL = 7 * 24 * time.Hour
)

// Config is the operator's policy.
type Config struct {
	// Origin starts the links: Origin + "/email/change?token=…" and
	// "/email/revert?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// TTL is how long a confirmation link works (default 1 h).
	TTL time.Duration
}

// Service begins, confirms and reverts email changes.
type Service struct {
	store    Store
	accounts *account.Service
	mailer   Mailer
	notices  Notifier
	cfg      Config
}

// New builds a Service; accounts supplies the clock, tokens and the
// throttle limiter.
func New(cfg Config, store Store, accounts *account.Service, mailer Mailer, notices Notifier) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	return &Service{store: store, accounts: accounts, mailer: mailer, notices: notices, cfg: cfg}
}

// TTL is how long a confirmation link works.
func (s *Service) TTL() time.Duration { return s.cfg.TTL }

// Begin asks to move u's account to newEmail: a confirmation link is
// stored and mailed to that address, in one transaction. It answers the
// same whether or not another account has the address — that is decided,
// without telling, when the link is used — so it reveals no accounts. The
// caller has checked that the session is fresh (web.requireStepUp).
func (s *Service) Begin(ctx context.Context, u *account.User, newEmail string, c account.Client) error {
	email, key, err := account.NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	if key == u.EmailKey {
		return &account.Error{Code: account.EInvalidEmail, Reason: "unchanged", Field: "email", Detail: "that is the account's address already"}
	}
	token := s.accounts.NewToken()
	now := s.accounts.Now()
	ch := &Change{TokenHash: account.HashToken(token), Kind: KindConfirm, UserID: u.ID, Email: email, EmailKey: key,
		OldKey: u.EmailKey, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL)}
	msg, err := mail.Render("email_change", "email_change", email, s.cfg.Site, map[string]any{
		"Link": s.link("/email/change", token), "Site": s.cfg.Site, "Old": mask(u.Email),
		"Minutes": int(s.cfg.TTL / time.Minute),
	})
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		// Counted in the transaction that mails: of concurrent requests no
		// more than the policy allows get through, and a request that
		// fails to queue its mail costs nothing.
		if _, err := s.accounts.Reserve(ctx, throttle.Check{Policy: PolicyBegin, Subject: u.ID}); err != nil {
			return err
		}
		if err := s.store.CreateEmailChange(ctx, ch); err != nil {
			return err
		}
		if err := s.mailer.Enqueue(ctx, msg); err != nil {
			return err
		}
		// The new address is kept out of the audit log in clear: the
		// hash still shows two requests for one address.
		return s.event(ctx, &account.Event{Type: EventRequested, UserID: u.ID, Data: map[string]any{"to": hashSubject(key)}}, c)
	})
}

// Confirm uses a confirmation link: in one transaction the account moves to
// the new address (verified: the mail reached it), the member's other
// pending confirmations die, a revert link for the old address is stored
// and mailed to it with the notice, and an event is written. An unknown,
// used or expired link — or one made before the account's address changed
// otherwise — is EInvalidCode; an address another account took meanwhile is
// EEmailTaken. Either way nothing changes.
func (s *Service) Confirm(ctx context.Context, token string, c account.Client) (*account.User, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var u *account.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.accounts.Now()
		ch, err := s.take(ctx, KindConfirm, token, now)
		if err != nil {
			return err
		}
		if u, err = s.store.FindUser(ctx, ch.UserID); err != nil {
			return err
		}
		if u.EmailKey != ch.OldKey {
			return invalidCode()
		}
		if err := s.store.UpdateUserEmail(ctx, u.ID, ch.Email, ch.EmailKey, true, now); err != nil {
			return taken(err, "in_use")
		}
		if _, err := s.store.DeleteUserEmailChanges(ctx, u.ID, KindConfirm); err != nil {
			return err
		}
		revert := s.accounts.NewToken()
		rv := &Change{TokenHash: account.HashToken(revert), Kind: KindRevert, UserID: u.ID, Email: u.Email, EmailKey: u.EmailKey,
			OldKey: ch.EmailKey, CreatedAt: now, ExpiresAt: now.Add(RevertTTL)}
		if err := s.store.CreateEmailChange(ctx, rv); err != nil {
			return err
		}
		if err := s.notices.EmailChanged(ctx, u.Email, ch.Email, s.link("/email/revert", revert), RevertTTL, c); err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: EventChanged, UserID: u.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"from": hashSubject(u.EmailKey), "to": hashSubject(ch.EmailKey)}}, c); err != nil {
			return err
		}
		u.Email, u.EmailKey, u.EmailVerified = ch.Email, ch.EmailKey, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Revert uses a revert link: in one transaction the account gets its old
// address back (verified: the member read the mail there), every session
// of the account ends — whoever changed the address may hold one —, every
// pending link of the account dies (the other side's revert link too), and
// an event is written. The member then signs in afresh, by email at the
// old address. An unknown, used or expired link is EInvalidCode; an old
// address another account took meanwhile is EEmailTaken; either way nothing
// changes. It returns the account as restored.
func (s *Service) Revert(ctx context.Context, token string, c account.Client) (*account.User, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var u *account.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.accounts.Now()
		ch, err := s.take(ctx, KindRevert, token, now)
		if err != nil {
			return err
		}
		if u, err = s.store.FindUser(ctx, ch.UserID); err != nil {
			return err
		}
		// The address is restored whatever it became since: a second
		// change by the same intruder must not void the first revert link.
		if err := s.store.UpdateUserEmail(ctx, u.ID, ch.Email, ch.EmailKey, true, now); err != nil {
			return taken(err, "old_in_use")
		}
		if _, err := s.store.DeleteUserEmailChanges(ctx, u.ID); err != nil {
			return err
		}
		n, err := s.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: EventReverted, UserID: u.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"from": hashSubject(u.EmailKey), "to": hashSubject(ch.EmailKey), "sessionsEnded": n}}, c); err != nil {
			return err
		}
		u.Email, u.EmailKey, u.EmailVerified = ch.Email, ch.EmailKey, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// take consumes the live link of kind that token names; EInvalidCode when
// there is none.
func (s *Service) take(ctx context.Context, kind Kind, token string, now time.Time) (*Change, error) {
	ch, err := s.store.TakeEmailChange(ctx, kind, account.HashToken(token), now)
	if account.IsCode(err, account.ENotFound) {
		return nil, invalidCode()
	}
	return ch, err
}

func (s *Service) link(path, token string) string {
	return strings.TrimRight(s.cfg.Origin, "/") + path + "?token=" + url.QueryEscape(token)
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	e.At = s.accounts.Now()
	e.IP = c.IP
	e.UserAgent = truncate(c.UserAgent, 512)
	return s.store.AppendEvent(ctx, e)
}

// taken refines EEmailTaken with reason, so the page can say which address
// is in use; other errors pass unchanged.
func taken(err error, reason string) error {
	if !account.IsCode(err, account.EEmailTaken) {
		return err
	}
	return &account.Error{Code: account.EEmailTaken, Reason: reason, Field: "email", Detail: "another account has that address now", Err: err}
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired email change link"}
}

// mask shortens an address to what a mail may show, "a…@example.com": the
// owner recognises it, a reader of someone else's mail learns little.
func mask(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "…"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "…@" + domain
}

// hashSubject keeps addresses out of the audit log and throttle table.
func hashSubject(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
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
