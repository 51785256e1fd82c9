package userfile

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	enc  *json.Encoder // JSON Lines
	csv  *csv.Writer   // CSV
	rows int
}

// The formats a Writer can write; the names are those of `--format`.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// csvHeader is the CSV header keyshift writes: the flat fields of Row by
// their JSON names, then passkeys as the JSON array a JSON Lines row has.
// password_salt is left out: keyshift stores every hash self-contained.
var csvHeader = []string{"email", "email_verified", "external_id", "name", "created_at", "password_hash", "password_format", "passkeys"}

// NewWriter returns a Writer of format (FormatJSONL or FormatCSV) on w.
// Rows are buffered: call Flush after the last one.
func NewWriter(w io.Writer, format string) (*Writer, error) {
	buf := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case FormatJSONL:
		enc := json.NewEncoder(buf)
		// "<", ">" and "&" stay as they are: the file is data, never HTML.
		enc.SetEscapeHTML(false)
		return &Writer{buf: buf, enc: enc}, nil
	case FormatCSV:
		cw := csv.NewWriter(buf)
		if err := cw.Write(csvHeader); err != nil {
			return nil, err
		}
		return &Writer{buf: buf, csv: cw}, nil
	}
	return nil, fmt.Errorf("unknown export format %q (want %s or %s)", format, FormatJSONL, FormatCSV)
}

// Write writes one row: one line of JSON, or one CSV record.
func (w *Writer) Write(r *Row) error {
	var err error
	if w.csv != nil {
		err = w.writeCSV(r)
	} else {
		err = w.enc.Encode(r)
	}
	if err != nil {
		return err
	}
	w.rows++
	return nil
}

// writeCSV writes r as one record. The import reads a record from one line,
// so a field with a line break (only a name could have one) is refused here
// rather than written into a file that would not read back.
func (w *Writer) writeCSV(r *Row) error {
	if strings.ContainsAny(r.Name, "\r\n") || strings.ContainsAny(r.Email, "\r\n") || strings.ContainsAny(r.ExternalID, "\r\n") {
		return fmt.Errorf("member %q: a line break in a field cannot be written as CSV: export as jsonl", r.Email)
	}
	created := ""
	if r.CreatedAt != nil {
		created = r.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	passkeys := ""
	if len(r.Passkeys) > 0 {
		b, err := json.Marshal(r.Passkeys)
		if err != nil {
			return err
		}
		passkeys = string(b)
	}
	return w.csv.Write([]string{r.Email, strconv.FormatBool(r.EmailVerified), r.ExternalID, r.Name, created,
		r.PasswordHash, r.PasswordFormat, passkeys})
}

// Rows returns how many rows were written.
func (w *Writer) Rows() int { return w.rows }

// Flush writes out any buffered rows.
func (w *Writer) Flush() error {
	if w.csv != nil {
		if w.csv.Flush(); w.csv.Error() != nil {
			return w.csv.Error()
		}
	}
	return w.buf.Flush()
}
