// Package account is the vocabulary of keyshift's domain: users, their
// credentials (password and passkeys), sessions, audit events, the client
// that asks, and the one coded Error; with the small helpers every flow
// shares — ids and tokens (Random), the audit log (Audit), throttle keys
// (Reserve, AttemptKeys) — and the one canonical form of an address
// (NormalizeEmail). The services that act on these live in their own
// packages (session, member, passwordauth, recovery, passkey, email/…).
// It knows nothing of HTTP or SQL.
package account

import (
	"time"
	"unicode/utf8"
)

// User is a member of the site.
type User struct {
	ID string
	// Email is the address in its canonical form (NormalizeEmail): the local
	// part as the member typed it, NFC, the domain in lower-case Unicode
	// form; it is where mail goes.
	Email string
	// EmailKey is Email with the ASCII letters of its local part in lower
	// case: the unique key that makes "Ada@Example.com" and
	// "ada@example.com" one account. An account the canonical_email_keys
	// migration could not key has "unkeyed:" and its id, which no address
	// produces (store.UnkeyedPrefix).
	EmailKey      string
	EmailVerified bool
	Name          string
	ExternalID    string
	// WebAuthnID is the WebAuthn user handle: random, never the email, so a
	// passkey reveals nothing about its owner.
	WebAuthnID []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Origin is how the account came to exist. An import takes an existing
	// account with the same address for its legacy member only when the
	// address was proven or the account came from an import itself: an
	// unverified sign-up may be a squatter's.
	Origin Origin
	// DeviceEpoch is in every device cookie the account's browsers carry; it
	// moves on at sign-out everywhere, a password change, an email-change
	// revert and a recovery-code sign-in, which so make every older device
	// cookie an untrusted browser again.
	DeviceEpoch int
	// RampSubject is what the rollout's percentage ramp places the member
	// by, kept from the moment the account was made from an address (a
	// sign-up, or the first email sign-in of an unknown address):
	// AddressRampSubject of that address, the subject the ramp placed the
	// visitor by. So the visitor the ramp offered a passkey sign-up is the
	// member it lets add the passkey, at every percentage; an email change
	// does not move it. Empty: the ramp places the member by ID (accounts
	// made before it was kept, and imported ones).
	RampSubject string

	// Derived when loaded, not stored with the user.
	HasPassword  bool
	PasskeyCount int
}

// Origin is how an account came to exist.
type Origin string

// The origins of accounts.
const (
	// OriginSignup: a password sign-up (POST /api/signup, /signup).
	OriginSignup Origin = "signup"
	// OriginEmail: the first email sign-in of an unknown address, which
	// proved the mailbox before the account existed.
	OriginEmail Origin = "email"
	// OriginImport: `keyshift import`.
	OriginImport Origin = "import"
)

// Valid reports whether o is one of the origins above.
func (o Origin) Valid() bool { return o == OriginSignup || o == OriginEmail || o == OriginImport }

// CredentialType is password or webauthn.
type CredentialType string

// The credential types of DESIGN.md point 1.
const (
	CredentialPassword CredentialType = "password"
	CredentialWebAuthn CredentialType = "webauthn"
)

// Credential is one way a member proves who they are. An account has at most
// one password credential and any number of webauthn ones (passkeys).
type Credential struct {
	ID     string
	UserID string
	Type   CredentialType

	// Password credentials.
	PasswordHash   string
	PasswordFormat string // "argon2id" for hashes keyshift made; legacy formats arrive with import

	// WebAuthn credentials.
	CredentialID   []byte
	PublicKey      []byte // COSE_Key
	SignCount      uint32
	AAGUID         []byte
	Transports     []string
	Attachment     string // "platform" | "cross-platform" | ""
	BackupEligible bool
	BackupState    bool
	UserHandle     []byte
	Name           string

	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt time.Time // zero when never used

	// ProbationUntil is when a passkey added through a weaker channel
	// comes off probation (zero: never on it); ProbationVia is the sign-in
	// method of the session that added it, and AddedSessionID that session
	// (docs/security.md, "Probation").
	ProbationUntil time.Time
	ProbationVia   AuthMethod
	AddedSessionID string
	// DisownHash is the SHA-256 of the token of the mailed "This wasn't
	// me" link of a passkey added on probation, usable until
	// DisownExpiresAt; written once, at creation, never read back.
	DisownHash      []byte
	DisownExpiresAt time.Time
}

// OnProbation reports whether the passkey is on probation at now.
func (c Credential) OnProbation(now time.Time) bool { return now.Before(c.ProbationUntil) }

// AuthMethod names how a session was authenticated.
type AuthMethod string

// The sign-in methods, as counted by telemetry (API.md, Metrics document).
const (
	MethodPassword           AuthMethod = "password"
	MethodSignup             AuthMethod = "signup"
	MethodPasskeyConditional AuthMethod = "passkey_conditional"
	MethodPasskeyModal       AuthMethod = "passkey_modal"
	MethodPasskeyUsername    AuthMethod = "passkey_username"
	MethodEmailLink          AuthMethod = "email_link"
	MethodEmailCode          AuthMethod = "email_code"
	MethodRecoveryCode       AuthMethod = "recovery_code"
	// MethodSupportRecovery: the completion link of a support recovery
	// (package support), mailed to the new address after the wait.
	MethodSupportRecovery AuthMethod = "support_recovery"
)

// IsWeaker reports whether m is a sign-in through a channel weaker than a
// passkey — an email link or code, a recovery code — which
// email_signin.passkey_accounts restricts for a member with a passkey.
func (m AuthMethod) IsWeaker() bool {
	return m == MethodEmailLink || m == MethodEmailCode || m == MethodRecoveryCode || m == MethodSupportRecovery
}

// IsPasskey reports whether m is one of the passkey methods.
func (m AuthMethod) IsPasskey() bool {
	return m == MethodPasskeyConditional || m == MethodPasskeyModal || m == MethodPasskeyUsername
}

// Session is a signed-in browser. Only the SHA-256 of its token is stored.
type Session struct {
	ID              string
	TokenHash       []byte
	UserID          string
	AuthMethod      AuthMethod
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	LastSeenAt      time.Time
	// ExpiresAt is the absolute end; the idle end is LastSeenAt + idle timeout.
	ExpiresAt time.Time
	// SteppedUpAt is the session's last step-up (zero when none) and
	// SteppedUpMethod the proof it took (a passkey, the password or an
	// email code): sensitive actions weigh them with AuthMethod and
	// AuthenticatedAt (SessionWithUser.RequireFresh).
	SteppedUpAt     time.Time
	SteppedUpMethod AuthMethod
	// SigninPasskey and SteppedUpPasskey are the passkeys (credential row
	// ids) that proved the sign-in and the last step-up; empty for other
	// proofs.
	SigninPasskey    string
	SteppedUpPasskey string
	// NudgedAt is when the rollout's enrollment nudge was shown in this
	// session (zero when never): once a session at most.
	NudgedAt  time.Time
	UserAgent string
	IP        string
}

// DefaultReauthWindow is how recent a session's sign-in or step-up must be
// for a sensitive action when nothing else is set (passkey.reauth_window).
const DefaultReauthWindow = 5 * time.Minute

// Action names a sensitive action: what RequireFresh guards.
type Action string

// The sensitive actions (docs/security.md, "Step-up").
const (
	// ActionAddPasskey is the one action any recent proof allows, also a
	// weaker one than the member's passkeys (an email link after a lost
	// device): a member who lost every device must be able to enrol a new
	// one, or they are locked out.
	ActionAddPasskey     Action = "add_passkey"
	ActionRemovePasskey  Action = "remove_passkey"
	ActionChangeEmail    Action = "change_email"
	ActionChangePassword Action = "change_password"
	ActionRemovePassword Action = "remove_password"
	// ActionRetirePassword is consent to retire the password ("Go
	// passwordless").
	ActionRetirePassword Action = "retire_password"
	ActionRecoveryCodes  Action = "recovery_codes"
	ActionExport         Action = "export"
	// ActionGrantAdmin is reserved for granting admin rights to a member
	// once that exists over the API; today only `keyshift admin` (an
	// operator at the server's shell) grants them.
	ActionGrantAdmin Action = "grant_admin"
)

// proof is one way a session proved its member present, and when; until
// is when the passkey that made it comes off probation (zero: not on it).
type proof struct {
	method AuthMethod
	at     time.Time
	until  time.Time
}

// proofs are the session's sign-in and its last step-up (if any).
func (s Session) proofs() []proof {
	return s.proofsOnProbation(time.Time{}, time.Time{})
}

// proofsOnProbation are proofs with the probation ends of their passkeys.
func (s Session) proofsOnProbation(signin, stepUp time.Time) []proof {
	p := []proof{{s.AuthMethod, s.AuthenticatedAt, signin}}
	if !s.SteppedUpAt.IsZero() {
		p = append(p, proof{s.SteppedUpMethod, s.SteppedUpAt, stepUp})
	}
	return p
}

// LastProof is the session's latest proof of its member's presence, of
// any kind — its sign-in or a later step-up — and how it was made: what an
// OpenID Connect app is told as auth_time and amr.
func (s Session) LastProof() (AuthMethod, time.Time) {
	last := proof{}
	for _, p := range s.proofs() {
		if !p.at.Before(last.at) {
			last = p
		}
	}
	return last.method, last.at
}

// Counts reports whether a proof by method m is strong enough for action a
// of a member who holds passkeys (hasPasskey) or not: for a member with a
// passkey, only one of their passkeys counts — an email link, a code or a
// password is the weaker channel a thief would use — except for adding a
// passkey. For a member without one, every way in is what they have.
func (a Action) Counts(m AuthMethod, hasPasskey bool) bool {
	return a == ActionAddPasskey || !hasPasskey || m.IsPasskey()
}

// FreshAt returns when this session last proved its member present in a
// way that counts for action a (Action.Counts); zero when none does. It
// leaves probation out (FreshAtOn weighs it).
func (sw SessionWithUser) FreshAt(a Action) time.Time {
	at, _ := sw.freshAt(a, time.Time{})
	return at
}

// freshAt is FreshAt at now: a proof by a passkey on probation at now
// counts only for adding a passkey (docs/security.md, "Probation"). It
// also returns the latest probation end among the proofs that would have
// counted but for it, and when the latest of those was made.
func (sw SessionWithUser) freshAt(a Action, now time.Time) (at time.Time, held proof) {
	for _, p := range sw.Session.proofsOnProbation(sw.SigninProbation, sw.StepUpProbation) {
		if !a.Counts(p.method, sw.User.PasskeyCount > 0) {
			continue
		}
		if a != ActionAddPasskey && now.Before(p.until) {
			if p.at.After(held.at) {
				held.at = p.at
			}
			if p.until.After(held.until) {
				held.until = p.until
			}
			continue
		}
		if p.at.After(at) {
			at = p.at
		}
	}
	return at, held
}

// ProvenByOwnPasskey reports whether one of the member's passkeys that is
// not on probation proved the session (sign-in or step-up) within window
// of now: whether it may do every sensitive action. A passkey it adds is
// on probation otherwise (package passkey).
func (sw SessionWithUser) ProvenByOwnPasskey(now time.Time, window time.Duration) bool {
	at, _ := sw.freshAt(ActionRemovePasskey, now)
	return sw.User.PasskeyCount > 0 && now.Sub(at) <= window
}

// OnProbation reports whether a passkey on probation proved the session
// (its sign-in or step-up) and, if so, when the latest such probation ends.
func (sw SessionWithUser) OnProbation(now time.Time) (time.Time, bool) {
	_, held := sw.freshAt(ActionRemovePasskey, now)
	return held.until, !held.until.IsZero()
}

// RequireFresh is the one gate of sensitive actions (the Action values):
// each domain method that does one calls it first, so no way in can forget
// it. It refuses, with EReauthRequired, a session whose last proof that
// counts for a (FreshAt) is more than window before now; a step-up (POST
// /api/reauth/finish) opens the window again without a new sign-in. For a
// member with a passkey only a passkey sign-in or step-up counts (reason
// "passkey" when the session has a recent proof that does not), except
// for adding a passkey.
//
// A proof by a passkey on probation (one added through a weaker channel,
// for email_signin.probation) counts only for adding a passkey: for the
// other actions a session whose only recent proofs are such is refused
// with ECredentialOnProbation and the time the probation ends, so a thief
// who signed in by email and added their own passkey cannot step up with
// it to take the account over (docs/security.md, T29).
func (sw SessionWithUser) RequireFresh(now time.Time, window time.Duration, a Action) error {
	at, held := sw.freshAt(a, now)
	if now.Sub(at) <= window {
		return nil
	}
	if !held.until.IsZero() && now.Sub(held.at) <= window {
		return &Error{Code: ECredentialOnProbation, Until: held.until,
			Detail: "this session was proven by a passkey on probation until " + held.until.UTC().Format(time.RFC3339)}
	}
	e := &Error{Code: EReauthRequired, Detail: "sign in again to confirm"}
	if sw.User.PasskeyCount > 0 && now.Sub(sw.FreshAt(ActionAddPasskey)) <= window {
		e.Reason, e.Detail = "passkey", "confirm with one of your passkeys"
	}
	return e
}

// SessionWithUser is what validating a session token yields: the session and
// its user, loaded together in one query.
type SessionWithUser struct {
	Session Session
	User    User
	// SigninProbation and StepUpProbation are when the passkeys that
	// proved the session's sign-in and step-up come off probation (zero
	// when not on it, or no passkey proved them), loaded with the session.
	SigninProbation time.Time
	StepUpProbation time.Time
}

// Event is one row of the append-only audit log. Later features (passkeys,
// rollout, recovery) write their own types; telemetry reads them back.
type Event struct {
	ID        int64
	At        time.Time
	Type      string
	UserID    string
	SessionID string
	Method    string
	Outcome   string
	IP        string
	UserAgent string
	// Data holds type-specific details as JSON; never secrets.
	Data map[string]any
	// Subject is the member UserID names, as the flow that writes the
	// event loaded them, when it has them at hand; it is not stored. An
	// Observer (telemetry) reads what it needs from it instead of asking
	// the database again inside the flow's transaction. A flow that changed
	// what the member holds since loading them leaves it nil.
	Subject *User
}

// MaxUserAgent is the most of a User-Agent header, in bytes, that an event
// or a session keeps: the header is the client's to choose, its length too.
const MaxUserAgent = 512

// KeptUserAgent is c's User-Agent as events and sessions keep it: at most
// MaxUserAgent bytes, cut before a character that would not fit whole.
func (c Client) KeptUserAgent() string {
	s, n := c.UserAgent, MaxUserAgent
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Stamp sets when e happened and who caused it (c's IP and kept
// User-Agent), and returns e: every package that writes events stamps them
// here, so none keeps more of a header than another.
func (e *Event) Stamp(at time.Time, c Client) *Event {
	e.At, e.IP, e.UserAgent = at, c.IP, c.KeptUserAgent()
	return e
}

// Event types written by this package.
const (
	EventSignup         = "signup"
	EventSignin         = "signin"
	EventSignout        = "signout"
	EventSessionRevoked = "session_revoked"
	EventRehash         = "password_rehashed"
	EventPasskeyAdded   = "passkey_added"
	EventPasskeyRemoved = "passkey_removed"
	EventPasskeyRenamed = "passkey_renamed"
	// EventPasskeyDisowned records a passkey on probation removed by "This
	// wasn't me" (Data "from": link or banner, "sessionsEnded").
	EventPasskeyDisowned = "passkey_disowned"
	// EventPasskeyRegisterError records a browser's refusal to create a
	// passkey (InvalidStateError: one exists on that device already).
	EventPasskeyRegisterError = "passkey_register_error"
	// EventPasskeyCloneWarning records a sign-count regression: two copies
	// of one private key may exist. The sign-in is refused.
	EventPasskeyCloneWarning = "passkey_clone_warning"
	// EventPasswordChanged records a password set or replaced by its
	// member (Data "set": true when the account had none).
	EventPasswordChanged = "password_changed"
	// EventReauth is a step-up (POST /api/reauth/finish), its Method the
	// proof used and its Outcome whether it held.
	EventReauth = "reauth"
	// EventPasswordRemoved records a password deleted by its member.
	EventPasswordRemoved = "password_removed"
	// EventPasswordRetired records a password the rollout retired, as its
	// member asked ("Go passwordless").
	EventPasswordRetired = "password_retired"
	// EventRecoveryCodesGenerated records a new set of recovery codes
	// (Data "count"); the old set is void.
	EventRecoveryCodesGenerated = "recovery_codes_generated"
)

// Outcomes of an attempt.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)
