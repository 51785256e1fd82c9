package account

import (
	"context"
	"errors"

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
// written and the member is told by mail. The
// caller has checked that the session is fresh (web.requireStepUp): a
// fresh sign-in is what makes setting a first password without a current
// one safe — it proves the same as the email link that could set it anyway.
func (s *Service) ChangePassword(ctx context.Context, sw *SessionWithUser, current, next string, c Client) (*Changed, error) {
	u := sw.User
	if err := s.checkPassword(next, u.Email); err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			e.Field = "newPassword"
		}
		return nil, err
	}
	cred, err := s.Store.FindPasswordCredential(ctx, u.ID)
	if IsCode(err, ENotFound) {
		cred = nil
	} else if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := s.checkCurrentPassword(ctx, &u, cred, current, c); err != nil {
			return nil, err
		}
	}
	hash, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, hashError(err)
	}
	var token string
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		// Under the account's lock, and only while this session lives: a
		// revert that ended it while this waited leaves no new password.
		if err := s.LockMember(ctx, u.ID, sw.Session.ID); err != nil {
			return err
		}
		now := s.Now()
		if cred != nil {
			if err := s.Store.UpdatePasswordHash(ctx, cred.ID, hash, "argon2id", now); err != nil {
				return err
			}
		} else if err := s.Store.CreateCredential(ctx, &Credential{ID: s.NewID(), UserID: u.ID, Type: CredentialPassword,
			PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		n, err := s.Store.DeleteOtherSessions(ctx, u.ID, sw.Session.ID)
		if err != nil {
			return err
		}
		// Whoever knew the old password may have asked to move the
		// account to their address (T14).
		voided, err := s.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		// Whoever knew the old password may hold a device cookie of the
		// member's, and this browser's token may have leaked with it.
		if err := s.revokeDevices(ctx, &u); err != nil {
			return err
		}
		if token, err = s.RotateSession(ctx, sw.Session.ID); err != nil {
			return err
		}
		if err := s.event(ctx, &Event{Type: EventPasswordChanged, UserID: u.ID, SessionID: sw.Session.ID, Outcome: OutcomeSuccess,
			Data: map[string]any{"set": cred == nil, "sessionsEnded": n, "emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.Notices != nil {
			return s.Notices.PasswordChanged(ctx, &u, cred == nil, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	full, err := s.Store.FindUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &Changed{User: full, Token: token}, nil
}

// Changed is the member's account after an action that renewed their
// session's token (RotateSession): Token goes into the browser's cookie.
type Changed struct {
	User  *User
	Token string
}

// checkCurrentPassword verifies the password an account has, under the
// same throttle keys as a password sign-in: a stolen session must not turn
// into an unthrottled password oracle.
func (s *Service) checkCurrentPassword(ctx context.Context, u *User, cred *Credential, current string, c Client) error {
	wrong := &Error{Code: EWrongPassword, Field: "currentPassword", Detail: "the current password is wrong"}
	keys := s.passwordKeys(u.EmailKey, u, c)
	if _, err := s.Reserve(ctx, keys.all()...); err != nil {
		return err
	}
	ok := false
	if current != "" && len(current) <= maxPasswordBytes {
		var err error
		ok, _, err = s.Hasher.Verify(ctx, current, cred.PasswordHash, cred.PasswordFormat)
		if errors.Is(err, password.ErrMalformedHash) {
			// An imported row the operator must fix: the member is told
			// the password is wrong, as at sign-in, and may set a new one
			// after an email sign-in instead.
			s.logger().Error("stored password hash cannot be verified", "user", u.ID, "format", cred.PasswordFormat, "err", err)
			ok, err = false, nil
		}
		if err != nil {
			return hashError(err)
		}
	}
	if ok {
		return s.Succeeded(ctx, keys)
	}
	err := s.event(ctx, &Event{Type: EventPasswordChanged, UserID: u.ID, Outcome: OutcomeFailure, Data: map[string]any{"reason": "wrong_password"}}, c)
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
// mail. ENotFound when the account has no password.
// The caller has checked that the session is fresh (web.requireStepUp).
func (s *Service) RemovePassword(ctx context.Context, sw *SessionWithUser, c Client) (*Changed, error) {
	var (
		u     *User
		token string
	)
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.LockMember(ctx, sw.User.ID, sw.Session.ID); err != nil {
			return err
		}
		var err error
		if u, err = s.Store.FindUser(ctx, sw.User.ID); err != nil {
			return err
		}
		if !u.HasPassword {
			return &Error{Code: ENotFound, Detail: "the account has no password"}
		}
		if u.PasskeyCount == 0 {
			return &Error{Code: EPasskeyRequired, Detail: "add a passkey before removing the password"}
		}
		if err := s.Store.DeletePasswordCredential(ctx, u.ID); err != nil {
			return err
		}
		u.HasPassword = false
		voided, err := s.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		if token, err = s.RotateSession(ctx, sw.Session.ID); err != nil {
			return err
		}
		if err := s.event(ctx, &Event{Type: EventPasswordRemoved, UserID: u.ID, SessionID: sw.Session.ID, Outcome: OutcomeSuccess,
			Data: map[string]any{"emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.Notices != nil {
			return s.Notices.PasswordRemoved(ctx, u, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Changed{User: u, Token: token}, nil
}
