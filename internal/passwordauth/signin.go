package passwordauth

import (
	"context"
	"errors"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Signup creates an account with a password and signs it in.
func (s *Service) Signup(ctx context.Context, emailIn, pw string, c account.Client) (*account.SigninResult, error) {
	if s.cfg.SignupClosed {
		// Before anything else: the answer is the same for every input and
		// costs no hash, no lookup and no throttle write.
		return nil, &account.Error{Code: account.ESignupClosed, Detail: "sign-up is closed"}
	}
	if s.cfg.NoPasswordSignup {
		// Likewise before anything: the policy, not the input, refuses.
		return nil, &account.Error{Code: account.EPasswordSignupDisabled, Detail: "new accounts are made with a passkey or by email"}
	}
	email, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	if err := s.checkPassword(pw, email); err != nil {
		return nil, err
	}
	if _, err := account.Reserve(ctx, s.d.Limiter, throttle.PerIP(PolicySignupIP, c.IP)...); err != nil {
		return nil, err
	}
	// Checked before hashing so a taken address costs no hash; the unique
	// index (and, for a reserved address, the store's check after the
	// INSERT) decides any race. An address another account holds reserved
	// is taken, with the same answer (account.Reservation).
	if _, err := s.users.FindEmailHolder(ctx, key, s.d.Now()); err == nil {
		return nil, emailTaken()
	} else if !account.IsCode(err, account.ENotFound) {
		return nil, err
	}
	hash, err := s.d.Hasher.Hash(ctx, pw)
	if err != nil {
		return nil, hashError(err)
	}
	now := s.d.Now()
	u := &account.User{ID: s.d.Random.NewID(), Email: email, EmailKey: key, WebAuthnID: s.d.Random.Bytes(32), CreatedAt: now, UpdatedAt: now, Origin: account.OriginSignup,
		RampSubject: account.AddressRampSubject(key)}
	cred := &account.Credential{ID: s.d.Random.NewID(), UserID: u.ID, Type: account.CredentialPassword, PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}
	var res *account.SigninResult
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.store.CreateCredential(ctx, cred); err != nil {
			return err
		}
		if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventSignup, UserID: u.ID, Method: string(account.MethodPassword), Outcome: account.OutcomeSuccess}, c); err != nil {
			return err
		}
		if s.d.Verifier != nil {
			if err := s.d.Verifier.Send(ctx, u, c); err != nil {
				return err
			}
		}
		u.HasPassword = true
		res, err = s.d.Sessions.StartFirst(ctx, u, account.MethodSignup, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func emailTaken() *account.Error {
	return &account.Error{Code: account.EEmailTaken, Field: "email", Detail: "an account with this email already exists"}
}

// SigninPassword checks an email and password and starts a session. A wrong
// password and an unknown email give the same error after the same work,
// and, with FailureFloor, the same time whatever the stored hash's format.
// The attempt is reserved on its throttle keys before the hash runs, so
// concurrent guesses get no more hashes than the keys allow.
func (s *Service) SigninPassword(ctx context.Context, emailIn, pw string, c account.Client) (*account.SigninResult, error) {
	ctx, queued := password.WithSlotWait(ctx)
	start := time.Now()
	format := ""
	res, err := s.signinPassword(ctx, emailIn, pw, c, &format)
	if s.d.FailureFloor != nil && account.IsCode(err, account.EInvalidCredentials) {
		// After the hash, with its slot given back: waiting costs a
		// sleeping goroutine, not a hashing slot. Time queued for the
		// slot is not counted: it is the load's, the same for every
		// address, and stays added on top.
		s.d.FailureFloor.Wait(ctx, format, start.Add(queued()))
	}
	return res, err
}

// signinPassword is SigninPassword; it sets *format to the format of the
// hash it verified ("" for none: an unknown address, an account without a
// password, a hash it could not verify).
func (s *Service) signinPassword(ctx context.Context, emailIn, pw string, c account.Client, format *string) (*account.SigninResult, error) {
	_, key, err := account.NormalizeEmail(emailIn)
	if err != nil {
		return nil, err
	}
	if pw == "" || len(pw) > MaxBytes {
		return nil, invalidCredentials()
	}
	u, cred, err := s.findPassword(ctx, key)
	if err != nil {
		return nil, err
	}
	keys := Keys(key, u, c)
	if _, err := account.Reserve(ctx, s.d.Limiter, keys.All()...); err != nil {
		return nil, err
	}
	if cred == nil {
		if err := s.d.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, hashError(err)
		}
		userID := ""
		if u != nil {
			userID = u.ID
		}
		return nil, s.passwordFailed(ctx, userID, c)
	}
	*format = cred.PasswordFormat
	ok, rehash, err := s.d.Hasher.Verify(ctx, pw, cred.PasswordHash, cred.PasswordFormat)
	if errors.Is(err, password.ErrMalformedHash) {
		*format = ""
		// A stored row the operator must fix (an imported hash in an
		// unknown format, or one Check would have refused). The member
		// sees a wrong password, after the time one takes: a 500 or a
		// different answer would tell an attacker the account exists.
		s.d.Log.Error("stored password hash cannot be verified", "user", u.ID, "format", cred.PasswordFormat, "err", err)
		if err := s.d.Hasher.VerifyDummy(ctx, pw); err != nil {
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
		if newHash, err = s.d.Hasher.Hash(ctx, pw); err != nil {
			s.d.Log.Warn("password rehash failed", "user", u.ID, "err", err)
			newHash = ""
		}
	}
	return s.passwordSucceeded(ctx, u, cred, newHash, keys, c)
}

// findPassword returns the user and their password credential; both nil when
// the address has no account or the account has no password.
func (s *Service) findPassword(ctx context.Context, key string) (*account.User, *account.Credential, error) {
	u, err := s.users.FindUserByEmailKey(ctx, key)
	if account.IsCode(err, account.ENotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.store.FindPasswordCredential(ctx, u.ID)
	if account.IsCode(err, account.ENotFound) {
		return u, nil, nil
	}
	return u, cred, err
}

func invalidCredentials() *account.Error {
	return &account.Error{Code: account.EInvalidCredentials, Detail: "wrong email or password"}
}

// passwordFailed records a failure (its attempt was counted by Reserve):
// an event for a known account, a count otherwise (account.Audit.RecordFailure).
func (s *Service) passwordFailed(ctx context.Context, userID string, c account.Client) error {
	err := s.d.Audit.RecordFailure(ctx, &account.Event{Type: account.EventSignin, UserID: userID, Method: string(account.MethodPassword), Outcome: account.OutcomeFailure}, c)
	if err != nil {
		return err
	}
	return invalidCredentials()
}

func (s *Service) passwordSucceeded(ctx context.Context, u *account.User, cred *account.Credential, newHash string, keys account.AttemptKeys, c account.Client) (*account.SigninResult, error) {
	var res *account.SigninResult
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.d.Now()
		if newHash != "" {
			if err := s.store.UpdatePasswordHash(ctx, cred.ID, newHash, "argon2id", now); err != nil {
				return err
			}
			if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventRehash, UserID: u.ID, Data: map[string]any{"from": cred.PasswordFormat}}, c); err != nil {
				return err
			}
		} else if err := s.store.TouchCredential(ctx, cred.ID, now); err != nil {
			return err
		}
		// The account (or device) key is forgiven; the IP only gets this
		// attempt back: an address that guesses across accounts stays
		// slowed down after one success.
		if err := keys.Succeeded(ctx, s.d.Limiter); err != nil {
			return err
		}
		if err := s.d.Audit.Record(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(account.MethodPassword), Outcome: account.OutcomeSuccess,
			Subject: u}, c); err != nil {
			return err
		}
		u.HasPassword = true
		var err error
		res, err = s.d.Sessions.Start(ctx, u, account.MethodPassword, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Counts are loaded fresh: the sign-in answer reports passkeyCount.
	if full, err := s.users.FindUser(ctx, u.ID); err == nil {
		res.User = *full
	}
	return res, nil
}
