package passwordauth

import (
	"context"
	"errors"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password"
)

// ChangePassword sets the password of sw's member. An account with a
// password must give it (current), checked and throttled like a sign-in; an
// account without one — signed up by email, imported without a hash, or
// whose password was removed — sets one without. The new password follows
// the sign-up rules. It is hashed outside the transaction; in the
// transaction the credential is written, every OTHER session of the member
// ends (whoever knew the old password may hold one; this browser stays
// signed in), pending changes of the address are voided (T14), an event is
// written and the member is told by mail. The session must be fresh
// (account.SessionWithUser.RequireFresh; EReauthRequired before anything else): a
// fresh sign-in is what makes setting a first password without a current
// one safe — it proves the same as the email link that could set it anyway.
func (s *Service) ChangePassword(ctx context.Context, sw *account.SessionWithUser, current, next string, c account.Client) (*account.Changed, error) {
	if err := sw.RequireFresh(s.d.Now(), s.cfg.ReauthWindow, account.ActionChangePassword); err != nil {
		return nil, err
	}
	u := sw.User
	if err := s.checkPassword(next, u.Email); err != nil {
		if e, ok := errors.AsType[*account.Error](err); ok {
			e.Field = "newPassword"
		}
		return nil, err
	}
	cred, err := s.store.FindPasswordCredential(ctx, u.ID)
	if account.IsCode(err, account.ENotFound) {
		cred = nil
	} else if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := s.checkOwnPassword(ctx, &u, cred, current, c, account.EventPasswordChanged, "currentPassword"); err != nil {
			return nil, err
		}
	}
	hash, err := s.d.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, hashError(err)
	}
	var token string
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Under the account's lock, and only while this session lives: a
		// revert that ended it while this waited leaves no new password.
		if err := s.d.Members.Lock(ctx, u.ID, sw.Session.ID); err != nil {
			return err
		}
		now := s.d.Now()
		if cred != nil {
			if err := s.store.UpdatePasswordHash(ctx, cred.ID, hash, "argon2id", now); err != nil {
				return err
			}
		} else if err := s.store.CreateCredential(ctx, &account.Credential{ID: s.d.Random.NewID(), UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		n, err := s.store.DeleteOtherSessions(ctx, u.ID, sw.Session.ID)
		if err != nil {
			return err
		}
		// Whoever knew the old password may have asked to move the
		// account to their address (T14).
		voided, err := s.d.Members.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		// Whoever knew the old password may hold a device cookie of the
		// member's, and this browser's token may have leaked with it.
		if err := s.d.Members.RevokeDevices(ctx, &u); err != nil {
			return err
		}
		if token, err = s.d.Sessions.Rotate(ctx, sw.Session.ID); err != nil {
			return err
		}
		if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventPasswordChanged, UserID: u.ID, SessionID: sw.Session.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"set": cred == nil, "sessionsEnded": n, "emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.d.Notices != nil {
			return s.d.Notices.PasswordChanged(ctx, &u, cred == nil, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	full, err := s.users.FindUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &account.Changed{User: full, Token: token}, nil
}

// checkOwnPassword verifies the password an account has (for a change, or
// a step-up), under the same throttle keys as a password sign-in: a stolen
// session must not turn into an unthrottled password oracle. A wrong one is
// recorded as a failed event of type eventType and answered EWrongPassword
// on field.
func (s *Service) checkOwnPassword(ctx context.Context, u *account.User, cred *account.Credential, current string, c account.Client, eventType, field string) error {
	wrong := &account.Error{Code: account.EWrongPassword, Field: field, Detail: "the password is wrong"}
	keys := Keys(u.EmailKey, u, c)
	if _, err := account.Reserve(ctx, s.d.Limiter, keys.All()...); err != nil {
		return err
	}
	ok := false
	if current != "" && len(current) <= MaxBytes {
		var err error
		ok, _, err = s.d.Hasher.Verify(ctx, current, cred.PasswordHash, cred.PasswordFormat)
		if errors.Is(err, password.ErrMalformedHash) {
			// An imported row the operator must fix: the member is told
			// the password is wrong, as at sign-in, and may set a new one
			// after an email sign-in instead.
			s.d.Log.Error("stored password hash cannot be verified", "user", u.ID, "format", cred.PasswordFormat, "err", err)
			ok, err = false, nil
		}
		if err != nil {
			return hashError(err)
		}
	}
	if ok {
		return keys.Succeeded(ctx, s.d.Limiter)
	}
	err := s.d.Audit.Record(ctx, &account.Event{Type: eventType, UserID: u.ID, Method: string(account.MethodPassword), Outcome: account.OutcomeFailure, Data: map[string]any{"reason": "wrong_password"}}, c)
	if err != nil {
		return err
	}
	return wrong
}

// RemovePassword deletes the password of sw's member, who must keep at
// least one passkey (EPasskeyRequired otherwise; email sign-in stays
// either way). The count is read in the deleting transaction. Sessions
// stay: nothing an intruder could know was added. Pending changes of the
// address are voided (T14). An event is written and the member is told by
// mail. ENotFound when the account has no password. The session must be
// fresh (account.SessionWithUser.RequireFresh; EReauthRequired before anything else).
func (s *Service) RemovePassword(ctx context.Context, sw *account.SessionWithUser, c account.Client) (*account.Changed, error) {
	if err := sw.RequireFresh(s.d.Now(), s.cfg.ReauthWindow, account.ActionRemovePassword); err != nil {
		return nil, err
	}
	var (
		u     *account.User
		token string
	)
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Members.Lock(ctx, sw.User.ID, sw.Session.ID); err != nil {
			return err
		}
		var err error
		if u, err = s.users.FindUser(ctx, sw.User.ID); err != nil {
			return err
		}
		if !u.HasPassword {
			return &account.Error{Code: account.ENotFound, Detail: "the account has no password"}
		}
		if u.PasskeyCount == 0 {
			return &account.Error{Code: account.EPasskeyRequired, Detail: "add a passkey before removing the password"}
		}
		if err := s.store.DeletePasswordCredential(ctx, u.ID); err != nil {
			return err
		}
		u.HasPassword = false
		voided, err := s.d.Members.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		if token, err = s.d.Sessions.Rotate(ctx, sw.Session.ID); err != nil {
			return err
		}
		if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventPasswordRemoved, UserID: u.ID, SessionID: sw.Session.ID, Outcome: account.OutcomeSuccess,
			Data: map[string]any{"emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.d.Notices != nil {
			return s.d.Notices.PasswordRemoved(ctx, u, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &account.Changed{User: u, Token: token}, nil
}
