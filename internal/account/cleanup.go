package account

import (
	"context"
	"time"
)

// Reservation keeps an address an account moved away from for that
// account while the move can be undone (an email change's revert link
// lives): sign-up, email sign-in, other members' email changes and imports
// answer for it as for an address an account has, so nobody can take it
// and so block the way back (docs/security.md, T1).
type Reservation struct {
	UserID    string
	Email     string
	EmailKey  string
	ExpiresAt time.Time
}

// Removed is what a clean-up took from an account: an email-change revert,
// a "This wasn't me" from a sign-up's confirmation mail, or the first
// proof of a never-verified account's mailbox.
type Removed struct {
	// Password is "removed", "restored" (the one from before was put
	// back), or "" when the password was left as it was.
	Password string
	// Passkeys are the names of the passkeys removed, as whoever added
	// them named them.
	Passkeys []string
	// RecoveryCodes is how many unused recovery codes were removed.
	RecoveryCodes int
	// Sessions is how many sessions were ended.
	Sessions int
}

// The words of Removed.Password.
const (
	PasswordRemoved  = "removed"
	PasswordRestored = "restored"
)

// Cleared lists what was removed, as the sign-in answer's "cleared" says it
// (docs/api.md): "password", "passkeys", "recovery_codes", "sessions".
func (r Removed) Cleared() []string {
	var out []string
	if r.Password != "" {
		out = append(out, "password")
	}
	if len(r.Passkeys) > 0 {
		out = append(out, "passkeys")
	}
	if r.RecoveryCodes > 0 {
		out = append(out, "recovery_codes")
	}
	if r.Sessions > 0 {
		out = append(out, "sessions")
	}
	return out
}

// Reset says what a clean-up undoes.
type Reset struct {
	// Since: passkeys and recovery codes added, and a password set or
	// changed, at or after Since go — at too: a client quick enough acts
	// within the clock tick (a millisecond on SQLite) of its sign-in. So
	// what the sign-in at Since wrote itself (a sign-up's password, a
	// rehash) goes too; the member signs in by email. The zero time: every
	// one of them.
	Since time.Time
	// Restore is the password the account had before Since (its hash and
	// format): it replaces a password set or changed since, or comes back
	// when the password was removed since. Nil: a password set or changed
	// since is removed.
	Restore *Credential
}

// ResetCredentials undoes, in the transaction of ctx, the credentials r
// names, and says what it removed. The caller holds the account's lock
// (LockMember). Sessions are the caller's to end (EndSessions), after
// this: a sign-in racing the clean-up then either used a credential this
// removed, and waited for it, or its session is ended too.
func (s *Service) ResetCredentials(ctx context.Context, userID string, r Reset) (Removed, error) {
	var out Removed
	var err error
	if out.Password, err = s.resetPassword(ctx, userID, r); err != nil {
		return out, err
	}
	if out.Passkeys, err = s.Store.DeletePasskeysSince(ctx, userID, r.Since); err != nil {
		return out, err
	}
	if out.RecoveryCodes, err = s.Store.DeleteRecoveryCodesSince(ctx, userID, r.Since); err != nil {
		return out, err
	}
	return out, nil
}

// resetPassword applies r to the account's password and says what it did
// (Removed.Password).
func (s *Service) resetPassword(ctx context.Context, userID string, r Reset) (string, error) {
	cur, err := s.Store.FindPasswordCredential(ctx, userID)
	if IsCode(err, ENotFound) {
		cur = nil
	} else if err != nil {
		return "", err
	}
	now := s.Now()
	switch {
	case cur != nil && !cur.UpdatedAt.Before(r.Since) && r.Restore != nil:
		if err := s.Store.UpdatePasswordHash(ctx, cur.ID, r.Restore.PasswordHash, r.Restore.PasswordFormat, now); err != nil {
			return "", err
		}
		return PasswordRestored, nil
	case cur != nil && !cur.UpdatedAt.Before(r.Since):
		if err := s.Store.DeletePasswordCredential(ctx, userID); err != nil {
			return "", err
		}
		return PasswordRemoved, nil
	case cur == nil && r.Restore != nil:
		// Removed since Since: the one from before comes back.
		if err := s.Store.CreateCredential(ctx, &Credential{ID: s.NewID(), UserID: userID, Type: CredentialPassword,
			PasswordHash: r.Restore.PasswordHash, PasswordFormat: r.Restore.PasswordFormat, CreatedAt: now, UpdatedAt: now}); err != nil {
			return "", err
		}
		return PasswordRestored, nil
	}
	return "", nil
}

// EndSessions ends every session of the account and moves its device epoch
// on (every device cookie is a stranger's browser again), in the
// transaction of ctx, and says how many sessions ended.
func (s *Service) EndSessions(ctx context.Context, userID string) (int, error) {
	n, err := s.Store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return 0, err
	}
	if _, err := s.Store.BumpDeviceEpoch(ctx, userID); err != nil {
		return 0, err
	}
	return n, nil
}

// LockMember takes the account's lock for the rest of the transaction in
// ctx: changes to one account's credentials, address, sessions in bulk and
// email links then happen one after the other, so an email-change revert
// never interleaves with a change it must undo. With sessionID it then
// checks that this session of the member still lives (EUnauthenticated
// otherwise): a session a revert ended while this waited acts no more.
func (s *Service) LockMember(ctx context.Context, userID, sessionID string) error {
	if err := s.Store.LockUser(ctx, userID); err != nil {
		return err
	}
	if sessionID == "" {
		return nil
	}
	alive, err := s.SessionAlive(ctx, userID, sessionID)
	if err != nil {
		return err
	}
	if !alive {
		return unauthenticated()
	}
	return nil
}

// SessionAlive reports whether the member's session id exists and has
// reached neither its idle nor its absolute end.
func (s *Service) SessionAlive(ctx context.Context, userID, sessionID string) (bool, error) {
	if !plausibleID(sessionID) {
		return false, nil
	}
	sess, err := s.Store.FindSession(ctx, userID, sessionID)
	if IsCode(err, ENotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := s.Now()
	return now.Before(sess.ExpiresAt) && now.Before(sess.LastSeenAt.Add(s.IdleTimeout)), nil
}

// VoidEmailChanges voids the member's pending email changes (their
// confirmation links), in the transaction of ctx, and says how many: every
// clean-up a member makes after a theft — signing out everywhere, a new
// password, a password or passkey removed, a recovery — must also stop a
// change the thief asked for (docs/security.md, T14). Revert links stay:
// they are the owner's way back.
func (s *Service) VoidEmailChanges(ctx context.Context, userID string) (int, error) {
	return s.Store.DeletePendingEmailChanges(ctx, userID)
}
