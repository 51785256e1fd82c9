package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Request is what BeginLogin hands the browser.
type Request struct {
	FlowID  string
	Options protocol.PublicKeyCredentialRequestOptions
}

// BeginLogin starts a passkey sign-in. With no email it is discoverable
// (conditional UI and the "Sign in with a passkey" button): the
// authenticator offers whatever passkeys it holds for the RP ID. With an
// email it is username-first: allowCredentials lists that member's
// passkeys — or, for an address without passkeys, stable decoy ids, so the
// answer never tells whether an account exists.
func (s *Service) BeginLogin(ctx context.Context, email string, opts ...BeginOption) (*Request, error) {
	origin, err := s.beginOrigin(opts)
	if err != nil {
		return nil, err
	}
	if email == "" {
		assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, err
		}
		return s.saveLogin(sd, assertion, false, origin)
	}
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByEmailKey(ctx, key)
	if err != nil && !account.IsCode(err, account.ENotFound) {
		return nil, err
	}
	var creds []account.Credential
	if u != nil {
		if creds, err = s.store.ListPasskeys(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	if len(creds) == 0 {
		// A discoverable session that only the decoys may answer: no real
		// credential matches them, so finishing always fails.
		assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired),
			webauthn.WithAllowedCredentials(s.decoys(key, s.currentShapes())))
		if err != nil {
			return nil, err
		}
		return s.saveLogin(sd, assertion, true, origin)
	}
	assertion, sd, err := s.wa.BeginLogin(waUser{u: u, creds: toWebAuthn(creds)},
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return s.saveLogin(sd, assertion, true, origin)
}

func (s *Service) saveLogin(sd *webauthn.SessionData, a *protocol.CredentialAssertion, username bool, origin string) (*Request, error) {
	id, err := s.sealLogin(sd, username, origin)
	if err != nil {
		return nil, err
	}
	return &Request{FlowID: id, Options: a.Response}, nil
}

// FinishLogin verifies an assertion (§7.2: go-webauthn checks client data,
// challenge, origin, RP ID hash, UP, UV — required here —, the signature
// and BE consistency) and the RP's own steps: the ceremony is single-use
// and unexpired, the credential exists and belongs to the user handle, and
// the sign count did not go backwards (§7.2 step 22: when either count is
// non-zero, a new one not above the stored one means a possible clone:
// refused and audited). mediation is
// "conditional" or "modal" as the page reports it, for telemetry.
//
// Every attempt uses the ceremony up. The ceremony comes sealed in flowID
// (no database read); the credential with its member is read and the
// signature checked outside any transaction; then one write transaction
// spends the ceremony — of two requests finishing it at once exactly one
// gets it, the other is refused and writes nothing —, starts the session,
// records the event and updates the credential's count, BE/BS and last
// use. A refusal spends the ceremony and records the event in one
// transaction too; a ceremony spent already is refused as unknown_flow
// whatever else is wrong, and nothing is recorded. A refusal for a passkey
// of no known account is counted (account.Audit.RecordFailure), not
// appended to the audit log.
//
// A refusal is first reserved on the client's IP (account.PolicyRedeemIP),
// in its transaction, before anything is written for it; past the limit
// nothing is written — the ceremony stays unspent, the refusal unrecorded —
// and the answer is EThrottled: refusals from one address stay few however
// many ceremonies it begins (a begin costs nothing). A success costs no
// throttle write: a passkey cannot be guessed, so there is nothing to slow.
func (s *Service) FinishLogin(ctx context.Context, flowID string, credential []byte, mediation string, c account.Client) (*account.SigninResult, error) {
	f, err := s.openLogin(flowID, account.EPasskeyRejected)
	if err != nil {
		return nil, err
	}
	fd := &f.Data
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, s.loginFailed(ctx, f, nil, rejectCredential(err), mediation, c)
	}
	u, stored, verified, err := s.verifyAssertion(ctx, fd, parsed)
	if err != nil {
		return nil, s.loginFailed(ctx, f, u, err, mediation, c)
	}
	if verified.Authenticator.CloneWarning {
		return nil, s.cloneWarning(ctx, f, u, stored, parsed.Response.AuthenticatorData.Counter, c)
	}
	method := MethodOf(fd.Username, mediation)
	var res *account.SigninResult
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.spendLogin(ctx, f, account.EPasskeyRejected); err != nil {
			return err
		}
		// The count first: on PostgreSQL what follows the session's INSERT
		// (the audit and telemetry events) then travels with the COMMIT in
		// one round trip (sqldb.ExecLater); the credential's row stays
		// locked one round trip longer (the session's INSERT), no more.
		flags := parsed.Response.AuthenticatorData.Flags
		err := s.store.UpdatePasskeyUse(ctx, stored.ID, verified.Authenticator.SignCount,
			flags.HasBackupEligible(), flags.HasBackupState(), s.now())
		if account.IsCode(err, account.ENotFound) {
			return errCountMoved
		}
		if err != nil {
			return err
		}
		if res, err = s.sessions.StartPasskey(ctx, u, method, stored.ID, c); err != nil {
			return err
		}
		return s.event(ctx, &account.Event{Type: account.EventSignin, UserID: u.ID, Method: string(method),
			Outcome: account.OutcomeSuccess, Data: map[string]any{"passkey": stored.ID}, Subject: u}, c)
	})
	if errors.Is(err, errCountMoved) {
		// Another sign-in stored this count or a later one since it was
		// read (or the passkey was removed): the same count twice at once
		// is what a cloned authenticator looks like.
		return nil, s.cloneWarning(ctx, f, u, stored, parsed.Response.AuthenticatorData.Counter, c)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errCountMoved is UpdatePasskeyUse refusing the count inside FinishLogin's
// transaction.
var errCountMoved = errors.New("passkey sign count moved meanwhile")

// MethodOf is the one rule for how a passkey sign-in counts — in the
// session's AuthMethod and in the sign-in metrics: username-first when its
// ceremony named the member, else by the mediation the page reports
// ("conditional" for autofill, anything else modal). A refused sign-in
// counts the same way, from the ceremony it finished (FinishLogin opens the
// ceremony before it reads the assertion).
func MethodOf(username bool, mediation string) account.AuthMethod {
	switch {
	case username:
		return account.MethodPasskeyUsername
	case mediation == "conditional":
		return account.MethodPasskeyConditional
	}
	return account.MethodPasskeyModal
}

// verifyAssertion finds the member and credential the assertion names and
// lets go-webauthn verify it. It returns the member (when known, for the
// audit of a failure), the stored credential and the verified one.
//
// go-webauthn refuses an origin keyshift does not serve at all; one of its
// other origins passes there and is refused here (checkOrigin), after the
// signature: a ceremony stays on the origin that began it.
func (s *Service) verifyAssertion(ctx context.Context, fd *flowData, parsed *protocol.ParsedCredentialAssertionData) (*account.User, *account.Credential, *webauthn.Credential, error) {
	u, stored, verified, err := s.verifyWithLibrary(ctx, fd, parsed)
	if err != nil {
		return u, stored, nil, err
	}
	if err := s.checkOrigin(fd, parsed.Response.CollectedClientData.Origin, account.EPasskeyRejected); err != nil {
		return u, stored, nil, err
	}
	return u, stored, verified, nil
}

// verifyWithLibrary is verifyAssertion up to go-webauthn's verdict.
func (s *Service) verifyWithLibrary(ctx context.Context, fd *flowData, parsed *protocol.ParsedCredentialAssertionData) (*account.User, *account.Credential, *webauthn.Credential, error) {
	stored, u, err := s.store.FindPasskeyWithUser(ctx, parsed.RawID)
	if account.IsCode(err, account.ENotFound) {
		e := rejected("unknown_credential", err)
		if !fd.Username {
			// A discoverable ceremony handed out no credential ids, so
			// saying this one is unknown tells the caller only about an
			// id they presented themselves — their own authenticator's,
			// or one they made up (128 random bits, nobody else's). A
			// username-first ceremony stays silent: its ids may be decoys.
			e.Unknown = &account.UnknownCredential{RPID: s.cfg.RPID, CredentialID: base64.RawURLEncoding.EncodeToString(parsed.RawID)}
		}
		return nil, nil, nil, e
	}
	if err != nil {
		return nil, nil, nil, err
	}
	var verified *webauthn.Credential
	if len(fd.Session.UserID) > 0 {
		// Username-first: the credential must be the named member's.
		if !bytes.Equal(fd.Session.UserID, u.WebAuthnID) {
			return u, stored, nil, rejected("wrong_user", nil)
		}
		// go-webauthn checks that the member owns every credential the
		// ceremony allowed, so it needs them all.
		creds, err := s.store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return u, stored, nil, err
		}
		verified, err = s.wa.ValidateLogin(waUser{u: u, creds: toWebAuthn(creds)}, fd.Session, parsed)
		if err != nil {
			return u, stored, nil, rejected("verification_failed", err)
		}
		return u, stored, verified, nil
	}
	// Discoverable: the user handle the authenticator returns must be the
	// one of the member who owns the credential. With no allowCredentials
	// go-webauthn only looks up the credential the assertion names, so that
	// one is all it gets.
	wu := waUser{u: u, creds: toWebAuthn([]account.Credential{*stored})}
	verified, err = s.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(userHandle, u.WebAuthnID) {
			return nil, errors.New("user handle does not match the credential's owner")
		}
		return wu, nil
	}, fd.Session, parsed)
	if err != nil {
		return u, stored, nil, rejected("verification_failed", err)
	}
	return u, stored, verified, nil
}

func rejected(reason string, err error) *account.Error {
	return &account.Error{Code: account.EPasskeyRejected, Reason: reason, Detail: "passkey sign-in refused", Err: err}
}

// loginFailed uses the ceremony up and, for a refused assertion, records
// the refusal by the method the ceremony and the page's mediation make it
// (MethodOf), in one transaction; it returns err — or, when the ceremony
// was spent already, unknown_flow with nothing recorded, as if the attempt
// had never been read.
func (s *Service) loginFailed(ctx context.Context, f *sealedFlow, u *account.User, err error, mediation string, c account.Client) error {
	rejection := account.IsCode(err, account.EPasskeyRejected)
	userID, reason := "", ""
	if u != nil {
		userID = u.ID
	}
	if e, ok := errors.AsType[*account.Error](err); ok {
		reason = e.Reason
	}
	werr := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.spendLogin(ctx, f, account.EPasskeyRejected); err != nil {
			return err
		}
		if !rejection {
			return nil
		}
		if _, err := account.Reserve(ctx, s.limiter, throttle.PerIP(account.PolicyRedeemIP, c.IP)...); err != nil {
			return err
		}
		return s.audit.RecordFailure(ctx, &account.Event{Type: account.EventSignin, UserID: userID, Subject: u, Method: string(MethodOf(f.Data.Username, mediation)),
			Outcome: account.OutcomeFailure, Data: map[string]any{"reason": reason}}, c)
	})
	if account.IsCode(werr, account.EPasskeyRejected) || account.IsCode(werr, account.EThrottled) {
		return werr
	}
	if werr != nil {
		return fmt.Errorf("recording a refused passkey: %w (refused because: %v)", werr, err)
	}
	return err
}

// cloneWarning refuses a sign-in whose sign count went backwards and
// writes it to the audit log; the stored count is left as it was and the
// ceremony is used up. received is the count in the assertion (go-webauthn
// leaves the verified credential's count at the stored one when it warns).
// A ceremony spent already is unknown_flow, nothing recorded (loginFailed).
func (s *Service) cloneWarning(ctx context.Context, f *sealedFlow, u *account.User, stored *account.Credential, received uint32, c account.Client) error {
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.spendLogin(ctx, f, account.EPasskeyRejected); err != nil {
			return err
		}
		return s.event(ctx, &account.Event{Type: account.EventPasskeyCloneWarning, UserID: u.ID, Outcome: account.OutcomeFailure,
			Data: map[string]any{"passkey": stored.ID, "stored": stored.SignCount, "received": received}}, c)
	})
	if err != nil {
		return err
	}
	s.log.Warn("passkey sign count went backwards: possible cloned authenticator", "user", u.ID, "passkey", stored.ID,
		"stored", stored.SignCount, "received", received)
	return rejected("sign_count_regression", nil)
}
