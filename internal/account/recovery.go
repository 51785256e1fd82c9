package account

import (
	"context"
	"strings"
)

// Recovery codes: a set of single-use codes a member stores offline to sign
// in when their passkeys and password are out of reach. A code is 10
// characters of Crockford's base32 (50 random bits), shown as xxxxx-xxxxx;
// only a peppered HMAC of its canonical form is stored (recoveryhash.go).
// Guessing one is slowed by
// the password throttles (a code is a password-like secret), and 50 bits
// against those limits is out of reach.
const (
	// RecoveryCodeCount is how many codes a set holds.
	RecoveryCodeCount = 10
	// recoveryCodeLen is a code's length without its dash.
	recoveryCodeLen = 10
	// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
	// read aloud or copied by hand survives.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// GenerateRecoveryCodes makes a new set of codes for sw's member, replacing
// (and so voiding) any old set, and returns the codes in display form. They
// are never stored nor shown again. An account whose address was never
// proven cannot make codes (EEmailUnverified): they would outlive the
// clean-up the first proof of the mailbox makes (docs/security.md, T3).
// The member is told by mail, in the same transaction, which runs under the
// account's lock and only while sw's session lives (LockMember): a revert
// that ended it while this waited leaves no codes behind. The caller has
// checked that the session is fresh (web.requireStepUp).
func (s *Service) GenerateRecoveryCodes(ctx context.Context, sw *SessionWithUser, c Client) ([]string, error) {
	userID := sw.User.ID
	if !sw.User.EmailVerified {
		return nil, emailUnverified()
	}
	codes := make([]string, RecoveryCodeCount)
	raws := make([]string, RecoveryCodeCount)
	for i := range codes {
		raws[i] = s.newRecoveryCode()
		codes[i] = raws[i][:5] + "-" + raws[i][5:]
	}
	hashes, err := s.hashRecoveryCodes(userID, raws)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.LockMember(ctx, userID, sw.Session.ID); err != nil {
			return err
		}
		u, err := s.Store.FindUser(ctx, userID)
		if err != nil {
			return err
		}
		if !u.EmailVerified {
			return emailUnverified()
		}
		if err := s.Store.ReplaceRecoveryCodes(ctx, userID, hashes, s.Now()); err != nil {
			return err
		}
		if s.Notices != nil {
			if err := s.Notices.RecoveryCodesGenerated(ctx, u, c); err != nil {
				return err
			}
		}
		return s.event(ctx, &Event{Type: EventRecoveryCodesGenerated, UserID: userID, SessionID: sw.Session.ID, Data: map[string]any{"count": len(codes)}}, c)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// emailUnverified refuses what only an account with a proven address may do.
func emailUnverified() *Error {
	return &Error{Code: EEmailUnverified, Detail: "confirm the account's email address first"}
}

// RecoveryCodesLeft says how many unused codes the member has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.Store.CountRecoveryCodes(ctx, userID)
}

// newRecoveryCode returns 10 random Crockford characters: each byte's low 5
// bits pick one, uniformly, as 256 is a multiple of 32.
func (s *Service) newRecoveryCode() string {
	b := s.randomBytes(recoveryCodeLen)
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

// NormalizeRecoveryCode returns the canonical form of a typed code —
// upper case, without spaces or dashes, with Crockford's look-alikes
// (O→0, I and L→1) mapped — and whether it can be a code at all.
func NormalizeRecoveryCode(in string) (string, bool) {
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

// SigninRecoveryCode signs in with the email and one of its recovery codes,
// which is used up. Wrong codes, used codes and unknown addresses give the
// same EInvalidCredentials after the same work; attempts are reserved on
// the password throttles before the lookup. The code's deletion, the event, the session and the
// member's notice commit together, and of concurrent redemptions of one
// code exactly one wins.
func (s *Service) SigninRecoveryCode(ctx context.Context, emailIn, codeIn string, c Client) (*SigninResult, error) {
	_, key, err := NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.FindUserByEmailKey(ctx, key)
	if IsCode(err, ENotFound) {
		u = nil
	} else if err != nil {
		return nil, err
	}
	keys := s.passwordKeys(key, u, c)
	if _, err := s.Reserve(ctx, keys.all()...); err != nil {
		return nil, err
	}
	code, ok := NormalizeRecoveryCode(codeIn)
	userID := ""
	if u != nil {
		userID = u.ID
	}
	if !ok {
		return nil, s.recoveryFailed(ctx, userID, c)
	}
	var res *SigninResult
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if u != nil {
			// Under the account's lock, like every change to its
			// credentials and sessions in bulk (LockMember).
			if err := s.LockMember(ctx, u.ID, ""); err != nil {
				return err
			}
		}
		// An unknown address runs the same statement against an id no
		// user has: the same work, and nothing to find.
		if err := s.Store.UseRecoveryCode(ctx, userID, s.recoveryCodeCandidates(userID, code)); err != nil {
			return err
		}
		// A recovery is a clean-up too: a change of address a thief asked
		// for dies with it (T14).
		voided, err := s.VoidEmailChanges(ctx, u.ID)
		if err != nil {
			return err
		}
		left, err := s.Store.CountRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := s.Succeeded(ctx, keys); err != nil {
			return err
		}
		// A recovery means the member lost their way in, maybe to a thief:
		// every browser is a stranger again until it signs in afresh.
		if err := s.revokeDevices(ctx, u); err != nil {
			return err
		}
		if err := s.event(ctx, &Event{Type: EventSignin, UserID: u.ID, Method: string(MethodRecoveryCode), Outcome: OutcomeSuccess,
			Data: map[string]any{"left": left, "emailChangesVoided": voided}}, c); err != nil {
			return err
		}
		if s.Notices != nil {
			if err := s.Notices.RecoveryCodeUsed(ctx, u, left, c); err != nil {
				return err
			}
		}
		// The recovery notice says all a new-device notice would: one
		// mail, not two.
		res, err = s.StartFirstSession(ctx, u, MethodRecoveryCode, c)
		return err
	})
	if IsCode(err, ENotFound) {
		return nil, s.recoveryFailed(ctx, userID, c)
	}
	if err != nil {
		return nil, err
	}
	// Counts are loaded fresh: the sign-in answer reports passkeyCount.
	if full, err := s.Store.FindUser(ctx, u.ID); err == nil {
		res.User = *full
	}
	return res, nil
}

// recoveryFailed records a failure, whose attempt Reserve counted against
// the password throttles: an event for a known account, a count otherwise.
func (s *Service) recoveryFailed(ctx context.Context, userID string, c Client) error {
	err := s.RecordFailure(ctx, &Event{Type: EventSignin, UserID: userID, Method: string(MethodRecoveryCode), Outcome: OutcomeFailure}, c)
	if err != nil {
		return err
	}
	return &Error{Code: EInvalidCredentials, Detail: "wrong email or recovery code"}
}
