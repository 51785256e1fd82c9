// Package recovery makes members' recovery codes and signs them in with
// one: a set of single-use codes a member stores offline for when their
// passkeys and password are out of reach. It knows nothing of HTTP or SQL:
// storage comes in through Store.
package recovery

import (
	"context"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Store is the storage of recovery codes. Every method joins the
// transaction that InTx put in ctx.
type Store interface {
	// InTx runs fn in one transaction; Store calls made with the ctx fn
	// receives are part of it. fn's error rolls everything back.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// ReplaceRecoveryCodes deletes the user's recovery codes and stores
	// codes as the new set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []account.RecoveryCodeHash, at time.Time) error
	// UseRecoveryCode deletes the user's code whose hash is one of hashes
	// (the forms one typed code can be stored in) in one statement;
	// ENotFound when there is none (unknown or used already).
	UseRecoveryCode(ctx context.Context, userID string, hashes [][]byte) error
	// CountRecoveryCodes says how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// Users is the storage of accounts.
type Users interface {
	// FindUserByEmailKey returns the user with that key; ENotFound otherwise.
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	// FindUser returns the user with id, with HasPassword and PasskeyCount.
	FindUser(ctx context.Context, id string) (*account.User, error)
}

// Notifier tells members by mail about their recovery codes (package
// email/notice). It joins the transaction in ctx.
type Notifier interface {
	// RecoveryCodeUsed tells u a recovery code signed in to their account
	// and how many codes are left.
	RecoveryCodeUsed(ctx context.Context, u *account.User, left int, c account.Client) error
	// RecoveryCodesGenerated tells u a new set of recovery codes was made
	// (and the old set voided).
	RecoveryCodesGenerated(ctx context.Context, u *account.User, c account.Client) error
}

// SessionStarter starts the session of a recovery (session.Service).
type SessionStarter interface {
	StartFirst(ctx context.Context, u *account.User, m account.AuthMethod, c account.Client) (*account.SigninResult, error)
}

// Members locks accounts and cleans up after a recovery (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	VoidEmailChanges(ctx context.Context, userID string) (int, error)
	RevokeDevices(ctx context.Context, u *account.User) error
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions SessionStarter
	Members  Members
	Limiter  *throttle.Limiter
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
	// Notices tells members of codes made and used; nil sends none.
	Notices Notifier
}

// Config is the operator's policy.
type Config struct {
	// Keys hash codes (hash.go): the key derived from the current pepper
	// first, then the previous peppers' keys (KeysFrom). Without any,
	// codes cannot be made.
	Keys []pepper.Key
	// ReauthWindow is how recent the session's sign-in or step-up must be
	// to make codes (account.SessionWithUser.RequireFresh; default
	// account.DefaultReauthWindow).
	ReauthWindow time.Duration
}

// Service makes recovery codes and signs members in with them.
type Service struct {
	store Store
	users Users
	cfg   Config
	d     Deps
}

// New builds a Service; a nil d.Now is time.Now.
func New(cfg Config, store Store, users Users, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.ReauthWindow <= 0 {
		cfg.ReauthWindow = account.DefaultReauthWindow
	}
	return &Service{store: store, users: users, cfg: cfg, d: d}
}

// Recovery codes: a set of single-use codes a member stores offline to sign
// in when their passkeys and password are out of reach. A code is 10
// characters of Crockford's base32 (50 random bits), shown as xxxxx-xxxxx;
// only a peppered HMAC of its canonical form is stored (hash.go).
// Guessing one is slowed by
// the password throttles (a code is a password-like secret), and 50 bits
// against those limits is out of reach.
const (
	// CodeCount is how many codes a set holds.
	CodeCount = 10
	// recoveryCodeLen is a code's length without its dash.
	recoveryCodeLen = 10
	// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
	// read aloud or copied by hand survives.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// Generate makes a new set of codes for sw's member, replacing
// (and so voiding) any old set, and returns the codes in display form. They
// are never stored nor shown again. An account whose address was never
// proven cannot make codes (EEmailUnverified): they would outlive the
// clean-up the first proof of the mailbox makes (docs/security.md, T3).
// The member is told by mail, in the same transaction, which runs under the
// account's lock and only while sw's session lives (member.Service.Lock): a revert
// that ended it while this waited leaves no codes behind. The session must
// be fresh (account.SessionWithUser.RequireFresh; EReauthRequired before anything
// else).
func (s *Service) Generate(ctx context.Context, sw *account.SessionWithUser, c account.Client) ([]string, error) {
	if err := sw.RequireFresh(s.d.Now(), s.cfg.ReauthWindow, account.ActionRecoveryCodes); err != nil {
		return nil, err
	}
	userID := sw.User.ID
	if !sw.User.EmailVerified {
		return nil, emailUnverified()
	}
	codes := make([]string, CodeCount)
	raws := make([]string, CodeCount)
	for i := range codes {
		raws[i] = s.newCode()
		codes[i] = raws[i][:5] + "-" + raws[i][5:]
	}
	hashes, err := s.hashCodes(userID, raws)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Members.Lock(ctx, userID, sw.Session.ID); err != nil {
			return err
		}
		u, err := s.users.FindUser(ctx, userID)
		if err != nil {
			return err
		}
		if !u.EmailVerified {
			return emailUnverified()
		}
		if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.d.Now()); err != nil {
			return err
		}
		if s.d.Notices != nil {
			if err := s.d.Notices.RecoveryCodesGenerated(ctx, u, c); err != nil {
				return err
			}
		}
		return s.d.Audit.Record(ctx, &account.Event{Type: account.EventRecoveryCodesGenerated, UserID: userID, SessionID: sw.Session.ID, Data: map[string]any{"count": len(codes)}}, c)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// emailUnverified refuses what only an account with a proven address may do.
func emailUnverified() *account.Error {
	return &account.Error{Code: account.EEmailUnverified, Detail: "confirm the account's email address first"}
}

// Left says how many unused codes the member has.
func (s *Service) Left(ctx context.Context, userID string) (int, error) {
	return s.store.CountRecoveryCodes(ctx, userID)
}

// newCode returns 10 random Crockford characters: each byte's low 5
// bits pick one, uniformly, as 256 is a multiple of 32.
func (s *Service) newCode() string {
	b := s.d.Random.Bytes(recoveryCodeLen)
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

// NormalizeCode returns the canonical form of a typed code —
// upper case, without spaces or dashes, with Crockford's look-alikes
// (O→0, I and L→1) mapped — and whether it can be a code at all.
func NormalizeCode(in string) (string, bool) {
	if len(in) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryCodeLen {
		return "", false
	}
	return b.String(), true
}

// Signin signs in with the email and one of its recovery codes,
// which is used up. Wrong codes, used codes and unknown addresses give the
// same EInvalidCredentials after the same work; attempts are reserved on
// the password throttles before the lookup. The code's deletion, the event, the session and the
// member's notice commit together, and of concurrent redemptions of one
// code exactly one wins.
func (s *Service) Signin(ctx context.Context, emailIn, codeIn string, c account.Client) (*account.SigninResult, error) {
	_, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	u, err := s.users.FindUserByEmailKey(ctx, key)
	if account.IsCode(err, account.ENotFound) {
		u = nil
	} else if err != nil {
		return nil, err
	}
	keys := passwordauth.Keys(key, u, c)
	if _, err := account.Reserve(ctx, s.d.Limiter, keys.All()...); err != nil {
		return nil, err
	}
	code, ok := NormalizeCode(codeIn)
	userID := ""
	if u != nil {
		userID = u.ID
	}
	if !ok {
		return nil, s.failed(ctx, userID, c)
	}
	var res *account.SigninResult
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if u != nil {
			// Under the account's lock, like every change to its
			// credentials and sessions in bulk (member.Service.Lock).
			if err := s.d.Members.Lock(ctx, u.ID, ""); err != nil {
				return err
			}
		}
		// An unknown address runs the same statement against an id no
		// user has: the same work, and nothing to find.
		if err := s.store.UseRecoveryCode(ctx, userID, s.candidates(userID, code)); err != nil {
			return err
		}
		// A recovery is a clean-up too: a change of address a thief asked
		// for dies with it (T14).
		voided, err := s.d.Members.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		left, err := s.store.CountRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := keys.Succeeded(ctx, s.d.Limiter); err != nil {
			return err
		}
		// A recovery means the member lost their way in, maybe to a thief:
		// every browser is a stranger again until it signs in afresh.
		if err := s.d.Members.RevokeDevices(ctx, u); err != nil {
			return err
		}
		if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(account.MethodRecoveryCode), Outcome: account.OutcomeSuccess,
			Data: map[string]any{"left": left, "emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.d.Notices != nil {
			if err := s.d.Notices.RecoveryCodeUsed(ctx, u, left, c); err != nil {
				return err
			}
		}
		// The recovery notice says all a new-device notice would: one
		// mail, not two.
		res, err = s.d.Sessions.StartFirst(ctx, u, account.MethodRecoveryCode, c)
		return err
	})
	if account.IsCode(err, account.ENotFound) {
		return nil, s.failed(ctx, userID, c)
	}
	if err != nil {
		return nil, err
	}
	// Counts are loaded fresh: the sign-in answer reports passkeyCount.
	if full, err := s.users.FindUser(ctx, u.ID); err == nil {
		res.User = *full
	}
	return res, nil
}

// failed records a failure, whose attempt Reserve counted against
// the password throttles: an event for a known account, a count otherwise.
func (s *Service) failed(ctx context.Context, userID string, c account.Client) error {
	err := s.d.Audit.RecordFailure(ctx, &account.Event{Type: account.EventSignin, UserID: userID, Method: string(account.MethodRecoveryCode), Outcome: account.OutcomeFailure}, c)
	if err != nil {
		return err
	}
	return &account.Error{Code: account.EInvalidCredentials, Detail: "wrong email or recovery code"}
}
