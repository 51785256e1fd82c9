// Package userfile holds the documented file format in which keyshift
// imports and exports members (docs/import.md): JSON Lines, one member a
// line, or CSV with the same names for the flat fields. Binary values are
// base64url without padding; times are RFC 3339.
//
// The format is the contract between `keyshift export` and `keyshift
// import`: a file one writes, the other reads back into the same accounts.
package userfile

import "time"

// Row is one member as the file holds them. Fields a file leaves out are
// zero; which of them a row must have is decided by the importer.
type Row struct {
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	ExternalID    string     `json:"external_id,omitempty"`
	Name          string     `json:"name,omitempty"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	// PasswordHash is the hash as the old system stored it, or as keyshift
	// stores it on export. PasswordFormat names its format; it may be empty
	// when the hash's prefix tells (see internal/password/legacy).
	PasswordHash   string `json:"password_hash,omitempty"`
	PasswordFormat string `json:"password_format,omitempty"`
	// PasswordSalt is for formats whose systems keep the salt apart from
	// the hash (Firebase scrypt, salted hex digests). Empty otherwise, and
	// always empty on export: keyshift stores such hashes self-contained.
	PasswordSalt string    `json:"password_salt,omitempty"`
	Passkeys     []Passkey `json:"passkeys,omitempty"`
}

// Passkey is one WebAuthn credential of a member.
type Passkey struct {
	CredentialID   string     `json:"credential_id"` // base64url
	PublicKey      string     `json:"public_key"`    // COSE key, base64url
	SignCount      uint32     `json:"sign_count"`
	AAGUID         string     `json:"aaguid,omitempty"` // UUID text form
	Transports     []string   `json:"transports,omitempty"`
	UserHandle     string     `json:"user_handle,omitempty"` // base64url
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	Name           string     `json:"name,omitempty"`
	Attachment     string     `json:"attachment,omitempty"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
}
