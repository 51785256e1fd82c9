// Package change moves a member's account to a new email address, and
// back. Begin mails a confirmation link to the NEW address and, at once, a
// notice with a cancel link to the CURRENT one; Confirm (the link used,
// while the session that asked lives) changes the address and mails the OLD
// address a notice with a revert link valid for 7 days, during which the
// old address stays reserved to the account; Revert (that link used)
// restores the old address, undoes the credentials added or changed since
// the change began, ends every session of the account and voids every
// pending link (docs/security.md, T1, T2, T14). Tokens carry 256 random
// bits, are stored only as SHA-256, work once (one DELETE … RETURNING inside
// the transaction that acts) and expire. No HTTP in here: package web
// decodes, checks the session's freshness and answers.
package change

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/outbox"
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
	// TokenHash is the hash of the link's token (link.New).
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
	OldKey string
	// SessionID is the session that asked for the change (confirmation
	// links): the link works only while that session lives, so signing
	// out everywhere stops it.
	SessionID string
	// CancelHash is the hash of the cancel link's token, mailed to the
	// account's current address (confirmation links).
	CancelHash []byte
	// UndoSince is when whoever asked for the change could start acting:
	// the sign-in of the session that asked. A revert undoes the passkeys,
	// recovery codes and password added or changed at or after it.
	UndoSince time.Time
	// Password is the password the account had before UndoSince (revert
	// links; only its hash and format), which the revert puts back in
	// place of one set since; nil when there was none, or it was changed
	// after UndoSince already, so a password set since is removed.
	Password  *account.Credential
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is the storage email change needs. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateEmailChange inserts c.
	CreateEmailChange(ctx context.Context, c *Change) error
	// EmailChangeLinks finds and takes the links of kind by their token's
	// hash (link.Store).
	EmailChangeLinks(kind Kind) link.Store[Change]
	// FindEmailChangeByCancel returns the live confirmation link whose
	// cancel link's token hashes to cancelHash; ENotFound when there is
	// none.
	FindEmailChangeByCancel(ctx context.Context, cancelHash []byte, now time.Time) (*Change, error)
	// DeleteUserEmailChanges removes the user's pending links of the given
	// kinds (all kinds when none is given) and says how many.
	DeleteUserEmailChanges(ctx context.Context, userID string, kinds ...Kind) (int, error)
	// FindEmailReservations returns the addresses the user can still move
	// back to at now (its live revert links).
	FindEmailReservations(ctx context.Context, userID string, now time.Time) ([]account.Reservation, error)
}

// Accounts is the storage of the account a change moves, and of the other
// links a revert voids. Every method joins the transaction in ctx.
type Accounts interface {
	// DeleteUserEmailVerifications removes the user's sign-up
	// confirmation links and says how many.
	DeleteUserEmailVerifications(ctx context.Context, userID string) (int, error)
	// DeleteEmailFlows removes the email sign-ins in progress for any of
	// keys and says how many.
	DeleteEmailFlows(ctx context.Context, keys ...string) (int, error)
	// UpdateUserEmail sets the user's address (as verified or not);
	// EEmailTaken when another account has key or holds it reserved,
	// ENotFound when the user is gone. A refusal leaves the transaction
	// in ctx usable.
	UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error
	// FindPasswordCredential returns the user's password; ENotFound when
	// the account has none.
	FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
}

// SessionChecker tells whether the session that asked for a change still
// lives (session.Service.Alive).
type SessionChecker interface {
	Alive(ctx context.Context, userID, sessionID string) (bool, error)
}

// Members locks the account a link acts on and cleans it up (member.Service).
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

// Notifier mails what email changes do (package notice). Each method joins
// the transaction in ctx.
type Notifier interface {
	// EmailChangeRequested tells u's current address that a move to
	// newEmail was asked for, with the link that cancels it.
	EmailChangeRequested(ctx context.Context, u *account.User, newEmail, cancelLink string, valid time.Duration, c account.Client) error
	// EmailChanged tells the address u had that the account moved to
	// newEmail, with the revert link.
	EmailChanged(ctx context.Context, u *account.User, newEmail, revertLink string, valid time.Duration, c account.Client) error
	// EmailChangeReverted tells the address to which the account was moved
	// back (or was to be, when !restored) what the revert removed.
	EmailChangeReverted(ctx context.Context, to string, removed account.Removed, restored bool, c account.Client) error
}

// Event types written by this package.
const (
	EventRequested = "email_change_requested"
	EventChanged   = "email_changed"
	EventReverted  = "email_change_reverted"
	EventCancelled = "email_change_cancelled"
)

// PolicyBegin limits change requests per account: each one mails an
// address the requester chose, so every request counts.
var PolicyBegin = throttle.Policy{Name: "email-change", Free: 5, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour}

// Defaults of Config.
const (
	DefaultTTL = time.Hour
	// RevertTTL is how long the old address can undo a change (fixed:
	// docs/api.md, "The revert link"), and so how long it stays reserved
	// to the account.
	RevertTTL = 7 * 24 * time.Hour
)

// Config is the operator's policy.
type Config struct {
	// Origin starts the links: Origin + "/email/change?token=…",
	// "/email/revert?token=…" and "/email/cancel?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// TTL is how long a confirmation link works (default 1 h).
	TTL time.Duration
	// ReauthWindow is how recent the session's sign-in or step-up must be
	// to ask for a change (account.SessionWithUser.RequireFresh; default
	// account.DefaultReauthWindow).
	ReauthWindow time.Duration
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions SessionChecker
	Members  Members
	Limiter  *throttle.Limiter
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
	Mailer   Mailer
	Notices  Notifier
}

// Service begins, confirms, cancels and reverts email changes.
type Service struct {
	store    Store
	accounts Accounts
	cfg      Config
	d        Deps
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, accounts Accounts, d Deps) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ReauthWindow <= 0 {
		cfg.ReauthWindow = account.DefaultReauthWindow
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, accounts: accounts, cfg: cfg, d: d}
}

// TTL is how long a confirmation link works.
func (s *Service) TTL() time.Duration { return s.cfg.TTL }

// Begin asks to move sw's account to newEmail: a confirmation link is
// stored and mailed to that address, and the current address is told at
// once, with a link that cancels the change — all in one transaction. It
// answers the same whether or not another account has (or holds reserved)
// the address — that is decided, without telling, when the link is used —
// so it reveals no accounts. The change remembers the session that asked:
// its link works only while that session lives (T14), and a revert undoes
// what was added since that session signed in (T2). An account whose
// address was never proven cannot move (EEmailUnverified): it may be a
// stranger's sign-up. The session must be fresh
// (account.SessionWithUser.RequireFresh; EReauthRequired before anything else).
func (s *Service) Begin(ctx context.Context, sw *account.SessionWithUser, newEmail string, c account.Client) error {
	if err := sw.RequireFresh(s.d.Now(), s.cfg.ReauthWindow, account.ActionChangeEmail); err != nil {
		return err
	}
	u := &sw.User
	if !u.EmailVerified {
		return &account.Error{Code: account.EEmailUnverified, Detail: "confirm the account's email address before changing it"}
	}
	email, key, err := account.NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	if key == u.EmailKey {
		return &account.Error{Code: account.EInvalidEmail, Reason: "unchanged", Field: "email", Detail: "that is the account's address already"}
	}
	token, hash := link.New(s.d.Random)
	cancel, cancelHash := link.New(s.d.Random)
	now := s.d.Now()
	since := sw.Session.AuthenticatedAt
	if since.IsZero() || since.After(now) {
		since = now
	}
	ch := &Change{TokenHash: hash, Kind: KindConfirm, UserID: u.ID, Email: email, EmailKey: key,
		OldKey: u.EmailKey, SessionID: sw.Session.ID, CancelHash: cancelHash, UndoSince: since,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL)}
	msg, err := outbox.Render("email_change", "email_change", email, s.cfg.Site, map[string]any{
		"Link": s.link("/email/change", token), "Site": s.cfg.Site, "Old": account.MaskEmail(u.Email),
		"Minutes": int(s.cfg.TTL / time.Minute),
	})
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		// Counted in the transaction that mails: of concurrent requests no
		// more than the policy allows get through, and a request that
		// fails to queue its mail costs nothing.
		if _, err := account.Reserve(ctx, s.d.Limiter, throttle.Check{Policy: PolicyBegin, Subject: u.ID}); err != nil {
			return err
		}
		if err := s.store.CreateEmailChange(ctx, ch); err != nil {
			return err
		}
		if err := s.d.Mailer.Enqueue(ctx, msg); err != nil {
			return err
		}
		if err := s.d.Notices.EmailChangeRequested(ctx, u, email, s.link("/email/cancel", cancel), s.cfg.TTL, c); err != nil {
			return err
		}
		// The new address is kept out of the audit log in clear: the
		// hash still shows two requests for one address.
		return s.event(ctx, &account.Event{Type: EventRequested, UserID: u.ID, SessionID: sw.Session.ID,
			Data: map[string]any{"to": account.HashSubject(key)}}, c)
	})
}

// Confirm uses a confirmation link: in one transaction, under the account's
// lock, the account moves to the new address (verified: the mail reached
// it), the member's other pending confirmations die, a revert link for the
// old address is stored — with the password the account had before the
// change began, to put back — and mailed to it with the notice, and an
// event is written. From then until the revert link expires the old
// address stays reserved to the account. An unknown, used or expired link
// — or one made before the account's address changed otherwise, or whose
// asking session has ended — is EInvalidCode; an address another account
// has or holds reserved is EEmailTaken. Either way nothing changes.
func (s *Service) Confirm(ctx context.Context, token string, c account.Client) (*account.User, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var u *account.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		ch, err := s.lockAndTake(ctx, KindConfirm, token, now)
		if err != nil {
			return err
		}
		if u, err = s.accounts.FindUser(ctx, ch.UserID); err != nil {
			return err
		}
		if u.EmailKey != ch.OldKey {
			return invalidCode()
		}
		// Only while the session that asked lives: signing out everywhere
		// (or that session's end) stops a change a thief asked for (T14).
		if alive, err := s.d.Sessions.Alive(ctx, u.ID, ch.SessionID); err != nil {
			return err
		} else if !alive {
			return invalidCode()
		}
		before, err := s.passwordBefore(ctx, u.ID, ch.UndoSince)
		if err != nil {
			return err
		}
		if err := s.accounts.UpdateUserEmail(ctx, u.ID, ch.Email, ch.EmailKey, true, now); err != nil {
			return taken(err, "in_use")
		}
		if _, err := s.store.DeleteUserEmailChanges(ctx, u.ID, KindConfirm); err != nil {
			return err
		}
		revert, revertHash := link.New(s.d.Random)
		rv := &Change{TokenHash: revertHash, Kind: KindRevert, UserID: u.ID, Email: u.Email, EmailKey: u.EmailKey,
			OldKey: ch.EmailKey, UndoSince: ch.UndoSince, Password: before, CreatedAt: now, ExpiresAt: now.Add(RevertTTL)}
		if err := s.store.CreateEmailChange(ctx, rv); err != nil {
			return err
		}
		if err := s.d.Notices.EmailChanged(ctx, u, ch.Email, s.link("/email/revert", revert), RevertTTL, c); err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: EventChanged, UserID: u.ID, SessionID: ch.SessionID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"from": account.HashSubject(u.EmailKey), "to": account.HashSubject(ch.EmailKey)}}, c); err != nil {
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

// passwordBefore is the account's password if it was last set before
// since — the revert puts it back —, or nil: there was none, or it was set or
// changed since already, by whoever asked for the change, and the one from
// before is not known, so the revert removes the password instead.
func (s *Service) passwordBefore(ctx context.Context, userID string, since time.Time) (*account.Credential, error) {
	cur, err := s.accounts.FindPasswordCredential(ctx, userID)
	if account.IsCode(err, account.ENotFound) || err == nil && !cur.UpdatedAt.Before(since) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &account.Credential{Type: account.CredentialPassword, UserID: userID, PasswordHash: cur.PasswordHash, PasswordFormat: cur.PasswordFormat}, nil
}

// Reverted is what a revert did: the account as restored, and what it
// removed.
type Reverted struct {
	User    *account.User
	Removed account.Removed
}

// Revert uses a revert link. In one transaction, under the account's lock:
// the passkeys and recovery codes added since the change began go, and a
// password set or changed since goes back to the one from before (or goes);
// every pending link of the account dies — other email changes and revert
// links, sign-up confirmation links, and email sign-ins in progress for any
// of its addresses —; every session ends and the device epoch moves on;
// the old address comes back (verified: the member read the mail there);
// the old address is told what was removed; an event is written. The member
// then signs in afresh, by email at the old address. An unknown, used or
// expired link is EInvalidCode and changes nothing. When another account
// has the old address all the same (it was reserved, so only a race or an
// operator could give it away), the clean-up still happens, the account
// keeps its address, and the answer is EEmailTaken (old_in_use).
func (s *Service) Revert(ctx context.Context, token string, c account.Client) (*Reverted, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var out Reverted
	restored := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		ch, err := s.lockAndTake(ctx, KindRevert, token, now)
		if err != nil {
			return err
		}
		u, err := s.accounts.FindUser(ctx, ch.UserID)
		if err != nil {
			return err
		}
		// Credentials first, sessions last: a sign-in racing the revert
		// either used a credential removed here, and so waited for this
		// transaction, or its session is among those ended below.
		if out.Removed, err = s.d.Members.ResetCredentials(ctx, u.ID, account.Reset{Since: ch.UndoSince, Restore: ch.Password}); err != nil {
			return err
		}
		keys, err := s.addresses(ctx, u, ch, now)
		if err != nil {
			return err
		}
		if _, err := s.store.DeleteUserEmailChanges(ctx, u.ID); err != nil {
			return err
		}
		if _, err := s.accounts.DeleteUserEmailVerifications(ctx, u.ID); err != nil {
			return err
		}
		if _, err := s.accounts.DeleteEmailFlows(ctx, keys...); err != nil {
			return err
		}
		if out.Removed.Sessions, err = s.d.Members.EndSessions(ctx, u.ID); err != nil {
			return err
		}
		// The address is restored whatever it became since: a second
		// change by the same intruder must not void the first revert link.
		switch err := s.accounts.UpdateUserEmail(ctx, u.ID, ch.Email, ch.EmailKey, true, now); {
		case err == nil:
			restored = true
		case !account.IsCode(err, account.EEmailTaken):
			return err
		}
		if err := s.d.Notices.EmailChangeReverted(ctx, ch.Email, out.Removed, restored, c); err != nil {
			return err
		}
		outcome := account.OutcomeSuccess
		data := map[string]any{"from": account.HashSubject(u.EmailKey), "to": account.HashSubject(ch.EmailKey), "sessionsEnded": out.Removed.Sessions,
			"passkeysRemoved": len(out.Removed.Passkeys), "recoveryCodesRemoved": out.Removed.RecoveryCodes, "password": out.Removed.Password}
		if !restored {
			outcome, data["reason"] = account.OutcomeFailure, "old_in_use"
		}
		if err := s.event(ctx, &account.Event{Type: EventReverted, UserID: u.ID, Outcome: outcome, Data: data}, c); err != nil {
			return err
		}
		out.User, err = s.accounts.FindUser(ctx, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !restored {
		return &out, taken(&account.Error{Code: account.EEmailTaken, Detail: "the old address was taken"}, "old_in_use")
	}
	return &out, nil
}

// addresses returns the keys whose email sign-ins in progress a revert
// voids: the account's current address, the one restored, and every other
// address the account can still move back to.
func (s *Service) addresses(ctx context.Context, u *account.User, ch *Change, now time.Time) ([]string, error) {
	rs, err := s.store.FindEmailReservations(ctx, u.ID, now)
	if err != nil {
		return nil, err
	}
	keys := []string{u.EmailKey, ch.EmailKey}
	for _, r := range rs {
		if !slices.Contains(keys, r.EmailKey) {
			keys = append(keys, r.EmailKey)
		}
	}
	return keys, nil
}

// Cancel uses the cancel link mailed to the current address when a change
// was asked for: in one transaction, under the account's lock, every
// pending change of the account dies, every session ends (the one that
// asked may be a thief's) and the device epoch moves on, and an event is
// written. It returns the account. An unknown, used or expired link — the
// change was confirmed, cancelled or ran out — is EInvalidCode.
func (s *Service) Cancel(ctx context.Context, token string, c account.Client) (*account.User, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var u *account.User
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		ch, err := s.store.FindEmailChangeByCancel(ctx, link.Hash(token), now)
		if account.IsCode(err, account.ENotFound) {
			return invalidCode()
		}
		if err != nil {
			return err
		}
		if err := s.d.Members.Lock(ctx, ch.UserID, ""); err != nil {
			return err
		}
		n, err := s.d.Members.VoidEmailChanges(ctx, ch.UserID)
		if err != nil {
			return err
		}
		if n == 0 {
			return invalidCode() // confirmed or cancelled while this waited
		}
		ended, err := s.d.Members.EndSessions(ctx, ch.UserID)
		if err != nil {
			return err
		}
		if u, err = s.accounts.FindUser(ctx, ch.UserID); err != nil {
			return err
		}
		return s.event(ctx, &account.Event{Type: EventCancelled, UserID: u.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"to": account.HashSubject(ch.EmailKey), "voided": n, "sessionsEnded": ended}}, c)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// lockAndTake consumes the live link of kind that token names, under its
// account's lock: the link is read, the account locked, then the link
// taken — every transaction that changes an account takes the account's
// lock before its rows, so a revert and a confirmation of one account run
// one after the other, never interleaved. EInvalidCode when there is no
// such link, or it was used while this waited.
func (s *Service) lockAndTake(ctx context.Context, kind Kind, token string, now time.Time) (*Change, error) {
	ch, err := link.Take(ctx, s.store.EmailChangeLinks(kind), token, now, func(ctx context.Context, ch *Change) error {
		return s.d.Members.Lock(ctx, ch.UserID, "")
	})
	if errors.Is(err, link.ErrUnknown) {
		return nil, invalidCode()
	}
	return ch, err
}

func (s *Service) link(path, token string) string {
	return strings.TrimRight(s.cfg.Origin, "/") + path + "?token=" + url.QueryEscape(token)
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	return s.d.Audit.Record(ctx, e, c)
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
