package passkey

import (
	"context"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/account"
)

// KindReauth is a step-up ceremony's flow kind.
const KindReauth = "reauth"

// BeginReauth starts a step-up of sw's session (POST /api/reauth/begin): an
// assertion that only the member's own passkeys can answer
// (allowCredentials lists them, user verification required), kept as a
// flow bound to this member and this session. A member without a passkey
// is EInvalidRequest with reason "no_passkey": they step up with their
// password or an email code instead.
func (s *Service) BeginReauth(ctx context.Context, sw *account.SessionWithUser, opts ...BeginOption) (*Request, error) {
	origin, err := s.beginOrigin(opts)
	if err != nil {
		return nil, err
	}
	u := &sw.User
	creds, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, &account.Error{Code: account.EInvalidRequest, Reason: "no_passkey", Detail: "this account has no passkey to confirm with"}
	}
	assertion, sd, err := s.wa.BeginLogin(waUser{u: u, creds: toWebAuthn(creds)}, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	id, err := s.saveFlow(ctx, KindReauth, u.ID, sw.Session.ID, sd, true, origin)
	if err != nil {
		return nil, err
	}
	return &Request{FlowID: id, Options: assertion.Response}, nil
}

// FinishReauth verifies a step-up's assertion as a sign-in's is verified
// (§7.2 through go-webauthn, UV required, the sign count) and requires it to
// come from one of the session member's own passkeys for a ceremony this
// session began; then, in one transaction, it steps the session up
// (session.Service.StepUp: a new token, SteppedUpAt now), updates the
// passkey's use and records the event. It returns the new token and the
// step-up's time. The ceremony is used up by every attempt; a refusal is
// EPasskeyRejected and a failed reauth event.
func (s *Service) FinishReauth(ctx context.Context, sw *account.SessionWithUser, flowID string, credential []byte, c account.Client) (string, time.Time, error) {
	u := &sw.User
	f, fd, err := s.takeFlow(ctx, flowID, KindReauth, account.EPasskeyRejected)
	if err != nil {
		return "", time.Time{}, err
	}
	if f.UserID != u.ID || f.SessionID != sw.Session.ID {
		return "", time.Time{}, s.reauthFailed(ctx, sw, rejected("unknown_flow", nil), c)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return "", time.Time{}, s.reauthFailed(ctx, sw, rejectCredential(err), c)
	}
	owner, stored, verified, err := s.verifyAssertion(ctx, fd, parsed)
	if err == nil && owner.ID != u.ID {
		err = rejected("wrong_user", nil)
	}
	if err == nil && verified.Authenticator.CloneWarning {
		err = rejected("sign_count_regression", nil)
	}
	if err != nil {
		return "", time.Time{}, s.reauthFailed(ctx, sw, err, c)
	}
	var token string
	var at time.Time
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if token, at, err = s.sessions.StepUp(ctx, sw.Session.ID, account.MethodPasskeyUsername, stored.ID); err != nil {
			return err
		}
		if err := s.event(ctx, &account.Event{Type: account.EventReauth, UserID: u.ID, SessionID: sw.Session.ID,
			Method: string(account.MethodPasskeyUsername), Outcome: account.OutcomeSuccess, Data: map[string]any{"passkey": stored.ID}}, c); err != nil {
			return err
		}
		flags := parsed.Response.AuthenticatorData.Flags
		err = s.store.UpdatePasskeyUse(ctx, stored.ID, verified.Authenticator.SignCount, flags.HasBackupEligible(), flags.HasBackupState(), s.now())
		if account.IsCode(err, account.ENotFound) {
			// The same count stored meanwhile, or the passkey removed:
			// refused as a sign-in is (FinishLogin).
			return rejected("sign_count_regression", nil)
		}
		return err
	})
	if account.IsCode(err, account.EPasskeyRejected) {
		return "", time.Time{}, s.reauthFailed(ctx, sw, err, c)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return token, at, nil
}

// reauthFailed records a refused step-up and returns why it was refused.
func (s *Service) reauthFailed(ctx context.Context, sw *account.SessionWithUser, why error, c account.Client) error {
	reason := ""
	if e, ok := why.(*account.Error); ok {
		reason = e.Reason
	}
	if err := s.event(ctx, &account.Event{Type: account.EventReauth, UserID: sw.User.ID, SessionID: sw.Session.ID, Method: "passkey",
		Outcome: account.OutcomeFailure, Data: map[string]any{"reason": reason}}, c); err != nil {
		return err
	}
	return why
}
