// Package support is support recovery: the way back in for a member who
// lost everything — every passkey, the password, the recovery codes, and
// the mailbox the account is registered to ("my email changed years ago and
// I can't get the link"). Support staff, having checked who is asking, run
// `keyshift admin recover --user EMAIL --new-email ADDR --evidence "…"`
// (Begin). Nothing changes at once: the recovery waits (72 hours by
// default) while the account's current address, every address it can
// still move back to and every session of it are told, each with a
// one-click "This wasn't me — cancel" that needs no sign-in. After the
// wait the new address gets a one-time link (MailDue, from the janitor);
// using it (Complete) removes every credential, ends every session, voids
// every pending link — an older email change's revert link too, so it
// cannot undo the recovery — moves the account to the new address and
// signs the member in to add a passkey (docs/security.md, "Support
// recovery"). It knows nothing of HTTP or SQL.
package support

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/link"
	"github.com/keyshift/keyshift/internal/email/outbox"
)

// State is where a recovery stands.
type State string

// The states of a recovery. A pending one waits, or its link was mailed;
// it ends completed (the link was used) or cancelled (by a notice's link,
// a session, the operator, or its link expiring).
const (
	StatePending   State = "pending"
	StateCompleted State = "completed"
	StateCancelled State = "cancelled"
)

// Who ended a recovery (Recovery.EndedBy), besides "cli:NAME" for an
// operator.
const (
	ByMember  = "member"  // the completion link was used
	ByLink    = "link"    // a notice's "This wasn't me — cancel" link
	BySession = "session" // a signed-in session's banner
	ByExpiry  = "expired" // the completion link was not used in time
)

// Recovery is one support recovery.
type Recovery struct {
	ID     string
	UserID string
	// Email and EmailKey are the address the account moves to.
	Email    string
	EmailKey string
	// Evidence is what support checked, in its own words; RequestedBy who
	// asked for the recovery (the operator's name, "cli:NAME").
	Evidence    string
	RequestedBy string
	State       State
	CreatedAt   time.Time
	// ReadyAt is the end of the wait: from then on the janitor mails the
	// completion link.
	ReadyAt time.Time
	// MailedAt is when the completion link was mailed, LinkExpiresAt when
	// it stops working; zero before.
	MailedAt      time.Time
	LinkExpiresAt time.Time
	// EndedAt and EndedBy say when and by whom (By…) it was completed or
	// cancelled; zero and "" while pending.
	EndedAt time.Time
	EndedBy string
	// CurrentEmail is the account's address as it is now (listings only).
	CurrentEmail string
}

// LinkKind tells a recovery's two links apart.
type LinkKind string

// The links of a recovery.
const (
	LinkCancel   LinkKind = "cancel"   // mailed with the notices; cancels the recovery
	LinkComplete LinkKind = "complete" // mailed to the new address after the wait
)

// Link is one of a recovery's single-use links (package link).
type Link struct {
	TokenHash  []byte
	Kind       LinkKind
	RecoveryID string
	UserID     string
	ExpiresAt  time.Time
}

// Filter chooses the recoveries List returns, newest first.
type Filter struct {
	// UserID, when set, keeps one account's.
	UserID string
	// Pending keeps the pending ones only.
	Pending bool
	Limit   int
}

// Store is the storage of support recoveries and of the account they act
// on. Every method joins the transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateSupportRecovery inserts r.
	CreateSupportRecovery(ctx context.Context, r *Recovery) error
	// FindSupportRecovery returns the recovery with id; ENotFound when
	// there is none.
	FindSupportRecovery(ctx context.Context, id string) (*Recovery, error)
	// SupportRecoveries lists the recoveries f chooses, newest first, with
	// each account's current address.
	SupportRecoveries(ctx context.Context, f Filter) ([]Recovery, error)
	// AnySupportRecoveryPending reports whether any recovery is pending.
	AnySupportRecoveryPending(ctx context.Context) (bool, error)
	// DueSupportRecoveries returns up to limit pending recoveries whose
	// wait ended at or before now and whose link was not mailed yet,
	// earliest first.
	DueSupportRecoveries(ctx context.Context, now time.Time, limit int) ([]Recovery, error)
	// ExpiredSupportRecoveries returns up to limit pending recoveries
	// whose completion link expired at or before now.
	ExpiredSupportRecoveries(ctx context.Context, now time.Time, limit int) ([]Recovery, error)
	// MarkSupportRecoveryMailed records that a pending recovery's link was
	// mailed at, working until expires; false when it was mailed already
	// or ended (another node got there first).
	MarkSupportRecoveryMailed(ctx context.Context, id string, at, expires time.Time) (bool, error)
	// EndSupportRecovery moves a pending recovery to state at, by by;
	// false when it was not pending any more.
	EndSupportRecovery(ctx context.Context, id string, state State, at time.Time, by string) (bool, error)
	// CreateSupportLink inserts l.
	CreateSupportLink(ctx context.Context, l *Link) error
	// SupportLinks finds and takes the links of kind (link.Store).
	SupportLinks(kind LinkKind) link.Store[Link]
	// DeleteSupportLinks removes a recovery's links and says how many.
	DeleteSupportLinks(ctx context.Context, recoveryID string) (int, error)
}

// Accounts is the storage of the account a recovery moves, and of the
// pending links it voids. Every method joins the transaction in ctx.
type Accounts interface {
	FindUser(ctx context.Context, id string) (*account.User, error)
	// FindUserByEmailKey returns the account whose address has key;
	// ENotFound when none.
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	// UpdateUserEmail sets the user's address; EEmailTaken when another
	// account has key or holds it reserved. A refusal leaves the
	// transaction usable.
	UpdateUserEmail(ctx context.Context, userID, email, key string, verified bool, at time.Time) error
	// FindEmailReservations returns the addresses the user can still move
	// back to at now (its email changes' live revert links).
	FindEmailReservations(ctx context.Context, userID string, now time.Time) ([]account.Reservation, error)
	// DeleteEmailChangeLinks removes every email change link of the user,
	// revert links too, and says how many.
	DeleteEmailChangeLinks(ctx context.Context, userID string) (int, error)
	// DeleteUserEmailVerifications removes the user's sign-up
	// confirmation links.
	DeleteUserEmailVerifications(ctx context.Context, userID string) (int, error)
	// DeleteEmailFlows removes the email sign-ins in progress for keys.
	DeleteEmailFlows(ctx context.Context, keys ...string) (int, error)
	// CountLiveSessions says how many sessions of the user live at now.
	CountLiveSessions(ctx context.Context, userID string, now time.Time) (int, error)
}

// Members locks the account a recovery acts on and cleans it up
// (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	ResetCredentials(ctx context.Context, userID string, r account.Reset) (account.Removed, error)
	EndSessions(ctx context.Context, userID string) (int, error)
}

// SessionStarter signs the member in once the recovery completes
// (session.Service).
type SessionStarter interface {
	StartFirst(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
}

// Mailer queues a mail in the transaction of ctx (outbox.Outbox).
type Mailer interface {
	Enqueue(ctx context.Context, msg outbox.Message) error
}

// Notifier mails what support recovery does to the account's known
// addresses (package notice). Each method joins the transaction in ctx
// and says to how many addresses it wrote.
type Notifier interface {
	// SupportRecoveryRequested tells u's address, and every address it
	// can move back to, that support will move the account to newEmail
	// (masked) at readyAt unless cancelLink is used.
	SupportRecoveryRequested(ctx context.Context, u *account.User, newEmail, cancelLink string, readyAt time.Time) (int, error)
	// SupportRecoveryCompleted tells the addresses u had that the account
	// moved to newEmail and what was removed.
	SupportRecoveryCompleted(ctx context.Context, u *account.User, newEmail string, removed account.Removed, c account.Client) (int, error)
}

// The audit events of support recovery (events.type).
const (
	EventRequested = "support_recovery_requested"
	EventReady     = "support_recovery_ready"
	EventCancelled = "support_recovery_cancelled"
	EventCompleted = "support_recovery_completed"
)

// Defaults of Config.
const (
	DefaultWait    = 72 * time.Hour
	DefaultLinkTTL = 7 * 24 * time.Hour
)

// cancelLinkBackstop is how long after the wait a cancel link expires if
// its recovery never ended (a node down for months): the recovery's end
// deletes it long before.
const cancelLinkBackstop = 365 * 24 * time.Hour

// MaxEvidence is the longest evidence text kept, in bytes.
const MaxEvidence = 2000

// Config is the operator's policy.
type Config struct {
	// Origin starts the links: Origin + "/support/cancel?token=…" and
	// "/support/recover?token=…".
	Origin string
	// Site names the sender in the mail.
	Site string
	// Wait is how long a recovery waits before its link is mailed
	// (support_recovery.wait; default 72 h).
	Wait time.Duration
	// LinkTTL is how long the completion link works once mailed
	// (support_recovery.link_timeout; default 7 days).
	LinkTTL time.Duration
}

// Deps are the parts a Service works with.
type Deps struct {
	Members  Members
	Sessions SessionStarter
	Notices  Notifier
	Mailer   Mailer
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
}

// Service begins, lists, cancels, mails and completes support recoveries.
type Service struct {
	store    Store
	accounts Accounts
	cfg      Config
	d        Deps
	pending  pendingCache
}

// pendingRecheck is how often a node asks whether any recovery is pending
// at all. Pending runs on every GET /api/session; a recovery is rare, so
// the usual answer costs no query, and a recovery begun elsewhere (the
// command, another node) shows in every session within this much.
const pendingRecheck = 5 * time.Second

// pendingCache is this node's last answer to "is any recovery pending?".
type pendingCache struct {
	mu      sync.Mutex
	checked time.Time
	any     bool
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, accounts Accounts, d Deps) *Service {
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, accounts: accounts, cfg: cfg, d: d}
}

// Request is what support asks for.
type Request struct {
	// User is the account's current address.
	User string
	// NewEmail is the address the member can read now.
	NewEmail string
	// Evidence is how support checked who is asking: kept with the
	// recovery and shown by List.
	Evidence string
	// By names the operator ("cli:NAME").
	By string
}

// Begun is what Begin did.
type Begun struct {
	Recovery Recovery
	// Notified is how many addresses were mailed a notice; Sessions how
	// many live sessions will show the banner.
	Notified int
	Sessions int
}

// Begin starts a support recovery of the account at req.User to
// req.NewEmail, in one transaction under the account's lock: the recovery
// is stored, waiting until now + Wait, with a cancel link mailed with a
// notice to the account's address and every address it can still move back
// to (only verified ones: an unproven address gets no mail but its
// confirmation), and an event is written. Every live session of the
// account shows it (Pending) with a cancel button. An unknown account is
// ENotFound; a new address another account has is EEmailTaken; a second
// recovery of one account while one is pending is EInvalidRequest (cancel
// the first).
func (s *Service) Begin(ctx context.Context, req Request) (*Begun, error) {
	_, key, err := account.NormalizeEmail(req.User)
	if err != nil {
		return nil, err
	}
	email, newKey, err := account.NormalizeEmail(req.NewEmail)
	if err != nil {
		return nil, err
	}
	evidence := strings.TrimSpace(req.Evidence)
	if evidence == "" {
		return nil, &account.Error{Code: account.EInvalidRequest, Field: "evidence", Detail: "say how the member's identity was checked (--evidence)"}
	}
	if len(evidence) > MaxEvidence || !utf8.ValidString(evidence) {
		return nil, &account.Error{Code: account.EInvalidRequest, Field: "evidence", Detail: "the evidence must be valid UTF-8, at most 2000 bytes"}
	}
	var out Begun
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.accounts.FindUserByEmailKey(ctx, key)
		if account.IsCode(err, account.ENotFound) {
			return &account.Error{Code: account.ENotFound, Field: "user", Detail: "no account has the address " + req.User}
		}
		if err != nil {
			return err
		}
		if err := s.d.Members.Lock(ctx, u.ID, ""); err != nil {
			return err
		}
		if newKey == u.EmailKey {
			return &account.Error{Code: account.EInvalidEmail, Reason: "unchanged", Field: "new-email", Detail: "that is the account's address already"}
		}
		if other, err := s.accounts.FindUserByEmailKey(ctx, newKey); err == nil && other.ID != u.ID {
			return &account.Error{Code: account.EEmailTaken, Field: "new-email", Detail: "another account has the address " + email}
		} else if err != nil && !account.IsCode(err, account.ENotFound) {
			return err
		}
		if pending, err := s.store.SupportRecoveries(ctx, Filter{UserID: u.ID, Pending: true, Limit: 1}); err != nil {
			return err
		} else if len(pending) > 0 {
			return &account.Error{Code: account.EInvalidRequest, Reason: "pending",
				Detail: "a support recovery of this account is pending already (" + pending[0].ID + "): cancel it first"}
		}
		now := s.d.Now()
		r := Recovery{ID: s.d.Random.NewID(), UserID: u.ID, Email: email, EmailKey: newKey, Evidence: evidence,
			RequestedBy: req.By, State: StatePending, CreatedAt: now, ReadyAt: now.Add(s.cfg.Wait)}
		if err := s.store.CreateSupportRecovery(ctx, &r); err != nil {
			return err
		}
		// The cancel link works until the recovery ends, which deletes it;
		// its expiry is only a backstop, far beyond any completion.
		token, hash := link.New(s.d.Random)
		if err := s.store.CreateSupportLink(ctx, &Link{TokenHash: hash, Kind: LinkCancel, RecoveryID: r.ID, UserID: u.ID,
			ExpiresAt: r.ReadyAt.Add(cancelLinkBackstop)}); err != nil {
			return err
		}
		if out.Notified, err = s.d.Notices.SupportRecoveryRequested(ctx, u, email, s.link("/support/cancel", token), r.ReadyAt); err != nil {
			return err
		}
		if out.Sessions, err = s.accounts.CountLiveSessions(ctx, u.ID, now); err != nil {
			return err
		}
		out.Recovery = r
		out.Recovery.CurrentEmail = u.Email
		// The new address is kept out of the audit log in clear, as an
		// email change keeps it; the evidence is the recovery's own.
		return s.event(ctx, &account.Event{Type: EventRequested, UserID: u.ID, Data: map[string]any{
			"recovery": r.ID, "by": req.By, "to": account.HashSubject(newKey), "readyAt": r.ReadyAt.UTC().Format(time.RFC3339),
			"notified": out.Notified, "sessions": out.Sessions}}, account.Client{})
	})
	if err != nil {
		return nil, err
	}
	s.sawPending()
	return &out, nil
}

// List returns the recoveries f chooses, newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Recovery, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return s.store.SupportRecoveries(ctx, f)
}

// Pending returns the member's pending recovery, or nil: what every
// session of the account shows, with a button that cancels it. While no
// recovery is pending anywhere it asks the store once per pendingRecheck,
// not once per call.
func (s *Service) Pending(ctx context.Context, userID string) (*Recovery, error) {
	if any, err := s.anyPending(ctx); err != nil || !any {
		return nil, err
	}
	rs, err := s.store.SupportRecoveries(ctx, Filter{UserID: userID, Pending: true, Limit: 1})
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

// anyPending reports whether any recovery may be pending: the cached
// answer, asked again once it is pendingRecheck old.
func (s *Service) anyPending(ctx context.Context) (bool, error) {
	s.pending.mu.Lock()
	defer s.pending.mu.Unlock()
	now := s.d.Now()
	if !s.pending.checked.IsZero() && now.Sub(s.pending.checked) < pendingRecheck && now.After(s.pending.checked.Add(-time.Second)) {
		return s.pending.any, nil
	}
	any, err := s.store.AnySupportRecoveryPending(ctx)
	if err != nil {
		return false, err
	}
	s.pending.any, s.pending.checked = any, now
	return any, nil
}

// sawPending notes a recovery begun through this node: its sessions show
// it at once.
func (s *Service) sawPending() {
	s.pending.mu.Lock()
	defer s.pending.mu.Unlock()
	s.pending.any, s.pending.checked = true, s.d.Now()
}

// CancelByLink uses a notice's cancel link: the recovery it names ends,
// cancelled, with its links, in one transaction under the account's lock.
// An unknown, used or expired link — or one whose recovery ended — is
// EInvalidCode.
func (s *Service) CancelByLink(ctx context.Context, token string, c account.Client) (*Recovery, error) {
	var out *Recovery
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		l, err := s.take(ctx, LinkCancel, token)
		if err != nil {
			return err
		}
		out, err = s.cancel(ctx, l.RecoveryID, ByLink, "", c)
		return err
	})
	return out, err
}

// CancelBySession cancels the pending recovery of sw's account: the
// banner every session of the account shows. Any session may, without a
// step-up: a recovery is what a thief would use to take the account from
// its owner, and the owner must always be able to stop it. ENotFound when
// none is pending.
func (s *Service) CancelBySession(ctx context.Context, sw *account.SessionWithUser, c account.Client) (*Recovery, error) {
	var out *Recovery
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Members.Lock(ctx, sw.User.ID, sw.Session.ID); err != nil {
			return err
		}
		// From the store, not Pending's cache: a recovery begun elsewhere a
		// moment ago must be cancellable at once.
		rs, err := s.store.SupportRecoveries(ctx, Filter{UserID: sw.User.ID, Pending: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return &account.Error{Code: account.ENotFound, Detail: "no support recovery of this account is pending"}
		}
		out, err = s.cancel(ctx, rs[0].ID, BySession, sw.Session.ID, c)
		return err
	})
	return out, err
}

// CancelByOperator cancels the pending recovery id for support (by:
// "cli:NAME"). ENotFound when there is none; EInvalidRequest when it ended
// already.
func (s *Service) CancelByOperator(ctx context.Context, id, by string) (*Recovery, error) {
	var out *Recovery
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.FindSupportRecovery(ctx, id)
		if err != nil {
			return err
		}
		if err := s.d.Members.Lock(ctx, r.UserID, ""); err != nil {
			return err
		}
		out, err = s.cancel(ctx, id, by, "", account.Client{})
		if account.IsCode(err, account.EInvalidCode) {
			return &account.Error{Code: account.EInvalidRequest, Reason: "ended", Detail: "that recovery is not pending: " + string(r.State)}
		}
		return err
	})
	return out, err
}

// cancel ends the pending recovery id, cancelled by by (from the session
// sessionID, or none), with its links, and writes the event; the caller
// holds the account's lock. EInvalidCode when it was not pending any more.
func (s *Service) cancel(ctx context.Context, id, by, sessionID string, c account.Client) (*Recovery, error) {
	now := s.d.Now()
	ok, err := s.store.EndSupportRecovery(ctx, id, StateCancelled, now, by)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidCode()
	}
	if _, err := s.store.DeleteSupportLinks(ctx, id); err != nil {
		return nil, err
	}
	r, err := s.store.FindSupportRecovery(ctx, id)
	if err != nil {
		return nil, err
	}
	return r, s.event(ctx, &account.Event{Type: EventCancelled, UserID: r.UserID, SessionID: sessionID, Outcome: account.OutcomeSuccess,
		Data: map[string]any{"recovery": id, "by": by}}, c)
}

// dueBatch is how many recoveries one MailDue round handles.
const dueBatch = 100

// MailDue mails the completion link of every recovery whose wait is over,
// once each however many nodes run it, and cancels those whose link was
// not used in time; it says how many links it mailed. The janitor calls
// it, so a link goes out within the janitor's period after the wait.
func (s *Service) MailDue(ctx context.Context) (int, error) {
	now := s.d.Now()
	expired, err := s.store.ExpiredSupportRecoveries(ctx, now, dueBatch)
	if err != nil {
		return 0, err
	}
	for _, r := range expired {
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			if err := s.d.Members.Lock(ctx, r.UserID, ""); err != nil {
				return err
			}
			_, err := s.cancel(ctx, r.ID, ByExpiry, "", account.Client{})
			if account.IsCode(err, account.EInvalidCode) {
				return nil // ended meanwhile
			}
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	due, err := s.store.DueSupportRecoveries(ctx, now, dueBatch)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, r := range due {
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			expires := now.Add(s.cfg.LinkTTL)
			if ok, err := s.store.MarkSupportRecoveryMailed(ctx, r.ID, now, expires); err != nil || !ok {
				return err // !ok: another node mailed it, or it ended
			}
			token, hash := link.New(s.d.Random)
			if err := s.store.CreateSupportLink(ctx, &Link{TokenHash: hash, Kind: LinkComplete, RecoveryID: r.ID, UserID: r.UserID, ExpiresAt: expires}); err != nil {
				return err
			}
			msg, err := outbox.Render("support_recovery", "support_recovery", r.Email, s.cfg.Site, map[string]any{
				"Link": s.link("/support/recover", token), "Site": s.cfg.Site, "Days": max(1, int(s.cfg.LinkTTL/(24*time.Hour)))})
			if err != nil {
				return err
			}
			if err := s.d.Mailer.Enqueue(ctx, msg); err != nil {
				return err
			}
			sent++
			return s.event(ctx, &account.Event{Type: EventReady, UserID: r.UserID, Data: map[string]any{"recovery": r.ID,
				"expiresAt": expires.UTC().Format(time.RFC3339)}}, account.Client{})
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// Completed is what Complete did: the member's new session, and what the
// recovery removed from the account.
type Completed struct {
	Signin   *account.SigninResult
	Removed  account.Removed
	Recovery Recovery
}

// Complete uses the completion link, in one transaction under the
// account's lock: every credential goes (passkeys, password, recovery
// codes: whoever holds them is, as far as keyshift knows, not the member),
// every pending link of the account dies — its email changes' revert links
// too, so no older link can undo the recovery —, every session ends and the
// device epoch moves on, the account moves to the new address (verified:
// the link reached it), the address it leaves is told, and the member is
// signed in with a fresh session to add a passkey. An unknown, used or
// expired link, or one whose recovery was cancelled, is EInvalidCode; a
// new address another account took meanwhile is EEmailTaken, and nothing
// changes (the link still works once the operator sorted that out).
func (s *Service) Complete(ctx context.Context, token string, c account.Client) (*Completed, error) {
	if !account.PlausibleToken(token) {
		return nil, invalidCode()
	}
	var out Completed
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		l, err := s.take(ctx, LinkComplete, token)
		if err != nil {
			return err
		}
		r, err := s.store.FindSupportRecovery(ctx, l.RecoveryID)
		if err != nil {
			return err
		}
		if r.State != StatePending {
			return invalidCode()
		}
		u, err := s.accounts.FindUser(ctx, r.UserID)
		if err != nil {
			return err
		}
		if out.Removed, err = s.handOver(ctx, u, r, now, c); err != nil {
			return err
		}
		if ok, err := s.store.EndSupportRecovery(ctx, r.ID, StateCompleted, now, ByMember); err != nil {
			return err
		} else if !ok {
			return invalidCode()
		}
		if _, err := s.store.DeleteSupportLinks(ctx, r.ID); err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: EventCompleted, UserID: u.ID, Outcome: account.OutcomeSuccess, Data: map[string]any{
			"recovery": r.ID, "from": account.HashSubject(u.EmailKey), "to": account.HashSubject(r.EmailKey),
			"sessionsEnded": out.Removed.Sessions, "passkeysRemoved": len(out.Removed.Passkeys),
			"recoveryCodesRemoved": out.Removed.RecoveryCodes, "password": out.Removed.Password}}, c); err != nil {
			return err
		}
		// A sign-in too: the audit's and the rollout's counts of recovery
		// channels see it by its method.
		if err := s.event(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(account.MethodSupportRecovery),
			Outcome: account.OutcomeSuccess, Data: map[string]any{"recovery": r.ID}}, c); err != nil {
			return err
		}
		if u, err = s.accounts.FindUser(ctx, u.ID); err != nil {
			return err
		}
		// Every browser was signed out above: none is a device to tell apart.
		if out.Signin, err = s.d.Sessions.StartFirst(ctx, u, account.MethodSupportRecovery, c); err != nil {
			return err
		}
		if r, err = s.store.FindSupportRecovery(ctx, r.ID); err != nil {
			return err
		}
		out.Recovery = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// handOver gives u's account to r's new address, in the transaction of
// Complete, and says what it removed: every credential, every pending
// link, every session; then the new address.
func (s *Service) handOver(ctx context.Context, u *account.User, r *Recovery, now time.Time, c account.Client) (account.Removed, error) {
	// Credentials first, sessions last: a sign-in racing the recovery
	// either used a credential removed here, and so waited for this
	// transaction, or its session is among those ended below. The zero
	// Reset removes every one.
	removed, err := s.d.Members.ResetCredentials(ctx, u.ID, account.Reset{})
	if err != nil {
		return removed, err
	}
	keys, err := s.addresses(ctx, u, r, now)
	if err != nil {
		return removed, err
	}
	// Told before the links go, while the addresses the account can move
	// back to are still known: they hear of it too.
	if _, err := s.d.Notices.SupportRecoveryCompleted(ctx, u, r.Email, removed, c); err != nil {
		return removed, err
	}
	if _, err := s.accounts.DeleteEmailChangeLinks(ctx, u.ID); err != nil {
		return removed, err
	}
	if _, err := s.accounts.DeleteUserEmailVerifications(ctx, u.ID); err != nil {
		return removed, err
	}
	if _, err := s.accounts.DeleteEmailFlows(ctx, keys...); err != nil {
		return removed, err
	}
	if removed.Sessions, err = s.d.Members.EndSessions(ctx, u.ID); err != nil {
		return removed, err
	}
	if err := s.accounts.UpdateUserEmail(ctx, u.ID, r.Email, r.EmailKey, true, now); err != nil {
		if account.IsCode(err, account.EEmailTaken) {
			return removed, &account.Error{Code: account.EEmailTaken, Reason: "in_use", Field: "email", Detail: "another account has that address now", Err: err}
		}
		return removed, err
	}
	return removed, nil
}

// addresses returns the keys whose email sign-ins in progress a completion
// voids: the account's address, the new one, and every address it can
// still move back to.
func (s *Service) addresses(ctx context.Context, u *account.User, r *Recovery, now time.Time) ([]string, error) {
	rs, err := s.accounts.FindEmailReservations(ctx, u.ID, now)
	if err != nil {
		return nil, err
	}
	keys := []string{u.EmailKey, r.EmailKey}
	for _, res := range rs {
		keys = append(keys, res.EmailKey)
	}
	return keys, nil
}

// take consumes the live link of kind that token names, under its
// account's lock (link.Take); EInvalidCode when there is none.
func (s *Service) take(ctx context.Context, kind LinkKind, token string) (*Link, error) {
	l, err := link.Take(ctx, s.store.SupportLinks(kind), token, s.d.Now(), func(ctx context.Context, l *Link) error {
		return s.d.Members.Lock(ctx, l.UserID, "")
	})
	if errors.Is(err, link.ErrUnknown) {
		return nil, invalidCode()
	}
	return l, err
}

func (s *Service) link(path, token string) string {
	return strings.TrimRight(s.cfg.Origin, "/") + path + "?token=" + url.QueryEscape(token)
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	return s.d.Audit.Record(ctx, e, c)
}

func invalidCode() *account.Error {
	return &account.Error{Code: account.EInvalidCode, Detail: "unknown, used or expired support recovery link"}
}
