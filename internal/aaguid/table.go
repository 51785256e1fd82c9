package aaguid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseTable reads a JSON object mapping canonical AAGUID strings to
// provider names. It returns every entry it could read, and every problem
// it found joined into one error: a key that is not a canonical lower-case
// AAGUID or is all zeros, a name that is empty or has surrounding space, an
// AAGUID named twice, a value that is not a string, or a document that is
// not one JSON object.
func parseTable(data []byte) (map[[size]byte]string, error) {
	m := make(map[[size]byte]string, 256)
	var problems []error
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return m, fmt.Errorf("aaguid table: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m, errors.Join(append(problems, fmt.Errorf("aaguid table: %w", err))...)
		}
		key, ok := tok.(string)
		if !ok { // the decoder reports a syntax error first; this keeps it so
			return m, errors.Join(append(problems, fmt.Errorf("aaguid table: key %v is not a string", tok))...)
		}
		var name string
		if err := dec.Decode(&name); err != nil {
			return m, errors.Join(append(problems, fmt.Errorf("aaguid table: %q: value is not a string: %w", key, err))...)
		}
		if err := addEntry(m, key, name); err != nil {
			problems = append(problems, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		problems = append(problems, fmt.Errorf("aaguid table: %w", err))
	} else if _, err := dec.Token(); err != io.EOF {
		problems = append(problems, errors.New("aaguid table: data after the object"))
	}
	return m, errors.Join(problems...)
}

// addEntry checks one entry of the table and adds it to m.
func addEntry(m map[[size]byte]string, key, name string) error {
	b, err := parse(key)
	switch {
	case err != nil:
		return fmt.Errorf("aaguid table: %q: %w", key, err)
	case Format(b[:]) != key:
		return fmt.Errorf("aaguid table: %q: not lower case", key)
	case b == [size]byte{}:
		return fmt.Errorf("aaguid table: %q: the all-zero AAGUID names no provider", key)
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("aaguid table: %q: empty name", key)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("aaguid table: %q: name %q has surrounding space", key, name)
	}
	if prev, dup := m[b]; dup {
		return fmt.Errorf("aaguid table: %q: named twice (%q and %q)", key, prev, name)
	}
	m[b] = name
	return nil
}
