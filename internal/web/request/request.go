// Package request reads what a client sends keyshift: bounded JSON bodies
// for the API and bounded urlencoded forms for the pages, refusing anything
// malformed with a coded error (invalid_request, body_too_large) before a
// handler sees it.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
)

// MaxBodyBytes is the largest request body keyshift reads (API.md: 64 KiB).
const MaxBodyBytes = 64 << 10

// BadRequest is an invalid_request refusal; detail is logged, not shown.
func BadRequest(detail string) *account.Error {
	return &account.Error{Code: account.EInvalidRequest, Detail: detail}
}

// readBody reads a bounded body: over MaxBodyBytes is EBodyTooLarge.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &account.Error{Code: account.EBodyTooLarge, Detail: "request body over 64 KiB"}
	}
	if err != nil {
		return nil, BadRequest("could not read the request body")
	}
	return body, nil
}

// DecodeJSON reads a JSON object into v. It refuses other content types,
// invalid UTF-8 (which encoding/json would silently replace), values of the
// wrong type and trailing data. Unknown fields are ignored so that clients
// may send more than this version knows.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return BadRequest("Content-Type must be application/json")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return BadRequest("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &account.Error{Code: account.EInvalidRequest, Field: te.Field, Detail: "field " + te.Field + " has the wrong type"}
		}
		return BadRequest("the body is not a JSON object")
	}
	if dec.More() {
		return BadRequest("unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("unexpected data after the JSON object")
	}
	return nil
}

// ParseForm parses a bounded urlencoded form for the no-JavaScript pages.
func ParseForm(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return BadRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &account.Error{Code: account.EBodyTooLarge, Detail: "request body over 64 KiB"}
		}
		return BadRequest("malformed form")
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return BadRequest("the form is not valid UTF-8")
			}
		}
	}
	return nil
}
