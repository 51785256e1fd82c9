package account

import "time"

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

// Reset says what a clean-up undoes (member.Service.ResetCredentials).
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

// RecoveryCodeHash is one stored recovery code (package recovery): its
// hash and the id of the pepper it was made under.
type RecoveryCodeHash struct {
	Hash     []byte
	PepperID string
}
