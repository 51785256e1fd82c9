package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Store is the storage the account service needs. Every method joins the
// transaction that InTx put in ctx, so a sign-in's session, events and
// throttle updates commit together or not at all.
type Store interface {
	// InTx runs fn in one transaction; Store calls made with the ctx fn
	// receives are part of it. fn's error rolls everything back.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateUser inserts u; EEmailTaken when its EmailKey exists.
	CreateUser(ctx context.Context, u *User) error
	// FindUserByEmailKey returns the user with that key; ENotFound otherwise.
	FindUserByEmailKey(ctx context.Context, key string) (*User, error)
	// FindUser returns the user with id, with HasPassword and PasskeyCount.
	FindUser(ctx context.Context, id string) (*User, error)
	// FindEmailHolder returns the user whose address has key or, failing
	// that, the user who holds key reserved at now (Reservation);
	// ENotFound when neither exists.
	FindEmailHolder(ctx context.Context, key string, now time.Time) (*User, error)
	// LockUser takes the user's row lock until the transaction in ctx
	// ends (LockMember); ENotFound when the user is gone.
	LockUser(ctx context.Context, id string) error

	// CreateCredential inserts c.
	CreateCredential(ctx context.Context, c *Credential) error
	// FindPasswordCredential returns the user's password; ENotFound when the
	// account has none.
	FindPasswordCredential(ctx context.Context, userID string) (*Credential, error)
	// UpdatePasswordHash replaces a password credential's hash and marks it used.
	UpdatePasswordHash(ctx context.Context, credID, hash, format string, at time.Time) error
	// DeletePasswordCredential removes the user's password; ENotFound when
	// the account has none.
	DeletePasswordCredential(ctx context.Context, userID string) error
	// TouchCredential sets a credential's last use.
	TouchCredential(ctx context.Context, credID string, at time.Time) error
	// DeletePasskeysSince removes the user's passkeys created at or after
	// since (every one for the zero time) and returns their names.
	DeletePasskeysSince(ctx context.Context, userID string, since time.Time) ([]string, error)

	// CreateSession inserts s and says how many other sessions its user
	// has, in the same statement.
	CreateSession(ctx context.Context, s *Session) (others int, err error)
	// FindSessionByToken returns the session whose token hashes to tokenHash,
	// with its user; ENotFound otherwise.
	FindSessionByToken(ctx context.Context, tokenHash []byte) (*SessionWithUser, error)
	// TouchSession records activity on a session.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// FindSession returns the user's session id; ENotFound when the user
	// has none with that id.
	FindSession(ctx context.Context, userID, id string) (*Session, error)
	// ListSessions returns the user's sessions, newest first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteSession removes one of the user's sessions; ENotFound when the
	// user has no session with that id.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteUserSessions removes every session of the user and says how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteOtherSessions removes every session of the user but keepID and
	// says how many.
	DeleteOtherSessions(ctx context.Context, userID, keepID string) (int, error)
	// RotateSessionToken replaces the token hash of session id; ENotFound
	// when the session is gone.
	RotateSessionToken(ctx context.Context, id string, tokenHash []byte) error
	// TrimSessions deletes the user's sessions beyond the keep newest and
	// says how many.
	TrimSessions(ctx context.Context, userID string, keep int) (int, error)
	// BumpDeviceEpoch moves the user's device epoch on (User.DeviceEpoch)
	// and returns the new one; ENotFound when the user is gone.
	BumpDeviceEpoch(ctx context.Context, userID string) (int, error)
	// DeleteExpiredSessions removes sessions past their absolute end or idle
	// since before idleBefore.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)

	// AppendEvent adds one row to the audit log.
	AppendEvent(ctx context.Context, e *Event) error
	// CountFailure adds one to the count of f's minute, type, method,
	// outcome, reason and IP (see Failure), in one statement.
	CountFailure(ctx context.Context, f *Failure) error

	// ReplaceRecoveryCodes deletes the user's recovery codes and stores
	// codes as the new set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []RecoveryCodeHash, at time.Time) error
	// UseRecoveryCode deletes the user's code whose hash is one of hashes
	// (the forms one typed code can be stored in) in one statement;
	// ENotFound when there is none (unknown or used already).
	UseRecoveryCode(ctx context.Context, userID string, hashes [][]byte) error
	// CountRecoveryCodes says how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteRecoveryCodesSince removes the user's codes made at or after
	// since (every one for the zero time) and says how many.
	DeleteRecoveryCodesSince(ctx context.Context, userID string, since time.Time) (int, error)

	// DeletePendingEmailChanges removes the user's email changes waiting
	// for their confirmation link (not the revert links) and says how many.
	DeletePendingEmailChanges(ctx context.Context, userID string) (int, error)

	throttle.Store
}

// PasswordHasher hashes and verifies passwords, through a gate that bounds
// how many run at once.
type PasswordHasher interface {
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
// so that the mailbox's owner can also say "This wasn't me". It joins the
// transaction in ctx: the account and its mail commit together.
type EmailVerifier interface {
	Send(ctx context.Context, u *User, c Client) error
}

// Notifier tells members by mail about sign-ins they may not have made. It
// joins the transaction in ctx: the session and its notice commit together.
type Notifier interface {
	// NewDevice tells u that a browser with no device cookie of theirs
	// signed in with m.
	NewDevice(ctx context.Context, u *User, m AuthMethod, c Client) error
	// PasswordChanged tells u their password was set (set) or replaced.
	PasswordChanged(ctx context.Context, u *User, set bool, c Client) error
	// PasswordRemoved tells u their password was deleted.
	PasswordRemoved(ctx context.Context, u *User, c Client) error
	// RecoveryCodeUsed tells u a recovery code signed in to their account
	// and how many codes are left.
	RecoveryCodeUsed(ctx context.Context, u *User, left int, c Client) error
	// RecoveryCodesGenerated tells u a new set of recovery codes was made
	// (and the old set voided).
	RecoveryCodesGenerated(ctx context.Context, u *User, c Client) error
}

// Throttle policies. They are variables so an operator-facing config can
// tune them later; tests read them to know where limits are.
var (
	// PolicyPasswordAccount slows guessing one account's password from
	// anywhere; a trusted device of the member is exempt (see Client.Device).
	PolicyPasswordAccount = throttle.Policy{Name: "pw-account", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	// PolicyPasswordDevice replaces the account policy for a member's
	// trusted device, so an attacker elsewhere cannot slow the member down.
	PolicyPasswordDevice = throttle.Policy{Name: "pw-device", Free: 5, Base: 2 * time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	// PolicyPasswordIP slows one address guessing across many accounts
	// (IPv6: one /64, and its /48 beside it; throttle.PerIP). A success
	// gives its attempt back.
	PolicyPasswordIP = throttle.Policy{Name: "pw-ip", Free: 30, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	// PolicySignupIP limits account creation per address (throttle.PerIP);
	// every attempt counts, successes too.
	PolicySignupIP = throttle.Policy{Name: "signup-ip", Free: 10, Base: 10 * time.Second, Max: time.Hour, Forget: time.Hour}
)

// maxPasswordBytes bounds what is ever hashed: longer input cannot be a
// password keyshift accepted (128 characters of at most 4 bytes each), so it
// is refused before it costs a hash.
const maxPasswordBytes = password.MaxLength * 4

// touchEvery is how stale LastSeenAt may get before a request writes it:
// validating a session stays a read on the hot path, and the idle timeout is
// enforced to within this much.
const touchEvery = time.Minute

// Client describes who is asking: recorded on sessions and events, and used
// to choose throttle keys.
type Client struct {
	IP        string
	UserAgent string
	// Device is set when the request carries a valid device cookie: proof
	// that this browser signed in as Device.UserID before.
	Device *Device
}

// Device is a browser that signed in successfully before.
type Device struct {
	UserID string
	ID     string
	// Epoch is the account's DeviceEpoch when the cookie was issued.
	Epoch int
}

// Trusted reports whether d is a trusted device of u: it signed in to u
// since u last revoked its devices (User.DeviceEpoch).
func (d *Device) Trusted(u *User) bool {
	return d != nil && u != nil && d.UserID == u.ID && d.Epoch == u.DeviceEpoch
}

// Service signs members up and in and manages their sessions.
type Service struct {
	Store           Store
	Hasher          PasswordHasher
	Limiter         *throttle.Limiter
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Now             func() time.Time
	Rand            io.Reader
	Log             *slog.Logger
	// Verifier mails sign-ups a link to confirm their address; nil sends none.
	Verifier EmailVerifier
	// Notices tells members of sign-ins from new devices; nil sends none.
	Notices Notifier
	// SignupClosed refuses Signup (signup.open: false). The zero value
	// keeps sign-up open, as the default configuration does.
	SignupClosed bool
	// FailureFloor, when set, makes every failed password sign-in
	// (invalid_credentials) take the same time: unknown address, native
	// or imported hash of any format.
	FailureFloor FailureWaiter
	// PasswordPolicy checks new passwords (password.NewPolicy with the
	// site's name); nil checks them without the site's name.
	PasswordPolicy *password.Policy
	// RecoveryKeys hash recovery codes (recoveryhash.go): the key derived
	// from the current pepper first, then the previous peppers' keys
	// (RecoveryKeysFrom). Without any, codes cannot be made.
	RecoveryKeys []pepper.Key
}

// SigninResult is a new session and the token that proves it. The token is
// shown once (in a cookie) and only its hash is stored.
type SigninResult struct {
	User    User
	Session Session
	Token   string
	// Removed is what the sign-in took from the account: the first proof
	// of a never-verified account's mailbox removes what was set before it
	// (docs/security.md, T3). Usually nothing.
	Removed Removed
}

// Signup creates an account with a password and signs it in.
func (s *Service) Signup(ctx context.Context, emailIn, pw string, c Client) (*SigninResult, error) {
	if s.SignupClosed {
		// Before anything else: the answer is the same for every input and
		// costs no hash, no lookup and no throttle write.
		return nil, &Error{Code: ESignupClosed, Detail: "sign-up is closed"}
	}
	email, key, err := NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	if err := s.checkPassword(pw, email); err != nil {
		return nil, err
	}
	if _, err := s.Reserve(ctx, throttle.PerIP(PolicySignupIP, c.IP)...); err != nil {
		return nil, err
	}
	// Checked before hashing so a taken address costs no hash; the unique
	// index (and, for a reserved address, the store's check after the
	// INSERT) decides any race. An address another account holds reserved
	// is taken, with the same answer (account.Reservation).
	if _, err := s.Store.FindEmailHolder(ctx, key, s.Now()); err == nil {
		return nil, emailTaken()
	} else if !IsCode(err, ENotFound) {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return nil, hashError(err)
	}
	now := s.Now()
	u := &User{ID: s.NewID(), Email: email, EmailKey: key, WebAuthnID: s.randomBytes(32), CreatedAt: now, UpdatedAt: now, Origin: OriginSignup}
	cred := &Credential{ID: s.NewID(), UserID: u.ID, Type: CredentialPassword, PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}
	var res *SigninResult
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.Store.CreateCredential(ctx, cred); err != nil {
			return err
		}
		if err := s.event(ctx, &Event{Type: EventSignup, UserID: u.ID, Method: string(MethodPassword), Outcome: OutcomeSuccess}, c); err != nil {
			return err
		}
		if s.Verifier != nil {
			if err := s.Verifier.Send(ctx, u, c); err != nil {
				return err
			}
		}
		u.HasPassword = true
		res, err = s.StartFirstSession(ctx, u, MethodSignup, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func emailTaken() *Error {
	return &Error{Code: EEmailTaken, Field: "email", Detail: "an account with this email already exists"}
}

// checkPassword applies the NIST 800-63B rules of package password, with
// the site's name when PasswordPolicy has it.
func (s *Service) checkPassword(pw, email string) error {
	err := s.PasswordPolicy.Check(pw, email)
	if pe, ok := errors.AsType[*password.PolicyError](err); ok {
		return &Error{Code: EWeakPassword, Reason: pe.Reason, Field: "password", Detail: pe.Error()}
	}
	return err
}

// SigninPassword checks an email and password and starts a session. A wrong
// password and an unknown email give the same error after the same work,
// and, with FailureFloor, the same time whatever the stored hash's format.
// The attempt is reserved on its throttle keys before the hash runs, so
// concurrent guesses get no more hashes than the keys allow.
func (s *Service) SigninPassword(ctx context.Context, emailIn, pw string, c Client) (*SigninResult, error) {
	ctx, queued := password.WithSlotWait(ctx)
	start := time.Now()
	format := ""
	res, err := s.signinPassword(ctx, emailIn, pw, c, &format)
	if s.FailureFloor != nil && IsCode(err, EInvalidCredentials) {
		// After the hash, with its slot given back: waiting costs a
		// sleeping goroutine, not a hashing slot. Time queued for the
		// slot is not counted: it is the load's, the same for every
		// address, and stays added on top.
		s.FailureFloor.Wait(ctx, format, start.Add(queued()))
	}
	return res, err
}

// signinPassword is SigninPassword; it sets *format to the format of the
// hash it verified ("" for none: an unknown address, an account without a
// password, a hash it could not verify).
func (s *Service) signinPassword(ctx context.Context, emailIn, pw string, c Client, format *string) (*SigninResult, error) {
	_, key, err := NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	if pw == "" || len(pw) > maxPasswordBytes {
		return nil, invalidCredentials()
	}
	u, cred, err := s.findPassword(ctx, key)
	if err != nil {
		return nil, err
	}
	keys := s.passwordKeys(key, u, c)
	if _, err := s.Reserve(ctx, keys.all()...); err != nil {
		return nil, err
	}
	if cred == nil {
		if err := s.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, hashError(err)
		}
		userID := ""
		if u != nil {
			userID = u.ID
		}
		return nil, s.passwordFailed(ctx, userID, c)
	}
	*format = cred.PasswordFormat
	ok, rehash, err := s.Hasher.Verify(ctx, pw, cred.PasswordHash, cred.PasswordFormat)
	if errors.Is(err, password.ErrMalformedHash) {
		*format = ""
		// A stored row the operator must fix (an imported hash in an
		// unknown format, or one Check would have refused). The member
		// sees a wrong password, after the time one takes: a 500 or a
		// different answer would tell an attacker the account exists.
		s.logger().Error("stored password hash cannot be verified", "user", u.ID, "format", cred.PasswordFormat, "err", err)
		if err := s.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, hashError(err)
		}
		return nil, s.passwordFailed(ctx, u.ID, c)
	}
	if err != nil {
		return nil, hashError(err)
	}
	if !ok {
		return nil, s.passwordFailed(ctx, u.ID, c)
	}
	newHash := ""
	if rehash {
		// Hashed outside the transaction: it is slow and needs no lock. A
		// failure only postpones the upgrade to the next sign-in.
		if newHash, err = s.Hasher.Hash(ctx, pw); err != nil {
			s.logger().Warn("password rehash failed", "user", u.ID, "err", err)
			newHash = ""
		}
	}
	return s.passwordSucceeded(ctx, u, cred, newHash, keys, c)
}

// AttemptKeys are the throttle keys of one attempt at a member's secret:
// the client's IP keys, which a success refunds, and the member's own key
// (the account's, or their trusted device's), which a success forgives.
type AttemptKeys struct {
	IP  []throttle.Check
	Own throttle.Check
}

// all returns every key of the attempt.
func (k AttemptKeys) all() []throttle.Check { return append(k.IP[:len(k.IP):len(k.IP)], k.Own) }

// Succeeded forgives the member's key and gives the IP keys back their
// attempt; it joins the transaction in ctx.
func (s *Service) Succeeded(ctx context.Context, k AttemptKeys) error {
	if err := s.Limiter.Reset(ctx, k.Own); err != nil {
		return err
	}
	return s.Limiter.Refund(ctx, k.IP...)
}

// passwordKeys returns the throttle keys of one password attempt: the IP
// always; the account, unless this browser is a trusted device of this very
// account (u), which has its own key so that strangers' failures never slow
// the member down. A device of another account counts for nothing here.
func (s *Service) passwordKeys(emailKey string, u *User, c Client) AttemptKeys {
	return AttemptKeys{
		IP:  throttle.PerIP(PolicyPasswordIP, c.IP),
		Own: OwnCheck(PolicyPasswordAccount, PolicyPasswordDevice, emailKey, u, c),
	}
}

// OwnCheck is the member's own key of an attempt for the address emailKey:
// under device, when c is a trusted device of u (the address's account,
// at its current device epoch: Device.Trusted); under account otherwise — known address or not, so that throttling tells
// nothing about who exists.
func OwnCheck(account, device throttle.Policy, emailKey string, u *User, c Client) throttle.Check {
	if c.Device.Trusted(u) {
		return throttle.Check{Policy: device, Subject: c.Device.ID + ":" + HashSubject(emailKey)}
	}
	return throttle.Check{Policy: account, Subject: HashSubject(emailKey)}
}

// HashSubject keeps addresses out of the throttle table: it also holds keys
// for addresses that have no account.
func HashSubject(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// findPassword returns the user and their password credential; both nil when
// the address has no account or the account has no password.
func (s *Service) findPassword(ctx context.Context, key string) (*User, *Credential, error) {
	u, err := s.Store.FindUserByEmailKey(ctx, key)
	if IsCode(err, ENotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.Store.FindPasswordCredential(ctx, u.ID)
	if IsCode(err, ENotFound) {
		return u, nil, nil
	}
	return u, cred, err
}

// hashError turns a full hashing gate into EBusy, so the member is told to
// retry shortly instead of seeing a server error.
func hashError(err error) error {
	if be, ok := errors.AsType[*password.BusyError](err); ok {
		return &Error{Code: EBusy, RetryAfter: max(int(be.RetryAfter.Round(time.Second)/time.Second), 1), Err: err}
	}
	return err
}

func invalidCredentials() *Error {
	return &Error{Code: EInvalidCredentials, Detail: "wrong email or password"}
}

// passwordFailed records a failure (its attempt was counted by Reserve):
// an event for a known account, a count otherwise (RecordFailure).
func (s *Service) passwordFailed(ctx context.Context, userID string, c Client) error {
	err := s.RecordFailure(ctx, &Event{Type: EventSignin, UserID: userID, Method: string(MethodPassword), Outcome: OutcomeFailure}, c)
	if err != nil {
		return err
	}
	return invalidCredentials()
}

func (s *Service) passwordSucceeded(ctx context.Context, u *User, cred *Credential, newHash string, keys AttemptKeys, c Client) (*SigninResult, error) {
	var res *SigninResult
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		now := s.Now()
		if newHash != "" {
			if err := s.Store.UpdatePasswordHash(ctx, cred.ID, newHash, "argon2id", now); err != nil {
				return err
			}
			if err := s.event(ctx, &Event{Type: EventRehash, UserID: u.ID, Data: map[string]any{"from": cred.PasswordFormat}}, c); err != nil {
				return err
			}
		} else if err := s.Store.TouchCredential(ctx, cred.ID, now); err != nil {
			return err
		}
		// The account (or device) key is forgiven; the IP only gets this
		// attempt back: an address that guesses across accounts stays
		// slowed down after one success.
		if err := s.Succeeded(ctx, keys); err != nil {
			return err
		}
		if err := s.event(ctx, &Event{Type: EventSignin, UserID: u.ID, Method: string(MethodPassword), Outcome: OutcomeSuccess}, c); err != nil {
			return err
		}
		u.HasPassword = true
		var err error
		res, err = s.StartSession(ctx, u, MethodPassword, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Counts are loaded fresh: the sign-in answer reports passkeyCount.
	if full, err := s.Store.FindUser(ctx, u.ID); err == nil {
		res.User = *full
	}
	return res, nil
}

// logger is Log, or slog's default when the service was built without one:
// a log line must never be what fails a sign-in.
func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// StartSession creates a session with a fresh token. It must run inside the
// sign-in's transaction (so the session, its events and the credential's
// update commit together); a new token at every sign-in prevents fixation.
// Other sign-in methods (passkeys, email) end here too. A browser that
// carries no device cookie of u's is a new device: u is told by mail, in
// the same transaction.
func (s *Service) StartSession(ctx context.Context, u *User, m AuthMethod, c Client) (*SigninResult, error) {
	if s.Notices != nil && !c.Device.Trusted(u) {
		if err := s.Notices.NewDevice(ctx, u, m, c); err != nil {
			return nil, err
		}
	}
	return s.StartFirstSession(ctx, u, m, c)
}

// StartFirstSession is StartSession for the sign-in that created u: there
// is no other device to tell apart, so no notice is sent.
func (s *Service) StartFirstSession(ctx context.Context, u *User, m AuthMethod, c Client) (*SigninResult, error) {
	now := s.Now()
	token := s.NewToken()
	sess := Session{
		ID: s.NewID(), TokenHash: HashToken(token), UserID: u.ID, AuthMethod: m,
		AuthenticatedAt: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.AbsoluteTimeout),
		UserAgent: c.KeptUserAgent(), IP: c.IP,
	}
	others, err := s.Store.CreateSession(ctx, &sess)
	if err != nil {
		return nil, err
	}
	// A member has at most MaxSessions: the oldest go, so that sign-ins
	// in a loop cannot grow the table or the member's list without bound.
	if others >= MaxSessions {
		n, err := s.Store.TrimSessions(ctx, u.ID, MaxSessions)
		if err != nil {
			return nil, err
		}
		if err := s.event(ctx, &Event{Type: EventSessionRevoked, UserID: u.ID, Data: map[string]any{"evicted": n}}, c); err != nil {
			return nil, err
		}
	}
	return &SigninResult{User: *u, Session: sess, Token: token}, nil
}

// MaxSessions is how many sessions one member may have at once; a new
// sign-in beyond it ends the oldest.
const MaxSessions = 50

// RotateSession gives the session a fresh token, in the transaction of ctx,
// and returns it; the old token stops working at once. A session rotates
// whenever what it proves about its browser changes — a password set,
// changed or removed, a passkey added, a step-up — so a token that leaked
// before is worth nothing after.
func (s *Service) RotateSession(ctx context.Context, sessionID string) (string, error) {
	token := s.NewToken()
	if err := s.Store.RotateSessionToken(ctx, sessionID, HashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// revokeDevices makes every device cookie of u's account an untrusted
// browser again (User.DeviceEpoch), in the transaction of ctx.
func (s *Service) revokeDevices(ctx context.Context, u *User) error {
	epoch, err := s.Store.BumpDeviceEpoch(ctx, u.ID)
	if err != nil {
		return err
	}
	u.DeviceEpoch = epoch
	return nil
}

// Authenticate returns the live session a token proves, with its user.
// Expired sessions are deleted on sight.
func (s *Service) Authenticate(ctx context.Context, token string) (*SessionWithUser, error) {
	if token == "" || len(token) > 128 {
		return nil, unauthenticated()
	}
	sw, err := s.Store.FindSessionByToken(ctx, HashToken(token))
	if IsCode(err, ENotFound) {
		return nil, unauthenticated()
	}
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if !now.Before(sw.Session.ExpiresAt) || !now.Before(sw.Session.LastSeenAt.Add(s.IdleTimeout)) {
		if err := s.Store.DeleteSession(ctx, sw.Session.UserID, sw.Session.ID); err != nil && !IsCode(err, ENotFound) {
			return nil, err
		}
		return nil, unauthenticated()
	}
	if now.Sub(sw.Session.LastSeenAt) >= touchEvery {
		if err := s.Store.TouchSession(ctx, sw.Session.ID, now); err != nil {
			return nil, err
		}
		sw.Session.LastSeenAt = now
	}
	return sw, nil
}

func unauthenticated() *Error {
	return &Error{Code: EUnauthenticated, Detail: "no valid session"}
}

// Signout ends the session a token proves.
func (s *Service) Signout(ctx context.Context, sess *Session, c Client) error {
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.DeleteSession(ctx, sess.UserID, sess.ID); err != nil && !IsCode(err, ENotFound) {
			return err
		}
		return s.event(ctx, &Event{Type: EventSignout, UserID: sess.UserID, SessionID: sess.ID}, c)
	})
}

// Sessions lists the member's live sessions.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	all, err := s.Store.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	live := all[:0]
	for _, x := range all {
		if now.Before(x.ExpiresAt) && now.Before(x.LastSeenAt.Add(s.IdleTimeout)) {
			live = append(live, x)
		}
	}
	return live, nil
}

// RevokeSession ends one of the member's sessions; ENotFound when it is not
// theirs, so ids of other members' sessions reveal nothing.
func (s *Service) RevokeSession(ctx context.Context, userID, id string, c Client) error {
	if !plausibleID(id) {
		// Not one of the ids NewID makes; PostgreSQL would refuse it as text.
		return &Error{Code: ENotFound, Detail: "no such session"}
	}
	return s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.DeleteSession(ctx, userID, id); err != nil {
			return err
		}
		return s.event(ctx, &Event{Type: EventSessionRevoked, UserID: userID, SessionID: id}, c)
	})
}

// RevokeAllSessions ends every session of the member ("sign out everywhere").
func (s *Service) RevokeAllSessions(ctx context.Context, userID string, c Client) (int, error) {
	var n int
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.LockMember(ctx, userID, ""); err != nil {
			return err
		}
		// A change of address asked for by a session that ends here must
		// not go through (T14; the asking session's end would stop its
		// link anyway, but so does this, whichever session asked).
		voided, err := s.VoidEmailChanges(ctx, userID)
		if err != nil {
			return err
		}
		// Signing out everywhere forgets every browser too: a thief's
		// device cookie must not keep its throttle exemption.
		if n, err = s.EndSessions(ctx, userID); err != nil {
			return err
		}
		return s.event(ctx, &Event{Type: EventSessionRevoked, UserID: userID, Data: map[string]any{"all": true, "count": n, "emailChangesVoided": voided}}, c)
	})
	return n, err
}

// PurgeExpiredSessions deletes sessions that can no longer be used.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int, error) {
	now := s.Now()
	return s.Store.DeleteExpiredSessions(ctx, now, now.Add(-s.IdleTimeout))
}

func (s *Service) event(ctx context.Context, e *Event, c Client) error {
	return s.Store.AppendEvent(ctx, e.Stamp(s.Now(), c))
}

func (s *Service) randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.random(), b); err != nil {
		// crypto/rand never fails on supported systems; a broken source
		// must not yield predictable tokens.
		panic(fmt.Sprintf("account: random source failed: %v", err))
	}
	return b
}

func (s *Service) random() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// NewID returns a random UUID (version 4) string, the form of every id
// keyshift makes.
func (s *Service) NewID() string {
	b := s.randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// plausibleID reports whether id, from outside (a URL path), could be an id
// NewID made: short, valid UTF-8 text without NUL bytes.
func plausibleID(id string) bool {
	return id != "" && len(id) <= 64 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}
