package importer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/userfile"
)

// Reason codes of a rejected row, stable: they appear in the reject file
// and the summary, and docs/import.md lists them. The reader's own
// (malformed_row, unknown_field, line_too_long) come from package userfile.
const (
	ReasonInvalidEmail        = "invalid_email"
	ReasonInvalidField        = "invalid_field"
	ReasonUnknownHashFormat   = "unknown_hash_format"
	ReasonInvalidHash         = "invalid_hash"
	ReasonInvalidPasskey      = "invalid_passkey"
	ReasonUserHandleMismatch  = "user_handle_mismatch"
	ReasonDuplicateEmail      = "duplicate_email"
	ReasonDuplicateExternalID = "duplicate_external_id"
	ReasonDuplicatePasskey    = "duplicate_passkey"
	ReasonDuplicateUserHandle = "duplicate_user_handle"
	ReasonEmailTaken          = "email_taken"
	ReasonPasskeyTaken        = "passkey_taken"
	ReasonUserHandleTaken     = "user_handle_taken"
	// ReasonEmailUnverifiedConflict: an account made by sign-up has the
	// address and never proved it, so it may be a squatter's and is not
	// taken for the legacy member (docs/import.md).
	ReasonEmailUnverifiedConflict = "email_unverified_conflict"
)

// Limits on a row's fields.
const (
	maxExternalID   = 255 // bytes
	maxName         = 200 // characters
	maxPasskeyName  = 64  // characters, as a member may name one
	maxPasskeys     = 100 // per member
	maxCredentialID = 1023
	maxUserHandle   = 64 // WebAuthn L3 §5.4.3: user.id is at most 64 bytes
	handleLen       = 32 // a handle keyshift makes, as long as sign-up's
)

// knownTransports are the AuthenticatorTransport values of WebAuthn L3
// §5.8.4.
var knownTransports = []string{"usb", "nfc", "ble", "smart-card", "hybrid", "internal"}

// rowError is a row refused, with its stable reason.
type rowError struct {
	reason string
	msg    string
}

func (e *rowError) Error() string { return e.reason + ": " + e.msg }

func refuse(reason, format string, args ...any) *rowError {
	return &rowError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// member is a row turned into what keyshift stores. IDs are left for the
// writer: a row matched to an existing account needs none.
type member struct {
	user     account.User
	password *account.Credential // nil when the row has none
	format   legacy.Format
	weak     bool
	passkeys []account.Credential
	// handleGiven says the WebAuthn user handle came from the file (the
	// member's passkeys), not from keyshift.
	handleGiven bool
}

// validate turns a row into a member, without touching the database. now
// fills the times a row leaves out.
func validate(row *userfile.Row, opt legacy.Options, now time.Time) (*member, *rowError) {
	email, key, err := account.NormalizeEmail(row.Email)
	if err != nil {
		reason := "malformed"
		if e, ok := errors.AsType[*account.Error](err); ok {
			reason = e.Reason
		}
		return nil, refuse(ReasonInvalidEmail, "email is not a valid address (%s)", strings.ReplaceAll(reason, "_", " "))
	}
	m := &member{user: account.User{Email: email, EmailKey: key, EmailVerified: row.EmailVerified, CreatedAt: now, Origin: account.OriginImport}}
	if e := checkText("external_id", row.ExternalID, maxExternalID, false); e != nil {
		return nil, e
	}
	if e := checkText("name", row.Name, maxName, true); e != nil {
		return nil, e
	}
	m.user.ExternalID, m.user.Name = row.ExternalID, strings.TrimSpace(row.Name)
	if row.CreatedAt != nil {
		m.user.CreatedAt = row.CreatedAt.UTC()
	}
	m.user.UpdatedAt = m.user.CreatedAt
	if e := m.setPassword(row, opt); e != nil {
		return nil, e
	}
	if e := m.setPasskeys(row.Passkeys, now); e != nil {
		return nil, e
	}
	return m, nil
}

// checkText refuses text that is not valid UTF-8, too long, or holds control
// characters (names are shown on pages and in mail headers).
func checkText(field, s string, max int, chars bool) *rowError {
	n := len(s)
	if chars {
		n = utf8.RuneCountInString(s)
	}
	switch {
	case !utf8.ValidString(s):
		return refuse(ReasonInvalidField, "%s is not valid UTF-8", field)
	case n > max:
		unit := "bytes"
		if chars {
			unit = "characters"
		}
		return refuse(ReasonInvalidField, "%s is longer than %d %s", field, max, unit)
	case strings.ContainsFunc(s, unicode.IsControl):
		return refuse(ReasonInvalidField, "%s contains a control character", field)
	}
	return nil
}

// setPassword checks the row's hash with package legacy: the format given
// or told by the hash's prefix, composed with the row's salt into the one
// string keyshift stores. Nothing is hashed.
func (m *member) setPassword(row *userfile.Row, opt legacy.Options) *rowError {
	if row.PasswordHash == "" {
		if row.PasswordFormat != "" || row.PasswordSalt != "" {
			return refuse(ReasonInvalidHash, "password_format or password_salt without a password_hash")
		}
		return nil
	}
	var f legacy.Format
	var err error
	if row.PasswordFormat != "" {
		f, err = legacy.ParseFormat(row.PasswordFormat)
	} else {
		f, err = legacy.Detect(row.PasswordHash)
	}
	if err != nil {
		return refuse(ReasonUnknownHashFormat, "%s", strings.TrimPrefix(err.Error(), "legacy: "))
	}
	stored, err := legacy.Compose(f, row.PasswordHash, row.PasswordSalt, opt)
	if err != nil {
		return refuse(ReasonInvalidHash, "%s", strings.TrimPrefix(err.Error(), "legacy: "))
	}
	// Stored as text: PostgreSQL refuses NUL and invalid UTF-8, and one such
	// row would fail its whole batch.
	if !utf8.ValidString(stored) || strings.ContainsRune(stored, 0) {
		return refuse(ReasonInvalidHash, "the hash or salt is not UTF-8 text without NUL bytes")
	}
	m.format, m.weak = f, legacy.WeakHash(f, stored)
	m.password = &account.Credential{Type: account.CredentialPassword, PasswordHash: stored, PasswordFormat: string(f),
		CreatedAt: m.user.CreatedAt, UpdatedAt: m.user.CreatedAt}
	return nil
}

// setPasskeys decodes the member's passkeys. They must share one user
// handle: it becomes the account's WebAuthn user id, which the
// authenticator returns at every discoverable sign-in and which keyshift
// compares with the owner's (see internal/passkey). With none given,
// keyshift makes a random one, as at sign-up.
func (m *member) setPasskeys(ps []userfile.Passkey, now time.Time) *rowError {
	if len(ps) > maxPasskeys {
		return refuse(ReasonInvalidPasskey, "more than %d passkeys", maxPasskeys)
	}
	var handle []byte
	for i := range ps {
		c, e := decodePasskey(&ps[i], now)
		if e != nil {
			e.msg = fmt.Sprintf("passkey %d: %s", i+1, e.msg)
			return e
		}
		for _, other := range m.passkeys {
			if bytes.Equal(other.CredentialID, c.CredentialID) {
				return refuse(ReasonInvalidPasskey, "passkey %d: the same credential_id appears twice in the row", i+1)
			}
		}
		if c.UserHandle != nil {
			if handle != nil && !bytes.Equal(handle, c.UserHandle) {
				return refuse(ReasonUserHandleMismatch, "passkey %d: its user_handle differs from an earlier passkey's; "+
					"an account has one WebAuthn user handle", i+1)
			}
			handle = c.UserHandle
		}
		m.passkeys = append(m.passkeys, c)
	}
	if handle == nil {
		return nil // assignIDs makes one (newHandle)
	}
	m.handleGiven = true
	m.setHandle(handle)
	return nil
}

func decodePasskey(p *userfile.Passkey, now time.Time) (account.Credential, *rowError) {
	c := account.Credential{Type: account.CredentialWebAuthn, SignCount: p.SignCount,
		BackupEligible: p.BackupEligible, BackupState: p.BackupState, CreatedAt: now}
	var err error
	if c.CredentialID, err = decodeB64(p.CredentialID); err != nil || len(c.CredentialID) == 0 || len(c.CredentialID) > maxCredentialID {
		return c, refuse(ReasonInvalidPasskey, "credential_id is not 1 to %d bytes of base64url", maxCredentialID)
	}
	if c.PublicKey, err = decodeB64(p.PublicKey); err != nil || len(c.PublicKey) == 0 {
		return c, refuse(ReasonInvalidPasskey, "public_key is not base64url")
	}
	if _, err := webauthncose.ParsePublicKey(c.PublicKey); err != nil {
		return c, refuse(ReasonInvalidPasskey, "public_key is not a COSE public key keyshift can verify with (%v)", err)
	}
	if p.AAGUID != "" {
		if c.AAGUID, err = aaguid.Parse(p.AAGUID); err != nil {
			return c, refuse(ReasonInvalidPasskey, "aaguid is not a UUID (8-4-4-4-12 hexadecimal)")
		}
	}
	for _, t := range p.Transports {
		if !slices.Contains(knownTransports, t) {
			return c, refuse(ReasonInvalidPasskey, "transport %q is not one of %s", clip(t), strings.Join(knownTransports, ", "))
		}
		if !slices.Contains(c.Transports, t) {
			c.Transports = append(c.Transports, t)
		}
	}
	if p.UserHandle != "" {
		if c.UserHandle, err = decodeB64(p.UserHandle); err != nil || len(c.UserHandle) == 0 || len(c.UserHandle) > maxUserHandle {
			return c, refuse(ReasonInvalidPasskey, "user_handle is not 1 to %d bytes of base64url", maxUserHandle)
		}
	}
	if c.BackupState && !c.BackupEligible {
		// WebAuthn L3 §6.1.3: BS set with BE clear is invalid.
		return c, refuse(ReasonInvalidPasskey, "backup_state is true but backup_eligible is false")
	}
	switch p.Attachment {
	case "", "platform", "cross-platform":
		c.Attachment = p.Attachment
	default:
		return c, refuse(ReasonInvalidPasskey, "attachment %q is not platform or cross-platform", clip(p.Attachment))
	}
	if e := checkText("passkey name", p.Name, maxPasskeyName, true); e != nil {
		e.reason = ReasonInvalidPasskey
		return c, e
	}
	if c.Name = strings.TrimSpace(p.Name); c.Name == "" {
		// As registration names a new passkey: after its provider.
		if n, ok := aaguid.Lookup(c.AAGUID); ok {
			c.Name = n
		} else {
			c.Name = "Passkey"
		}
	}
	if p.CreatedAt != nil {
		c.CreatedAt = p.CreatedAt.UTC()
	}
	c.UpdatedAt = c.CreatedAt
	if p.LastUsedAt != nil {
		c.LastUsedAt = p.LastUsedAt.UTC()
	}
	return c, nil
}

// decodeB64 decodes base64url, with or without padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
