package userfile

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// FromAccount returns the row of a member: user u, their password
// credential pw (nil when they have none) and their passkeys. The password
// hash and format go out exactly as stored. A passkey's user handle is the
// one it was imported with, else the member's WebAuthn user id, which is
// what keyshift gave the authenticator when the passkey was registered here.
func FromAccount(u account.User, pw *account.Credential, passkeys []account.Credential) (Row, error) {
	r := Row{
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
		ExternalID:    u.ExternalID,
		Name:          u.Name,
		CreatedAt:     utc(u.CreatedAt),
	}
	if pw != nil {
		r.PasswordHash, r.PasswordFormat = pw.PasswordHash, pw.PasswordFormat
	}
	for _, c := range passkeys {
		p := Passkey{
			CredentialID:   b64(c.CredentialID),
			PublicKey:      b64(c.PublicKey),
			SignCount:      c.SignCount,
			Transports:     c.Transports,
			UserHandle:     b64(c.UserHandle),
			BackupEligible: c.BackupEligible,
			BackupState:    c.BackupState,
			Name:           c.Name,
			Attachment:     c.Attachment,
			CreatedAt:      utc(c.CreatedAt),
			LastUsedAt:     utc(c.LastUsedAt),
		}
		if len(c.UserHandle) == 0 {
			p.UserHandle = b64(u.WebAuthnID)
		}
		switch len(c.AAGUID) {
		case 0:
		case 16:
			p.AAGUID = uuid(c.AAGUID)
		default:
			return Row{}, fmt.Errorf("member %s: passkey %s: stored AAGUID has %d bytes, not 16", u.Email, p.CredentialID, len(c.AAGUID))
		}
		r.Passkeys = append(r.Passkeys, p)
	}
	return r, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// utc returns t in UTC, or nil for the zero time (a field left out).
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// uuid formats 16 bytes in the UUID text form, 8-4-4-4-12 lower-case hex.
func uuid(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Writer writes rows to a file in one of the documented formats.
type Writer struct {
	buf  *bufio.Writer
	enc  *json.Encoder
	rows int
}

// Formats a Writer can write.
const (
	FormatJSONL = "jsonl"
)

// NewWriter returns a Writer of format (FormatJSONL) on w. Rows are
// buffered: call Flush after the last one.
func NewWriter(w io.Writer, format string) (*Writer, error) {
	if format != FormatJSONL {
		return nil, fmt.Errorf("unknown export format %q (want %s)", format, FormatJSONL)
	}
	buf := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(buf)
	// "<", ">" and "&" stay as they are: the file is data, never HTML.
	enc.SetEscapeHTML(false)
	return &Writer{buf: buf, enc: enc}, nil
}

// Write writes one row: one line of JSON.
func (w *Writer) Write(r *Row) error {
	if err := w.enc.Encode(r); err != nil {
		return err
	}
	w.rows++
	return nil
}

// Rows returns how many rows were written.
func (w *Writer) Rows() int { return w.rows }

// Flush writes out any buffered rows.
func (w *Writer) Flush() error { return w.buf.Flush() }
