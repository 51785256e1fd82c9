package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/clientip"
)

// MaxBodyBytes is the largest request body keyshift reads (API.md: 64 KiB).
const MaxBodyBytes = 64 << 10

func badRequest(detail string) *account.Error {
	return &account.Error{Code: account.EInvalidRequest, Detail: detail}
}

// readBody reads a bounded body: over MaxBodyBytes is EBodyTooLarge.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &account.Error{Code: account.EBodyTooLarge, Detail: "request body over 64 KiB"}
	}
	if err != nil {
		return nil, badRequest("could not read the request body")
	}
	return body, nil
}

// decodeJSON reads a JSON object into v. It refuses other content types,
// invalid UTF-8 (which encoding/json would silently replace), values of the
// wrong type and trailing data. Unknown fields are ignored so that clients
// may send more than this version knows.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return badRequest("Content-Type must be application/json")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &account.Error{Code: account.EInvalidRequest, Field: te.Field, Detail: "field " + te.Field + " has the wrong type"}
		}
		return badRequest("the body is not a JSON object")
	}
	if dec.More() {
		return badRequest("unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("unexpected data after the JSON object")
	}
	return nil
}

// clientIP returns the address of the client (clientip.Of); a hop that is
// no address is logged once per process.
func (s *Server) clientIP(r *http.Request) string {
	ip, badHopFrom := clientip.Of(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)
	if badHopFrom != "" {
		s.badHop.Do(func() {
			s.log.Warn("X-Forwarded-For from a trusted proxy holds a hop that is not an address; such clients are keyed by its text",
				"hop", ip, "proxy", badHopFrom)
		})
	}
	return ip
}
