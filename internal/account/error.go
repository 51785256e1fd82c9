package account

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, snake_case error code. Codes are part of the public API
// (the "error.code" field of every error answer) and pages switch on them, so
// a code never changes meaning once released.
type Code string

// The error codes keyshift answers with. The HTTP status for each lives in one
// table in package web; the words a person reads live in the message catalog.
const (
	EInvalidRequest Code = "invalid_request" // malformed body, wrong types, unknown content type
	EBodyTooLarge   Code = "body_too_large"  // request body over the limit
	EInvalidEmail   Code = "invalid_email"   // not an address we can deliver to
	EWeakPassword   Code = "weak_password"   // fails the NIST 800-63B checks; Reason tells which
	EEmailTaken     Code = "email_taken"     // sign-up for an address that already has an account
	ESignupClosed   Code = "signup_closed"   // the operator closed sign-up (signup.open: false)
	// EPasswordSignupDisabled: new accounts are made by passkey or email
	// only (signup.methods without "password").
	EPasswordSignupDisabled Code = "password_signup_disabled"
	EInvalidCredentials     Code = "invalid_credentials" // wrong email or password: never says which
	EUnauthenticated        Code = "unauthenticated"     // no valid session
	ENotFound               Code = "not_found"           // the thing does not exist (or is not the caller's)
	EPasskeyExists          Code = "passkey_exists"      // that credential id is registered already
	EPasskeyRejected        Code = "passkey_rejected"    // a passkey assertion failed verification
	EInvalidCode            Code = "invalid_code"        // an email sign-in link or code that is unknown, used, expired or wrong: never says which
	EInvalidCredential      Code = "invalid_credential"  // a malformed or unverifiable WebAuthn credential
	EReauthRequired         Code = "reauth_required"     // the action needs a recent sign-in or step-up
	EWrongPassword          Code = "wrong_password"      // the current password given to change it is wrong
	EPasskeyRequired        Code = "passkey_required"    // removing the password needs a passkey on the account
	EThrottled              Code = "too_many_attempts"   // per-account or per-IP back-off in force
	EBusy                   Code = "server_busy"         // hashing slots exhausted; try again shortly
	ECrossOrigin            Code = "cross_origin"        // state-changing request from another origin
	EMethodNotAllowed       Code = "method_not_allowed"  // route exists, method does not
	EInternal               Code = "internal"            // a bug or an outage; details only in the log
)

// Codes too long for the table above, in a block of their own so its
// alignment stays untouched and additions do not rewrite its lines.
const (
	// EEmailVerified answers a request for a confirmation mail for an
	// address that is verified already.
	EEmailVerified Code = "email_already_verified"
	// EEmailUnverified refuses what an account may do only once its
	// address is proven (changing it, making recovery codes): until then
	// the account may be a stranger's sign-up with someone else's address.
	EEmailUnverified Code = "email_unverified"
)

// EAdminRequired refuses the admin dashboard to a member without the
// admin role (`keyshift admin grant`).
const EAdminRequired Code = "admin_required"

// ECredentialOnProbation refuses a sensitive action (removing an older
// passkey, changing the email or the password, recovery codes, the export)
// to a session that a passkey on probation proved: one added through a
// weaker channel than the member's passkeys (docs/security.md,
// "Probation"). Error.Until says when the probation ends.
const ECredentialOnProbation Code = "credential_on_probation"

// EMisdirected answers a request whose Host is not the origin's host (a DNS
// rebinding page, or a proxy that does not pass Host on).
const EMisdirected Code = "misdirected_request"

// Error is keyshift's one error type: a stable Code for machines, an optional
// Reason refining it (e.g. weak_password/too_short), an optional Field the
// error concerns (for forms), and the wrapped cause, which is logged but
// never shown.
type Error struct {
	Code   Code
	Reason string
	Field  string
	// Detail is an English sentence for logs and for API clients when the
	// message catalog has nothing better.
	Detail string
	// RetryAfter is set on throttled and busy errors, in whole seconds.
	RetryAfter int
	// Name is what the member's message names, when it names something (a
	// passkey provider): the catalog's "….named" message takes it.
	Name string
	// Until is when a refusal ends, when it ends by itself at a known time
	// (credential_on_probation).
	Until time.Time
	// Unknown is set on a refused discoverable passkey sign-in whose
	// credential keyshift does not know (deleted, never registered, from
	// before a cutover): what the page hands to the browser's
	// signalUnknownCredential so the password manager stops offering it.
	Unknown *UnknownCredential
	Err     error
}

// UnknownCredential is the argument of WebAuthn's
// PublicKeyCredential.signalUnknownCredential (base64url credential id).
type UnknownCredential struct {
	RPID         string `json:"rpId"`
	CredentialID string `json:"credentialId"`
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Reason != "" {
		s += "/" + e.Reason
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal when err carries none.
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EInternal
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool {
	return err != nil && ErrorCode(err) == code
}

// Codes of the staged rollout.
const (
	// ENotInRollout answers a request for something the rollout does not
	// offer this member yet (adding a passkey, the nudge).
	ENotInRollout Code = "not_in_rollout"
	// EForceRequired answers a rollout change that takes members out of the
	// ramp or advances past a tripped guardrail without force; Reason says
	// which.
	EForceRequired Code = "force_required"
	// EInsufficientScope answers an admin token used outside its scopes.
	EInsufficientScope Code = "insufficient_scope"
	// ENameTaken answers a name (an admin token's) that is in use already.
	ENameTaken Code = "name_taken"
	// ENotReady answers "Go passwordless" while the account lacks what
	// retiring its password requires; Reason says what.
	ENotReady Code = "not_ready"
)
