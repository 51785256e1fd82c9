// Package member acts on a member's account as a whole: its lock, under
// which changes to one account's credentials, address, sessions in bulk and
// email links happen one after the other, and the clean-ups after a theft
// that several flows share — the credentials added since a moment, every
// session and trusted browser, pending changes of address, and "sign out
// everywhere" (docs/security.md, T1–T3, T14). It knows nothing of HTTP or
// SQL: storage comes in through Store and Credentials.
package member

import (
	"context"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// Store is the storage of an account's lock and its bulk clean-ups. Every
// method joins the transaction that InTx put in ctx.
type Store interface {
	// InTx runs fn in one transaction; Store calls made with the ctx fn
	// receives are part of it. fn's error rolls everything back.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// LockUser takes the user's row lock until the transaction in ctx
	// ends (Lock); ENotFound when the user is gone.
	LockUser(ctx context.Context, id string) error
	// FindUser returns the user with id, with HasPassword and PasskeyCount.
	FindUser(ctx context.Context, id string) (*account.User, error)
	// DeleteUserSessions removes every session of the user and says how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// BumpDeviceEpoch moves the user's device epoch on (User.DeviceEpoch)
	// and returns the new one; ENotFound when the user is gone.
	BumpDeviceEpoch(ctx context.Context, userID string) (int, error)
	// DeletePendingEmailChanges removes the user's email changes waiting
	// for their confirmation link (not the revert links) and says how many.
	DeletePendingEmailChanges(ctx context.Context, userID string) (int, error)
}

// Credentials is the storage of what ResetCredentials undoes. Every method
// joins the transaction in ctx.
type Credentials interface {
	// FindPasswordCredential returns the user's password; ENotFound when the
	// account has none.
	FindPasswordCredential(ctx context.Context, userID string) (*account.Credential, error)
	// CreateCredential inserts c.
	CreateCredential(ctx context.Context, c *account.Credential) error
	// UpdatePasswordHash replaces a password credential's hash and marks it used.
	UpdatePasswordHash(ctx context.Context, credID, hash, format string, at time.Time) error
	// DeletePasswordCredential removes the user's password; ENotFound when
	// the account has none.
	DeletePasswordCredential(ctx context.Context, userID string) error
	// DeletePasskeysSince removes the user's passkeys created at or after
	// since (every one for the zero time) and returns their names.
	DeletePasskeysSince(ctx context.Context, userID string, since time.Time) ([]string, error)
	// DeleteRecoveryCodesSince removes the user's codes made at or after
	// since (every one for the zero time) and says how many.
	DeleteRecoveryCodesSince(ctx context.Context, userID string, since time.Time) (int, error)
}

// SessionChecker tells whether a member's session still lives
// (session.Service.Alive).
type SessionChecker interface {
	Alive(ctx context.Context, userID, sessionID string) (bool, error)
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions SessionChecker
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
}

// Service locks and cleans up members' accounts.
type Service struct {
	store    Store
	creds    Credentials
	sessions SessionChecker
	audit    account.Audit
	random   account.Random
	now      func() time.Time
}

// New builds a Service; a nil d.Now is time.Now.
func New(store Store, creds Credentials, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: store, creds: creds, sessions: d.Sessions, audit: d.Audit, random: d.Random, now: d.Now}
}

// Find returns the member's account as it is stored now, with whether it
// has a password and how many passkeys: what a page shows after a change.
func (s *Service) Find(ctx context.Context, userID string) (*account.User, error) {
	return s.store.FindUser(ctx, userID)
}

// Lock takes the account's lock for the rest of the transaction in ctx:
// changes to one account's credentials, address, sessions in bulk and
// email links then happen one after the other, so an email-change revert
// never interleaves with a change it must undo. With sessionID it then
// checks that this session of the member still lives (EUnauthenticated
// otherwise): a session a revert ended while this waited acts no more.
func (s *Service) Lock(ctx context.Context, userID, sessionID string) error {
	if err := s.store.LockUser(ctx, userID); err != nil {
		return err
	}
	if sessionID == "" {
		return nil
	}
	alive, err := s.sessions.Alive(ctx, userID, sessionID)
	if err != nil {
		return err
	}
	if !alive {
		return &account.Error{Code: account.EUnauthenticated, Detail: "no valid session"}
	}
	return nil
}

// ResetCredentials undoes, in the transaction of ctx, the credentials r
// names, and says what it removed. The caller holds the account's lock
// (Lock). Sessions are the caller's to end (EndSessions), after this: a
// sign-in racing the clean-up then either used a credential this removed,
// and waited for it, or its session is ended too.
func (s *Service) ResetCredentials(ctx context.Context, userID string, r account.Reset) (account.Removed, error) {
	var out account.Removed
	var err error
	if out.Password, err = s.resetPassword(ctx, userID, r); err != nil {
		return out, err
	}
	if out.Passkeys, err = s.creds.DeletePasskeysSince(ctx, userID, r.Since); err != nil {
		return out, err
	}
	if out.RecoveryCodes, err = s.creds.DeleteRecoveryCodesSince(ctx, userID, r.Since); err != nil {
		return out, err
	}
	return out, nil
}

// resetPassword applies r to the account's password and says what it did
// (Removed.Password).
func (s *Service) resetPassword(ctx context.Context, userID string, r account.Reset) (string, error) {
	cur, err := s.creds.FindPasswordCredential(ctx, userID)
	if account.IsCode(err, account.ENotFound) {
		cur = nil
	} else if err != nil {
		return "", err
	}
	now := s.now()
	switch {
	case cur != nil && !cur.UpdatedAt.Before(r.Since) && r.Restore != nil:
		if err := s.creds.UpdatePasswordHash(ctx, cur.ID, r.Restore.PasswordHash, r.Restore.PasswordFormat, now); err != nil {
			return "", err
		}
		return account.PasswordRestored, nil
	case cur != nil && !cur.UpdatedAt.Before(r.Since):
		if err := s.creds.DeletePasswordCredential(ctx, userID); err != nil {
			return "", err
		}
		return account.PasswordRemoved, nil
	case cur == nil && r.Restore != nil:
		// Removed since Since: the one from before comes back.
		if err := s.creds.CreateCredential(ctx, &account.Credential{ID: s.random.NewID(), UserID: userID, Type: account.CredentialPassword,
			PasswordHash: r.Restore.PasswordHash, PasswordFormat: r.Restore.PasswordFormat, CreatedAt: now, UpdatedAt: now}); err != nil {
			return "", err
		}
		return account.PasswordRestored, nil
	}
	return "", nil
}

// EndSessions ends every session of the account and moves its device epoch
// on (every device cookie is a stranger's browser again), in the
// transaction of ctx, and says how many sessions ended.
func (s *Service) EndSessions(ctx context.Context, userID string) (int, error) {
	n, err := s.store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return 0, err
	}
	if _, err := s.store.BumpDeviceEpoch(ctx, userID); err != nil {
		return 0, err
	}
	return n, nil
}

// RevokeDevices makes every device cookie of u's account an untrusted
// browser again (User.DeviceEpoch), in the transaction of ctx, and sets
// u's new epoch.
func (s *Service) RevokeDevices(ctx context.Context, u *account.User) error {
	epoch, err := s.store.BumpDeviceEpoch(ctx, u.ID)
	if err != nil {
		return err
	}
	u.DeviceEpoch = epoch
	return nil
}

// VoidEmailChanges voids the member's pending email changes (their
// confirmation links), in the transaction of ctx, and says how many: every
// clean-up a member makes after a theft — signing out everywhere, a new
// password, a password or passkey removed, a recovery — must also stop a
// change the thief asked for (docs/security.md, T14). Revert links stay:
// they are the owner's way back.
func (s *Service) VoidEmailChanges(ctx context.Context, userID string) (int, error) {
	return s.store.DeletePendingEmailChanges(ctx, userID)
}

// RevokeAllSessions ends every session of the member ("sign out everywhere").
func (s *Service) RevokeAllSessions(ctx context.Context, userID string, c account.Client) (int, error) {
	var n int
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Lock(ctx, userID, ""); err != nil {
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
		return s.audit.Record(ctx, &account.Event{Type: account.EventSessionRevoked, UserID: userID, Data: map[string]any{"all": true, "count": n, "emailChangesVoided": voided}}, c)
	})
	return n, err
}
