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

// clientIP returns the address of the client: the peer, or, when the peer is
// a trusted proxy, the nearest address in X-Forwarded-For that is not one of
// our proxies. Believing the header from anyone else would let an attacker
// pick a fresh IP for every guess and escape per-IP throttling.
//
// A hop may come as ip, ip:port or [ipv6]:port, with or without a zone
// (proxies differ). A hop that is none of these is the client's key by its
// own text, logged once per process: falling back to the proxy's address
// would put every client behind that proxy on one throttle key (issue
// 18.12).
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
		raw := strings.TrimSpace(hops[i])
		if raw == "" {
			continue
		}
		a, ok := parseHop(raw)
		if !ok {
			key := hopKey(raw)
			s.badHop.Do(func() {
				s.log.Warn("X-Forwarded-For from a trusted proxy holds a hop that is not an address; such clients are keyed by its text",
					"hop", key, "proxy", peer.String())
			})
			return key
		}
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// parseHop reads one X-Forwarded-For entry: an IP address, ip:port or
// [ipv6]:port (or [ipv6]), dropping an IPv6 zone and unmapping IPv4-mapped
// addresses.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// hopKey turns a hop that is no address into a key fit for the throttle
// table, the session list and the audit log: printable ASCII, at most 64
// bytes, marked so it is never taken for an address.
func hopKey(raw string) string {
	var b strings.Builder
	b.WriteString("hop:")
	for i := 0; i < len(raw) && b.Len() < 68; i++ {
		if c := raw[i]; c > ' ' && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
