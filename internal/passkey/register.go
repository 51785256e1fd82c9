package passkey

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

// Creation is what BeginRegistration hands the browser.
type Creation struct {
	FlowID  string
	Options protocol.PublicKeyCredentialCreationOptions
}

// BeginRegistration starts adding a passkey for a signed-in member
// (WebAuthn L3 §7.1 steps 1–2 are the browser's; this is the RP's options):
// a discoverable credential with user verification, no attestation, the
// configured algorithms, and the member's passkeys excluded so an
// authenticator that already holds one answers InvalidStateError. It is a
// sensitive action: sw's session must be fresh (EReauthRequired otherwise).
func (s *Service) BeginRegistration(ctx context.Context, sw *account.SessionWithUser, opts ...BeginOption) (*Creation, error) {
	if err := sw.RequireFresh(s.now(), s.cfg.ReauthWindow, account.ActionAddPasskey); err != nil {
		return nil, err
	}
	origin, err := s.beginOrigin(opts)
	if err != nil {
		return nil, err
	}
	u, sessionID := &sw.User, sw.Session.ID
	existing, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	sel := s.wa.Config.AuthenticatorSelection
	// WithAuthenticatorSelection replaces the whole struct, so it goes
	// before WithResidentKeyRequirement (see DEPENDENCIES.md).
	creation, sd, err := s.wa.BeginRegistration(waUser{u: u, creds: toWebAuthn(existing)},
		webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(descriptors(existing)),
		webauthn.WithConveyancePreference(s.conveyance()),
		webauthn.WithCredentialParameters(s.params),
	)
	if err != nil {
		return nil, err
	}
	id, err := s.saveFlowData(ctx, KindRegister, u.ID, sessionID, sd, flowData{Origin: origin, Probation: s.probationOf(sw)})
	if err != nil {
		return nil, err
	}
	return &Creation{FlowID: id, Options: creation.Response}, nil
}

// UpgradeWindow is how long after a password sign-in the browser may save
// a passkey by itself (the automatic upgrade, BeginUpgrade).
const UpgradeWindow = 5 * time.Minute

// BeginUpgrade starts the automatic passkey upgrade: a conditional create
// (WebAuthn L3 §5.1.3, mediation "conditional"), which the browser answers
// without a dialog right after its password manager filled a sign-in. It
// is accepted only from a session whose sign-in was by password within
// UpgradeWindow (else invalid_request, reason upgrade_not_offered), is a
// sensitive action like any passkey added (RequireFresh), and requires no
// user verification for this one ceremony: the password was just proven,
// and a password manager creating in the background may not ask for it.
// FinishRegistration finishes it like any registration and records it as
// an upgrade.
func (s *Service) BeginUpgrade(ctx context.Context, sw *account.SessionWithUser, opts ...BeginOption) (*Creation, error) {
	if err := sw.RequireFresh(s.now(), s.cfg.ReauthWindow, account.ActionAddPasskey); err != nil {
		return nil, err
	}
	origin, err := s.beginOrigin(opts)
	if err != nil {
		return nil, err
	}
	if sw.Session.AuthMethod != account.MethodPassword || s.now().Sub(sw.Session.AuthenticatedAt) > UpgradeWindow {
		return nil, &account.Error{Code: account.EInvalidRequest, Reason: "upgrade_not_offered",
			Detail: "a passkey is saved by itself only within 5 minutes of a password sign-in"}
	}
	if s.cfg.Attestation != nil {
		// A password manager saving in the background gives no
		// attestation; the passkey would be refused after it was made,
		// left in the manager but unknown here.
		return nil, &account.Error{Code: account.EInvalidRequest, Reason: "attestation_required",
			Detail: "with attestation required, passkeys are added only through the dialog"}
	}
	u := &sw.User
	existing, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	sel := s.wa.Config.AuthenticatorSelection
	sel.UserVerification = protocol.VerificationPreferred
	creation, sd, err := s.wa.BeginMediatedRegistration(waUser{u: u, creds: toWebAuthn(existing)}, protocol.MediationConditional,
		webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(descriptors(existing)),
		webauthn.WithConveyancePreference(s.conveyance()),
		webauthn.WithCredentialParameters(s.params),
	)
	if err != nil {
		return nil, err
	}
	id, err := s.saveFlowData(ctx, KindRegister, u.ID, sw.Session.ID, sd, flowData{Origin: origin, Probation: s.probationOf(sw)})
	if err != nil {
		return nil, err
	}
	return &Creation{FlowID: id, Options: creation.Response}, nil
}

// Added is a passkey just registered, and the new token of the session
// that registered it (empty when the ceremony had no session).
type Added struct {
	Passkey      Passkey
	SessionToken string
}

// FinishRegistration verifies the browser's new credential (§7.1 steps
// 3–25 in go-webauthn: client data, challenge, origin, RP ID hash, UP and
// UV flags, algorithm, attestation "none") and stores it. A credential id
// registered already — to anyone — is EPasskeyExists and nothing of it is
// stored (§7.1 step 26); the refusal itself is recorded, as the rollout's
// duplicate-passkey guardrail counts it. name defaults to the provider's name. The ceremony must be
// finished by the session that began it (sessionID), whose token is rotated
// in the transaction that stores the passkey: what the session proves has
// changed.
func (s *Service) FinishRegistration(ctx context.Context, u *account.User, sessionID, flowID string, credential []byte, name string, c account.Client) (*Added, error) {
	// A name the member typed is checked before the ceremony is used up:
	// the authenticator has made the credential already, so the page can
	// ask for another name and finish with the same answer.
	if name != "" {
		if _, err := cleanName(name); err != nil {
			return nil, err
		}
	}
	f, fd, err := s.takeFlow(ctx, flowID, KindRegister, account.EInvalidCredential)
	if err != nil {
		return nil, err
	}
	if f.UserID != u.ID || f.SessionID != sessionID {
		return nil, &account.Error{Code: account.EInvalidCredential, Reason: "unknown_flow", Detail: "ceremony belongs to another member or session"}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, rejectCredential(err)
	}
	existing, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(waUser{u: u, creds: toWebAuthn(existing)}, fd.Session, parsed)
	if err != nil {
		return nil, s.rejectRegistration(parsed, err)
	}
	// After go-webauthn, which refuses an origin keyshift does not serve:
	// one of its other origins is refused here (origin.go).
	if err := s.checkOrigin(fd, parsed.Response.CollectedClientData.Origin, account.EInvalidCredential); err != nil {
		return nil, err
	}
	if err := s.checkAttestation(cred); err != nil {
		return nil, err
	}
	if err := roaming(s.cfg.AllowRoaming, cred); err != nil {
		return nil, err
	}
	if err := s.cfg.Providers.check(cred); err != nil {
		return nil, err
	}
	if name == "" {
		name = defaultName(cred.Authenticator.AAGUID)
	}
	if name, err = cleanName(name); err != nil {
		return nil, err
	}
	stored := s.credential(u, cred, name)
	disownToken := s.onProbation(stored, fd.Probation, sessionID)
	var token string
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Under the account's lock and only while the session lives: an
		// email-change revert that ended it while this waited must not
		// find a passkey added after it.
		if err := s.members.Lock(ctx, u.ID, sessionID); err != nil {
			return err
		}
		if err := s.store.CreateCredential(ctx, stored); err != nil {
			return err
		}
		if sessionID != "" {
			var err error
			if token, err = s.sessions.Rotate(ctx, sessionID); err != nil {
				return err
			}
		}
		if s.notices != nil {
			provider, _ := aaguid.Lookup(stored.AAGUID)
			var err error
			if disownToken != "" {
				err = s.notices.PasskeyOnProbation(ctx, u, stored.Name, provider, stored.ProbationUntil, disownToken, c)
			} else {
				err = s.notices.PasskeyAdded(ctx, u, stored.Name, provider, c)
			}
			if err != nil {
				return err
			}
		}
		data := map[string]any{"passkey": stored.ID, "provider": aaguid.Name(stored.AAGUID), "synced": stored.BackupState}
		if disownToken != "" {
			data["probationUntil"], data["probationVia"] = stored.ProbationUntil.UTC().Format(time.RFC3339), string(stored.ProbationVia)
		}
		if fd.Session.Mediation == protocol.MediationConditional {
			data["upgrade"] = true // saved by the browser itself (BeginUpgrade)
		}
		return s.event(ctx, &account.Event{Type: account.EventPasskeyAdded, UserID: u.ID, SessionID: f.SessionID, Data: data}, c)
	})
	if account.IsCode(err, account.EPasskeyExists) {
		// The transaction wrote nothing. The refusal is an event of its
		// own, after it: the duplicate-passkey guardrail counts these
		// beside the browsers' InvalidStateError reports, and telemetry
		// sees it through the same event.
		dup := &account.Event{Type: account.EventPasskeyRegisterError, UserID: u.ID, SessionID: f.SessionID, Outcome: string(account.EPasskeyExists)}
		if rerr := s.audit.Record(ctx, dup, c); rerr != nil {
			s.log.Warn("recording a duplicate passkey", "err", rerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return &Added{Passkey: view(*stored), SessionToken: token}, nil
}

// defaultName names a new passkey after its provider ("iCloud Keychain").
func defaultName(id []byte) string {
	if n, ok := aaguid.Lookup(id); ok {
		return n
	}
	return "Passkey"
}

func (s *Service) credential(u *account.User, cred *webauthn.Credential, name string) *account.Credential {
	now := s.now()
	return &account.Credential{
		ID: s.random.NewID(), UserID: u.ID, Type: account.CredentialWebAuthn,
		CredentialID: cred.ID, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
		AAGUID: cred.Authenticator.AAGUID, Transports: transports(cred.Transport), Attachment: string(cred.Authenticator.Attachment),
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		UserHandle: u.WebAuthnID, Name: name, CreatedAt: now, UpdatedAt: now,
	}
}

// knownTransports are the AuthenticatorTransport values of WebAuthn L3
// §5.8.4.
var knownTransports = []protocol.AuthenticatorTransport{
	protocol.USB, protocol.NFC, protocol.BLE, protocol.SmartCard, protocol.Hybrid, protocol.Internal,
}

// transports keeps the known transports the browser reported, once each, in
// its order. Clients ignore values they do not know (§5.8.4), and what is
// stored goes back out in excludeCredentials and allowCredentials, so
// anything else — a NUL, a comma, 60 KiB of text — is dropped here.
func transports(reported []protocol.AuthenticatorTransport) []string {
	var out []string
	for _, t := range reported {
		if slices.Contains(knownTransports, t) && !slices.Contains(out, string(t)) {
			out = append(out, string(t))
		}
	}
	return out
}

// rejectCredential turns a parse or verification failure into
// EInvalidCredential, keeping go-webauthn's detail for the log.
func rejectCredential(err error) error {
	reason := "unverifiable"
	var pe *protocol.Error
	if errors.As(err, &pe) {
		reason = pe.Type
	}
	return &account.Error{Code: account.EInvalidCredential, Reason: reasonWord(reason), Detail: "credential rejected", Err: err}
}

// reasonWord keeps reasons snake_case words (go-webauthn's types are
// kebab-case like "invalid_request" or "verification_error").
func reasonWord(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		default:
			out = append(out, '_')
		}
	}
	return string(out)
}

// RegisterError records why a browser refused to create a passkey and
// returns the code and catalog key of what the page should say.
// InvalidStateError means an authenticator excluded by excludeCredentials
// answered: this device or password manager already holds one of the
// member's passkeys.
func (s *Service) RegisterError(ctx context.Context, u *account.User, flowID, name string, c account.Client) (string, error) {
	code := "failed"
	switch name {
	case "InvalidStateError":
		code = "passkey_on_device"
	case "NotAllowedError", "AbortError":
		code = "cancelled"
	case "NotSupportedError":
		code = "not_supported"
	case "SecurityError":
		code = "security"
	}
	// The ceremony is over either way; its challenge must not linger. Only
	// the member's own ceremony is ended: an id of someone else's does
	// nothing.
	if validFlowID(flowID) {
		f, err := s.ceremonies.FindFlow(ctx, flowID, KindRegister)
		switch {
		case err == nil && f.UserID == u.ID:
			if _, err := s.ceremonies.TakeFlow(ctx, flowID, KindRegister); err != nil && !account.IsCode(err, account.ENotFound) {
				return "", err
			}
		case err != nil && !account.IsCode(err, account.ENotFound):
			return "", err
		}
	}
	if len(name) > 64 {
		name = name[:64]
	}
	err := s.event(ctx, &account.Event{Type: account.EventPasskeyRegisterError, UserID: u.ID, Outcome: code,
		Data: map[string]any{"name": reasonWord(name)}}, c)
	return code, err
}
