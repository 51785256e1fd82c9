package userfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// CSV files have a header line naming their columns, in any order, with the
// names of Row's JSON fields: email (required), email_verified, external_id,
// name, created_at, password_hash, password_format, password_salt and
// passkeys. The passkeys column holds the JSON array a JSON Lines row would
// have (empty for none), quoted as CSV quotes any field with commas or
// quotes. email_verified is true/false (also 1/0, yes/no; empty is false).
//
// Each record is one line: a line break inside a quoted field is not
// accepted. Nothing keyshift stores can contain one (names and JSON arrays
// cannot), and it keeps a stray quote from swallowing the lines after it.

// column is one CSV column: its name and where it goes in a Row.
type column struct {
	name string
	set  func(row *Row, v string) error
}

var csvColumns = []column{
	{"email", func(r *Row, v string) error { r.Email = v; return nil }},
	{"email_verified", func(r *Row, v string) (err error) { r.EmailVerified, err = parseBool(v); return err }},
	{"external_id", func(r *Row, v string) error { r.ExternalID = v; return nil }},
	{"name", func(r *Row, v string) error { r.Name = v; return nil }},
	{"created_at", func(r *Row, v string) (err error) { r.CreatedAt, err = parseTime(v); return err }},
	{"password_hash", func(r *Row, v string) error { r.PasswordHash = v; return nil }},
	{"password_format", func(r *Row, v string) error { r.PasswordFormat = v; return nil }},
	{"password_salt", func(r *Row, v string) error { r.PasswordSalt = v; return nil }},
	{"passkeys", setPasskeys},
}

// CSVColumns returns the column names a CSV file may have, in the order
// keyshift writes them.
func CSVColumns() []string {
	out := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		out[i] = c.name
	}
	return out
}

// HeaderError is a CSV header keyshift cannot read: nothing in the file can
// be imported.
type HeaderError struct{ Message string }

func (e *HeaderError) Error() string { return "CSV header: " + e.Message }

func (r *Reader) readHeader() error {
	line, tooLong, err := r.readLine()
	switch {
	case errors.Is(err, io.EOF):
		return &HeaderError{"the file is empty"}
	case err != nil:
		return err
	case tooLong:
		return &HeaderError{"the first line is too long to be a header"}
	}
	fields, err := splitCSV(line, nil)
	if err != nil {
		return &HeaderError{err.Error()}
	}
	seen := map[string]bool{}
	for _, f := range fields {
		name := strings.ToLower(strings.TrimSpace(string(f)))
		i := columnIndex(name)
		switch {
		case i < 0:
			return &HeaderError{fmt.Sprintf("unknown column %q (known: %s)", name, strings.Join(CSVColumns(), ", "))}
		case seen[name]:
			return &HeaderError{fmt.Sprintf("column %q appears twice", name)}
		}
		seen[name] = true
		r.columns = append(r.columns, csvColumns[i])
	}
	if !seen["email"] {
		return &HeaderError{"there is no email column"}
	}
	return nil
}

func columnIndex(name string) int {
	for i, c := range csvColumns {
		if c.name == name {
			return i
		}
	}
	return -1
}

func (r *Reader) decodeCSV(line []byte, row *Row) (reason, msg string) {
	var err error
	r.fields, err = splitCSV(line, r.fields[:0])
	if err != nil {
		return ReasonMalformed, err.Error()
	}
	if len(r.fields) != len(r.columns) {
		return ReasonMalformed, fmt.Sprintf("%d fields where the header has %d columns", len(r.fields), len(r.columns))
	}
	for i, c := range r.columns {
		if err := c.set(row, string(r.fields[i])); err != nil {
			var ue unknownFieldError
			if errors.As(err, &ue) {
				return ReasonUnknownField, c.name + ": " + ue.msg
			}
			return ReasonMalformed, c.name + ": " + err.Error()
		}
	}
	return "", ""
}

// splitCSV splits one CSV record (RFC 4180: comma-separated, fields that
// contain commas or quotes are quoted and double their quotes) into out.
// The fields are slices of line or of fresh memory where quotes were
// undoubled.
func splitCSV(line []byte, out [][]byte) ([][]byte, error) {
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			field, n, err := quotedField(line[i+1:])
			if err != nil {
				return nil, fmt.Errorf("field %d: %w", len(out)+1, err)
			}
			out = append(out, field)
			i += 1 + n
			if i == len(line) {
				return out, nil
			}
			if line[i] != ',' {
				return nil, fmt.Errorf("field %d: text after a closing quote", len(out))
			}
			i++
			continue
		}
		end := bytes.IndexByte(line[i:], ',')
		if end < 0 {
			end = len(line) - i
		}
		field := line[i : i+end]
		if bytes.IndexByte(field, '"') >= 0 {
			return nil, fmt.Errorf("field %d: a quote inside a field that does not start with one", len(out)+1)
		}
		out = append(out, field)
		i += end
		if i == len(line) {
			return out, nil
		}
		i++ // the comma
	}
}

// quotedField reads a quoted field's content from s (just past its opening
// quote) and returns it and how many bytes of s it took, closing quote
// included.
func quotedField(s []byte) ([]byte, int, error) {
	var b []byte
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b = append(b, s[start:i+1]...)
			i++
			start = i + 1
			continue
		}
		if b == nil {
			return s[:i], i + 1, nil
		}
		return append(b, s[start:i]...), i + 1, nil
	}
	return nil, 0, errors.New("a quoted field is not closed on its line")
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseTime(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, fmt.Errorf("%q is not an RFC 3339 time (2006-01-02T15:04:05Z)", v)
	}
	return &t, nil
}

type unknownFieldError struct{ msg string }

func (e unknownFieldError) Error() string { return e.msg }

func setPasskeys(r *Row, v string) error {
	if strings.TrimSpace(v) == "" {
		r.Passkeys = nil
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.Passkeys); err != nil {
		reason, msg := jsonReason(err)
		if reason == ReasonUnknownField {
			return unknownFieldError{msg}
		}
		return errors.New(msg)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	return nil
}
