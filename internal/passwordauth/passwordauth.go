// Package passwordauth signs members up and in with a password, and lets
// them change or remove it: NIST SP 800-63B rules (package password) on
// every new password, attempts reserved on throttle keys before the hash
// runs, the same answer and — with a FailureWaiter — the same time for
// every kind of failure, and every change of a password made under the
// account's lock with its clean-ups and notice in one transaction. It knows
// nothing of HTTP or SQL: storage comes in through Store and Users.
package passwordauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Store is the storage of passwords. Every method joins the transaction
// that InTx put in ctx.
type Store interface {
	// InTx runs fn in one transaction; Store calls made with the ctx fn
	// receives are part of it. fn's error rolls everything back.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateCredential inserts c.
	CreateCredential(ctx context.Context, c *account.Credential) error
	// FindPasswordCredential returns the user's password; ENotFound when the
	// account has none.
	FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error)
	// UpdatePasswordHash replaces a password credential's hash and marks it used.
	UpdatePasswordHash(ctx context.Context, credID, hash, format string, at time.Time) error
	// TouchCredential sets a credential's last use.
	TouchCredential(ctx context.Context, credID string, at time.Time) error
	// DeletePasswordCredential removes the user's password; ENotFound when
	// the account has none.
	DeletePasswordCredential(ctx context.Context, userID string) error
	// DeleteOtherSessions removes every session of the user but keepID and
	// says how many.
	DeleteOtherSessions(ctx context.Context, userID, keepID string) (int, error)
}

// Users is the storage of accounts. Every method joins the transaction in
// ctx.
type Users interface {
	// CreateUser inserts u; EEmailTaken when its EmailKey exists.
	CreateUser(ctx context.Context, u *account.User) error
	// FindUserByEmailKey returns the user with that key; ENotFound otherwise.
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	// FindUser returns the user with id, with HasPassword and PasskeyCount.
	FindUser(ctx context.Context, id string) (*account.User, error)
	// FindEmailHolder returns the user whose address has key or, failing
	// that, the user who holds key reserved at now (account.Reservation);
	// ENotFound when neither exists.
	FindEmailHolder(ctx context.Context, key string, now time.Time) (*account.User, error)
}

// Hasher hashes and verifies passwords, through a gate that bounds how
// many run at once (password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify checks password against a stored hash in format (a
	// credential's PasswordFormat: "argon2id", or a legacy format that
	// arrived with import). needsRehash asks for the hash to be replaced
	// with a current Argon2id; it is always set for legacy formats. A hash
	// or format that cannot be verified gives an error wrapping
	// password.ErrMalformedHash.
	Verify(ctx context.Context, password, encoded, format string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, password string) error
}

// FailureWaiter pads a failed password sign-in (password.FailureFloor).
type FailureWaiter interface {
	// Wait records how long a failure against a hash in format ("" for
	// none) took since since (from time.Now), and returns when the floor
	// has passed since then or ctx is done.
	Wait(ctx context.Context, format string, since time.Time)
}

// EmailVerifier queues the mail that asks a new member to confirm their
// address — and says when and from which browser (c) the account was made,
// so that the mailbox's owner can also say "This wasn't me" (package
// email/confirm). It joins the transaction in ctx: the account and its
// mail commit together.
type EmailVerifier interface {
	Send(ctx context.Context, u *account.User, c account.Client) error
}

// Notifier tells members by mail that their password changed (package
// email/notice). It joins the transaction in ctx.
type Notifier interface {
	// PasswordChanged tells u their password was set (set) or replaced.
	PasswordChanged(ctx context.Context, u *account.User, set bool, c account.Client) error
	// PasswordRemoved tells u their password was deleted.
	PasswordRemoved(ctx context.Context, u *account.User, c account.Client) error
}

// Sessions starts and rotates sessions (session.Service).
type Sessions interface {
	Start(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
	StartFirst(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
	Rotate(ctx context.Context, sessionID string) (string, error)
	StepUp(ctx context.Context, sessionID string, m account.AuthMethod, passkeyID string) (string, time.Time, error)
}

// Members locks accounts and cleans up after a change of password
// (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	VoidEmailChanges(ctx context.Context, userID string) (int, error)
	RevokeDevices(ctx context.Context, u *account.User) error
}

// Throttle policies. They are variables so an operator-facing config can
// tune them later; tests read them to know where limits are.
var (
	// PolicyAccount slows guessing one account's password from anywhere; a
	// trusted device of the member is exempt (see account.Client.Device).
	PolicyAccount = throttle.Policy{Name: "pw-account", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	// PolicyDevice replaces the account policy for a member's trusted
	// device, so an attacker elsewhere cannot slow the member down.
	PolicyDevice = throttle.Policy{Name: "pw-device", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	// PolicyIP slows one address guessing across many accounts (IPv6: one
	// /64, and its /48 beside it; throttle.PerIP). A success gives its
	// attempt back.
	PolicyIP = throttle.Policy{Name: "pw-ip", Free: 30, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	// PolicySignupIP limits account creation per address (throttle.PerIP);
	// every attempt counts, successes too.
	PolicySignupIP = throttle.Policy{Name: "signup-ip", Free: 10, Base: 10 * time.Second, Max: time.Hour, Forget: time.Hour}
)

// MaxBytes bounds what is ever hashed: longer input cannot be a password
// keyshift accepted (128 characters of at most 4 bytes each), so it is
// refused before it costs a hash.
const MaxBytes = password.MaxLength * 4

// Config is the operator's policy.
type Config struct {
	// SignupClosed refuses Signup (signup.open: false). The zero value
	// keeps sign-up open, as the default configuration does.
	SignupClosed bool
	// NoPasswordSignup refuses Signup with password_signup_disabled
	// (signup.methods without "password"): new accounts are made by
	// passkey or email only. Members keep their passwords.
	NoPasswordSignup bool
	// Policy checks new passwords (password.NewPolicy with the site's
	// name); nil checks them without the site's name.
	Policy *password.Policy
	// ReauthWindow is how recent the session's sign-in or step-up must be
	// to change or remove a password (account.SessionWithUser.RequireFresh;
	// default account.DefaultReauthWindow).
	ReauthWindow time.Duration
}

// Deps are the parts a Service works with.
type Deps struct {
	Hasher Hasher
	// FailureFloor, when set, makes every failed password sign-in
	// (invalid_credentials) take the same time: unknown address, native
	// or imported hash of any format.
	FailureFloor FailureWaiter
	Sessions     Sessions
	Members      Members
	Limiter      *throttle.Limiter
	Audit        account.Audit
	Random       account.Random
	Now          func() time.Time
	Log          *slog.Logger
	// Verifier mails sign-ups a link to confirm their address; nil sends none.
	Verifier EmailVerifier
	// Notices tells members of changes to their password; nil sends none.
	Notices Notifier
}

// Service signs members up and in with a password and changes passwords.
type Service struct {
	store Store
	users Users
	cfg   Config
	d     Deps
}

// New builds a Service; a nil d.Now is time.Now, a nil d.Log discards.
func New(cfg Config, store Store, users Users, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if cfg.ReauthWindow <= 0 {
		cfg.ReauthWindow = account.DefaultReauthWindow
	}
	return &Service{store: store, users: users, cfg: cfg, d: d}
}

// Keys returns the throttle keys of one attempt at a member's password-like
// secret (a password, a recovery code) for the address emailKey: the IP
// always; the account, unless this browser is a trusted device of this very
// account (u), which has its own key so that strangers' failures never slow
// the member down. A device of another account counts for nothing here.
func Keys(emailKey string, u *account.User, c account.Client) account.AttemptKeys {
	return account.AttemptKeys{
		IP:  throttle.PerIP(PolicyIP, c.IP),
		Own: account.OwnCheck(PolicyAccount, PolicyDevice, emailKey, u, c),
	}
}

// hashError turns a full hashing gate into EBusy, so the member is told to
// retry shortly instead of seeing a server error.
func hashError(err error) error {
	if be, ok := errors.AsType[*password.BusyError](err); ok {
		return &account.Error{Code: account.EBusy, RetryAfter: max(int(be.RetryAfter.Round(time.Second)/time.Second), 1), Err: err}
	}
	return err
}

// checkPassword applies the NIST 800-63B rules of package password, with
// the site's name when the Policy has it.
func (s *Service) checkPassword(pw, email string) error {
	err := s.cfg.Policy.Check(pw, email)
	if pe, ok := errors.AsType[*password.PolicyError](err); ok {
		return &account.Error{Code: account.EWeakPassword, Reason: pe.Reason, Field: "password", Detail: pe.Error()}
	}
	return err
}
