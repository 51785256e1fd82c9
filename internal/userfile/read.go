package userfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is a file layout: JSON Lines or CSV.
type Format string

// The formats a file can have.
const (
	JSONLines Format = "jsonl"
	CSV       Format = "csv"
)

// FormatOf returns the format named by name ("jsonl", "ndjson", "json",
// "csv", any case) or, when name is empty, the one path's extension tells.
func FormatOf(name, path string) (Format, error) {
	if name == "" {
		ext := strings.ToLower(filepath.Ext(path))
		if ext == "" {
			return "", fmt.Errorf("cannot tell the format of %s from its name: give --format jsonl or --format csv", filepath.Base(path))
		}
		name = ext[1:]
	}
	switch strings.ToLower(name) {
	case "jsonl", "ndjson", "json":
		return JSONLines, nil
	case "csv":
		return CSV, nil
	}
	return "", fmt.Errorf("unknown format %q: want jsonl (also ndjson, json) or csv", name)
}

// DefaultMaxLine bounds one line of a file: far above any real member (a
// row with a dozen passkeys is a few kilobytes) and small enough that a
// file that is not line-oriented cannot make the reader hold it whole.
const DefaultMaxLine = 1 << 20

// Record is one row read from a file.
type Record struct {
	Row Row
	// Line is the row's line number, from 1.
	Line int
	// Offset is the byte offset just past the row's line: where reading
	// resumes to continue after it.
	Offset int64
	// Raw is the row's text as in the file, for a reject report. It is
	// valid until the next call of Next. Start is where it begins in the
	// file, so a caller can read it again later instead of keeping it.
	Raw   []byte
	Start int64
}

// RowError is a row that could not be read. It spoils only its own line:
// Next goes on with the next one.
type RowError struct {
	Line   int
	Offset int64 // past the line, as Record.Offset
	// Reason is a stable code: "malformed_row", "unknown_field" or
	// "line_too_long".
	Reason  string
	Message string
	// Raw is the line's text (nil when it was too long to keep); valid
	// until the next call of Next.
	Raw []byte
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Reasons a row cannot be read.
const (
	ReasonMalformed    = "malformed_row"
	ReasonUnknownField = "unknown_field"
	ReasonLineTooLong  = "line_too_long"
)

// Options tune a Reader.
type Options struct {
	// MaxLine bounds a line in bytes; 0 means DefaultMaxLine.
	MaxLine int
	// Offset and Line start reading after a row read before (Record.Offset
	// and Record.Line of the last row done), to resume. The reader must
	// then be an io.Seeker: for CSV the header is read from the start first.
	Offset int64
	Line   int
}

// Reader reads rows one at a time, holding at most one line in memory.
type Reader struct {
	format  Format
	br      *bufio.Reader
	max     int
	line    int
	offset  int64
	start   int64 // where the last line's text begins
	long    []byte
	columns []column // CSV only
	fields  [][]byte // CSV scratch
}

// NewReader returns a reader of r in format f. For CSV it reads the header
// line now and fails when a column is unknown, repeated or email is missing:
// every row would be wrong.
func NewReader(r io.Reader, f Format, opts Options) (*Reader, error) {
	if f != JSONLines && f != CSV {
		return nil, fmt.Errorf("userfile: unknown format %q", f)
	}
	rd := &Reader{format: f, br: bufio.NewReaderSize(r, 64<<10), max: opts.MaxLine}
	if rd.max <= 0 {
		rd.max = DefaultMaxLine
	}
	if f == CSV {
		if err := rd.readHeader(); err != nil {
			return nil, err
		}
	}
	if opts.Offset > 0 && opts.Offset != rd.offset {
		s, ok := r.(io.Seeker)
		if !ok {
			return nil, errors.New("userfile: resuming needs a file that can seek")
		}
		if opts.Offset < rd.offset {
			return nil, fmt.Errorf("userfile: resume offset %d is inside the header", opts.Offset)
		}
		if _, err := s.Seek(opts.Offset, io.SeekStart); err != nil {
			return nil, err
		}
		rd.br.Reset(r)
		rd.offset, rd.line = opts.Offset, opts.Line
	}
	return rd, nil
}

// Next returns the next row. At the end of the file it returns io.EOF. A
// row that cannot be read is a *RowError, and the next call reads on; any
// other error (reading the file) ends the stream.
func (r *Reader) Next() (*Record, error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if tooLong {
			return nil, &RowError{Line: r.line, Offset: r.offset, Reason: ReasonLineTooLong,
				Message: fmt.Sprintf("the line is longer than %d bytes", r.max)}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines separate nothing and are skipped
		}
		if !utf8.Valid(line) {
			// Decoders would replace the bad bytes with U+FFFD and so merge
			// distinct legacy addresses into one: the row is refused whole.
			return nil, &RowError{Line: r.line, Offset: r.offset, Reason: ReasonMalformed,
				Message: "the line is not valid UTF-8", Raw: line}
		}
		rec := &Record{Line: r.line, Offset: r.offset, Raw: line, Start: r.start}
		var reason, msg string
		if r.format == JSONLines {
			reason, msg = decodeJSON(line, &rec.Row)
		} else {
			reason, msg = r.decodeCSV(line, &rec.Row)
		}
		if reason != "" {
			return nil, &RowError{Line: r.line, Offset: r.offset, Reason: reason, Message: msg, Raw: line}
		}
		return rec, nil
	}
}

// readLine returns the next line without its line break; tooLong when it
// passed the bound (its bytes are skipped). io.EOF only when nothing is left.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.long = r.long[:0]
	n := 0
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(r.long)+len(chunk) > r.max+2 { // +2: the line break is not content
				tooLong, r.long = true, r.long[:0]
			} else {
				r.long = append(r.long, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if n == 0 {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		break
	}
	start := r.offset
	r.start = start
	r.line++
	r.offset += int64(n)
	if tooLong {
		return nil, true, nil
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(r.long, []byte("\n")), []byte("\r"))
	if start == 0 && bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
		line = line[3:] // a byte-order mark some editors write
		r.start += 3
	}
	if len(line) > r.max {
		return nil, true, nil
	}
	return line, false, nil
}

// decodeJSON decodes one JSON Lines row strictly: one object, known names.
// A misspelt name ("pasword_hash") would otherwise import a member without
// their password.
func decodeJSON(line []byte, row *Row) (reason, msg string) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(row); err != nil {
		return jsonReason(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ReasonMalformed, "more than one JSON value on the line"
	}
	return "", ""
}

func jsonReason(err error) (reason, msg string) {
	s := err.Error()
	if strings.HasPrefix(s, "json: unknown field ") {
		return ReasonUnknownField, strings.TrimPrefix(s, "json: ")
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		return ReasonMalformed, "a time is not RFC 3339 (2006-01-02T15:04:05Z): " + te.Value
	}
	return ReasonMalformed, strings.TrimPrefix(s, "json: ")
}
