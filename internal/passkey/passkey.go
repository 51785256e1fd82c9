// Package passkey runs keyshift's WebAuthn ceremonies — registration,
// sign-in (conditional, modal, username-first) — over go-webauthn, and
// manages members' passkeys. No HTTP in here: package web decodes and
// answers.
//
// go-webauthn verifies the cryptography and most of the relying party's
// steps (WebAuthn Level 3 §7.1 and §7.2). This package does the steps the
// library leaves to the RP: challenges that are single-use and expire
// (registration's stored in the database, sign-in's sealed into the flowId
// and recorded as spent when finished, so any node finishes what another
// began),
// credential-id uniqueness across users (§7.1 step 26), refusing a
// sign-count regression (§7.2 step 22), keeping BE/BS and last use current,
// and the operator's policy on authenticators and algorithms.
package passkey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Flow kinds.
const (
	KindRegister = "register"
	KindLogin    = "login"
)

// Flow is one registration in progress: the go-webauthn session data under
// a random id the browser sends back. Sign-in ceremonies are not stored:
// they are sealed into their flowId (seal.go).
type Flow struct {
	ID        string
	Kind      string
	UserID    string // the member registering, or the named member of a username-first sign-in
	SessionID string
	Data      []byte // JSON of flowData
	CreatedAt time.Time
	ExpiresAt time.Time
}

// flowData is what a Flow keeps besides its columns.
type flowData struct {
	Session webauthn.SessionData `json:"session"`
	// Username marks a username-first sign-in (telemetry counts it apart).
	Username bool `json:"username,omitempty"`
	// Origin is the origin the ceremony was begun on (origin.go); empty in
	// a flow stored before ceremonies carried it, which means the primary.
	Origin string `json:"origin,omitempty"`
	// Probation, in a registration, is the sign-in method of a session
	// that adds a passkey on probation (probation.go); empty otherwise.
	Probation account.AuthMethod `json:"probation,omitempty"`
}

// Store is the storage of passkeys and the members they belong to. Every
// method joins the transaction that InTx put in ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	FindUserByEmailKey(ctx context.Context, key string) (*account.User, error)
	FindUserByWebAuthnID(ctx context.Context, handle []byte) (*account.User, error)
	FindUser(ctx context.Context, id string) (*account.User, error)
	ListPasskeys(ctx context.Context, userID string) ([]account.Credential, error)
	// FindPasskeyWithUser returns the passkey with credentialID and the
	// member who owns it, in one query; ENotFound when there is none.
	FindPasskeyWithUser(ctx context.Context, credentialID []byte) (*account.Credential, *account.User, error)
	CreateCredential(ctx context.Context, c *account.Credential) error
	// UpdatePasskeyUse records a verified use: count, flags, time. It is
	// ENotFound unless signCount is above the stored count or both are zero
	// (§7.2 step 22, checked in the write so that concurrent uses with one
	// count cannot both pass), and when the passkey is gone.
	UpdatePasskeyUse(ctx context.Context, id string, signCount uint32, backupEligible, backupState bool, at time.Time) error
	RenamePasskey(ctx context.Context, userID, id, name string, at time.Time) error
	DeletePasskey(ctx context.Context, userID, id string) error
}

// Ceremonies is the storage of ceremonies in progress, and of what decoys
// are made to look like. Every method joins the transaction in ctx.
type Ceremonies interface {
	// SpendCeremony records that the sign-in ceremony id, which expires at
	// expires, is finished. It reports false, writing nothing, when id was
	// spent already; of two transactions spending one id at once, one
	// commits and the other gets false.
	SpendCeremony(ctx context.Context, id []byte, expires time.Time) (bool, error)
	CreateFlow(ctx context.Context, f *Flow) error
	// FindFlow returns the flow without consuming it; ENotFound when it
	// does not exist (never begun, finished already, or purged).
	FindFlow(ctx context.Context, id, kind string) (*Flow, error)
	// TakeFlow deletes and returns the flow in one step; ENotFound as
	// FindFlow.
	TakeFlow(ctx context.Context, id, kind string) (*Flow, error)
	// PasskeyShapes returns how many passkeys members have and the id
	// lengths and transports of every passkey, as counts (decoy.go).
	PasskeyShapes(ctx context.Context) (Shapes, error)
}

// Sessions starts the session of a passkey sign-in, and renews the token
// of the session that added a passkey (session.Service).
type Sessions interface {
	StartPasskey(ctx context.Context, u *account.User, m account.AuthMethod, passkeyID string, c account.Client) (*account.SigninResult, error)
	Rotate(ctx context.Context, sessionID string) (string, error)
	StepUp(ctx context.Context, sessionID string, m account.AuthMethod, passkeyID string) (string, time.Time, error)
}

// Members locks accounts and voids pending changes of address when a
// passkey goes (member.Service).
type Members interface {
	Lock(ctx context.Context, userID, sessionID string) error
	VoidEmailChanges(ctx context.Context, userID string) (int, error)
}

// Notifier tells members by mail that their passkeys changed. Each method
// joins the transaction in ctx, so the change and its notice commit
// together (package notice).
type Notifier interface {
	// PasskeyAdded: name as the member (or the default) gave it, provider
	// as the authenticator's AAGUID says ("" when unknown); neither is
	// attested.
	PasskeyAdded(ctx context.Context, u *account.User, name, provider string, c account.Client) error
	PasskeyRemoved(ctx context.Context, u *account.User, name string, c account.Client) error
	// PasskeyOnProbation replaces PasskeyAdded for a passkey added on
	// probation until until: the mail carries disownLink, the one-click
	// "This wasn't me".
	PasskeyOnProbation(ctx context.Context, u *account.User, name, provider string, until time.Time, disownLink string, c account.Client) error
}

// Passkey is a member's passkey as the account page and API show it.
type Passkey struct {
	ID             string
	Name           string
	Provider       string
	CreatedAt      time.Time
	LastUsedAt     time.Time
	BackupEligible bool
	BackedUp       bool
	// Synced is true when the authenticator reports the credential backed
	// up (BS): it lives in a password manager or platform keychain and
	// survives losing one device. Otherwise it is on this device only.
	Synced bool
	// ProbationUntil is when the passkey comes off probation (zero when it
	// was never on it; probation.go).
	ProbationUntil time.Time
	Transports     []string
	Attachment     string
}

// Config is the relying party and the operator's policy.
type Config struct {
	RPID   string
	RPName string
	// Origin is the primary origin; Origins the further ones a passkey is
	// accepted on (config origins, origin.go).
	Origin       string
	Origins      []string
	AllowRoaming bool
	// Providers filters new passkeys by authenticator (policy.go).
	Providers ProviderPolicy
	// Attestation, when set, makes registration ask for attestation
	// ("direct") and accept only passkeys whose attestation the metadata
	// verifies (attestation.go); nil asks for none.
	Attestation  *Metadata
	Algorithms   []string // COSE names, most preferred first
	ChallengeTTL time.Duration
	// DecoyKey makes stable fake credential ids for username-first sign-in
	// of addresses without passkeys, so the answer does not tell them apart.
	DecoyKey []byte
	// CeremonyKey is the secret sign-in ceremonies are sealed under (seal.go),
	// the same on every node; 32 bytes or more.
	CeremonyKey []byte
	// ReauthWindow is how recent the session's sign-in or step-up must be
	// to add or remove a passkey (account.SessionWithUser.RequireFresh; default
	// account.DefaultReauthWindow).
	ReauthWindow time.Duration
	// Probation is how long a passkey added through a weaker channel is on
	// probation (email_signin.probation; probation.go); zero puts none on
	// it (email_signin.passkey_accounts full).
	Probation time.Duration
}

// Deps are the parts a Service works with.
type Deps struct {
	Sessions Sessions
	Members  Members
	Limiter  *throttle.Limiter
	Audit    account.Audit
	Random   account.Random
	Now      func() time.Time
	Log      *slog.Logger
	// Notices tells members of passkeys added and removed; nil sends none.
	Notices Notifier
	// Disowns is the storage of "This wasn't me" (probation.go); New
	// refuses a config with a probation and no Disowns.
	Disowns Disowns
}

// Service runs ceremonies and manages passkeys.
type Service struct {
	store      Store
	ceremonies Ceremonies
	sessions   Sessions
	members    Members
	limiter    *throttle.Limiter
	audit      account.Audit
	random     account.Random
	wa         *webauthn.WebAuthn
	cfg        Config
	params     []protocol.CredentialParameter
	sealer     *sealer
	now        func() time.Time
	log        *slog.Logger
	shapes     shapeCache
	notices    Notifier
	disowns    Disowns
}

// New builds a Service; a nil d.Now is time.Now, a nil d.Log discards.
func New(cfg Config, store Store, ceremonies Ceremonies, d Deps) (*Service, error) {
	params, err := credentialParameters(cfg.Algorithms)
	if err != nil {
		return nil, err
	}
	sel := protocol.AuthenticatorSelection{
		ResidentKey:      protocol.ResidentKeyRequirementRequired,
		UserVerification: protocol.VerificationRequired,
	}
	if !cfg.AllowRoaming {
		sel.AuthenticatorAttachment = protocol.Platform
	}
	conveyance, mds := protocol.PreferNoAttestation, metadata.Provider(nil)
	if cfg.Attestation != nil {
		conveyance, mds = protocol.PreferDirectAttestation, cfg.Attestation.provider
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                   cfg.RPID,
		RPDisplayName:          cfg.RPName,
		RPOrigins:              cfg.origins(),
		AttestationPreference:  conveyance,
		AuthenticatorSelection: sel,
		MDS:                    mds,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	sealer, err := newSealer(cfg.CeremonyKey, cfg.RPID, cfg.Origin)
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ReauthWindow <= 0 {
		cfg.ReauthWindow = account.DefaultReauthWindow
	}
	if cfg.Probation > 0 && d.Disowns == nil {
		return nil, errors.New("passkey: a probation needs Deps.Disowns")
	}
	return &Service{store: store, ceremonies: ceremonies, sessions: d.Sessions, members: d.Members, limiter: d.Limiter,
		audit: d.Audit, random: d.Random, wa: wa, cfg: cfg, params: params, sealer: sealer, now: d.Now, log: d.Log,
		notices: d.Notices, disowns: d.Disowns}, nil
}

var algorithms = map[string]webauthncose.COSEAlgorithmIdentifier{
	"ES256": webauthncose.AlgES256, "ES384": webauthncose.AlgES384, "ES512": webauthncose.AlgES512,
	"EdDSA": webauthncose.AlgEdDSA, "RS256": webauthncose.AlgRS256, "PS256": webauthncose.AlgPS256,
}

func credentialParameters(names []string) ([]protocol.CredentialParameter, error) {
	var out []protocol.CredentialParameter
	for _, n := range names {
		alg, ok := algorithms[n]
		if !ok {
			return nil, fmt.Errorf("passkey: unknown algorithm %q", n)
		}
		out = append(out, protocol.CredentialParameter{Type: protocol.PublicKeyCredentialType, Algorithm: alg})
	}
	return out, nil
}

// waUser adapts a member and their passkeys to go-webauthn.
type waUser struct {
	u     *account.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte                         { return w.u.WebAuthnID }
func (w waUser) WebAuthnName() string                       { return w.u.Email }
func (w waUser) WebAuthnDisplayName() string                { return displayName(w.u) }
func (w waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func displayName(u *account.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// toWebAuthn turns stored passkeys into go-webauthn credentials.
func toWebAuthn(cs []account.Credential) []webauthn.Credential {
	out := make([]webauthn.Credential, len(cs))
	for i, c := range cs {
		tr := make([]protocol.AuthenticatorTransport, len(c.Transports))
		for j, t := range c.Transports {
			tr[j] = protocol.AuthenticatorTransport(t)
		}
		out[i] = webauthn.Credential{
			ID: c.CredentialID, PublicKey: c.PublicKey, AttestationType: "none", Transport: tr,
			Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount, Attachment: protocol.AuthenticatorAttachment(c.Attachment)},
		}
	}
	return out
}

func descriptors(cs []account.Credential) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(cs))
	for i, c := range toWebAuthn(cs) {
		out[i] = c.Descriptor()
	}
	return out
}

// view is how a member sees a stored passkey.
func view(c account.Credential) Passkey {
	return Passkey{
		ID: c.ID, Name: c.Name, Provider: aaguid.Name(c.AAGUID), CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt,
		BackupEligible: c.BackupEligible, BackedUp: c.BackupState, Synced: c.BackupState,
		Transports: c.Transports, Attachment: c.Attachment, ProbationUntil: c.ProbationUntil,
	}
}

// newFlowID returns 128 random bits, base64url.
func newFlowID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// saveFlow stores a registration ceremony. The library's own expiry uses
// the wall clock; keyshift enforces expiry itself from the stored row
// (testable with an injected clock), so the session data carries none.
func (s *Service) saveFlow(ctx context.Context, kind, userID, sessionID string, sd *webauthn.SessionData, username bool, origin string) (string, error) {
	return s.saveFlowData(ctx, kind, userID, sessionID, sd, flowData{Username: username, Origin: origin})
}

// saveFlowData is saveFlow with the rest of the flow's data in fd.
func (s *Service) saveFlowData(ctx context.Context, kind, userID, sessionID string, sd *webauthn.SessionData, fd flowData) (string, error) {
	sd.Expires = time.Time{}
	fd.Session = *sd
	data, err := json.Marshal(fd)
	if err != nil {
		return "", err
	}
	now := s.now()
	f := &Flow{ID: newFlowID(), Kind: kind, UserID: userID, SessionID: sessionID, Data: data, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ChallengeTTL)}
	if err := s.ceremonies.CreateFlow(ctx, f); err != nil {
		return "", err
	}
	return f.ID, nil
}

// takeFlow consumes a stored ceremony: whatever happens next, its challenge
// can never be used again. Missing, finished and expired flows are all
// refused with code.
func (s *Service) takeFlow(ctx context.Context, id, kind string, code account.Code) (*Flow, *flowData, error) {
	if !validFlowID(id) {
		return nil, nil, unknownFlow(code, "no such ceremony")
	}
	f, err := s.ceremonies.TakeFlow(ctx, id, kind)
	if account.IsCode(err, account.ENotFound) {
		return nil, nil, unknownFlow(code, "ceremony unknown or already finished")
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(f.ExpiresAt) {
		return nil, nil, expiredFlow(code)
	}
	var fd flowData
	if err := json.Unmarshal(f.Data, &fd); err != nil {
		return nil, nil, fmt.Errorf("flow %s: %w", f.ID, err)
	}
	return f, &fd, nil
}

// sealLogin seals a new sign-in ceremony into its flowId. The library's
// expiry is cleared as in saveFlow: the sealed one counts.
func (s *Service) sealLogin(sd *webauthn.SessionData, username bool, origin string) (string, error) {
	sd.Expires = time.Time{}
	id := make([]byte, 16)
	rand.Read(id)
	now := s.now()
	return s.sealer.seal(&sealedFlow{ID: id, Expires: now.Add(s.cfg.ChallengeTTL).UnixMilli(),
		Data: flowData{Session: *sd, Username: username, Origin: origin}}, now)
}

// openLogin returns the sign-in ceremony sealed in flowID, refused with
// code when it does not open or has expired. It reads no database: whether
// the ceremony was finished already is for spendLogin to find out.
func (s *Service) openLogin(flowID string, code account.Code) (*sealedFlow, error) {
	f, err := s.sealer.open(flowID, s.now())
	if errors.Is(err, errUnsealable) {
		return nil, unknownFlow(code, "no such ceremony")
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(time.UnixMilli(f.Expires)) {
		return nil, expiredFlow(code)
	}
	return f, nil
}

// spendLogin uses the ceremony up in the transaction in ctx, refusing with
// code when it was used already — another request finished it, maybe at
// this instant — or has expired since it was opened.
func (s *Service) spendLogin(ctx context.Context, f *sealedFlow, code account.Code) error {
	expires := time.UnixMilli(f.Expires)
	if !s.now().Before(expires) {
		return expiredFlow(code)
	}
	fresh, err := s.ceremonies.SpendCeremony(ctx, f.ID, expires)
	if err != nil {
		return err
	}
	if !fresh {
		return unknownFlow(code, "ceremony unknown or already finished")
	}
	return nil
}

func unknownFlow(code account.Code, detail string) error {
	return &account.Error{Code: code, Reason: "unknown_flow", Detail: detail}
}

func expiredFlow(code account.Code) error {
	return &account.Error{Code: code, Reason: "expired", Detail: "ceremony expired"}
}

// validFlowID reports whether id could be one newFlowID made; anything else
// never reaches the database (PostgreSQL refuses NUL and invalid UTF-8).
func validFlowID(id string) bool {
	return id != "" && len(id) <= 64 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// cleanName checks a passkey name from a member: trimmed, 1–64 characters,
// no control characters.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	bad := &account.Error{Code: account.EInvalidRequest, Field: "name", Reason: "invalid_name", Detail: "a passkey name is 1 to 64 characters"}
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 {
		return "", bad
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", bad
		}
	}
	return name, nil
}

func (s *Service) event(ctx context.Context, e *account.Event, c account.Client) error {
	return s.audit.Record(ctx, e, c)
}
