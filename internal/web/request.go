package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
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

// parseForm parses a bounded urlencoded form for the no-JavaScript pages.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return badRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &account.Error{Code: account.EBodyTooLarge, Detail: "request body over 64 KiB"}
		}
		return badRequest("malformed form")
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return badRequest("the form is not valid UTF-8")
			}
		}
	}
	return nil
}

// clientIP returns the address of the client: the peer, or, when the peer is
// a trusted proxy, the nearest address in X-Forwarded-For that is not one of
// our proxies. Believing the header from anyone else would let an attacker
// pick a fresh IP for every guess and escape per-IP throttling.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
