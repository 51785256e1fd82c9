// Package returnto decides where keyshift may send a browser back to after
// sign-in: the return_to of /signin and forward-auth, and (through the same
// rules) an OIDC client's redirect_uri. An open redirect on a login server
// hands phishers a trusted link, so the rule is an exact match, never a
// prefix or a pattern: a path on keyshift's own origin, or an absolute URL
// whose origin is one of the configured ones, compared after the one
// normalisation browsers themselves make (lower-case scheme and host, no
// default port).
//
// Everything a browser would read differently from Go's URL parser is
// refused outright rather than cleaned: backslashes, control characters
// and spaces (browsers drop tabs and newlines, so "/\t/evil" is "//evil"),
// protocol-relative "//host", user information ("https://site@evil"),
// percent-escapes in the host, non-ASCII hosts (IDN look-alikes: configure
// the punycode form), trailing dots, and scheme-only forms ("https:evil").
package returnto

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("return address refused")

// Policy holds the origins a browser may be sent back to.
type Policy struct {
	self    string
	origins map[string]bool
}

// New makes a policy for keyshift at origin self that also allows the
// given origins (scheme://host[:port], as allowed_return_origins lists
// them). An origin that is not in that form is an error, so a configured
// path or wildcard is refused at start rather than matched loosely.
func New(self string, allowed []string) (*Policy, error) {
	p := &Policy{origins: map[string]bool{}}
	s, err := Origin(self)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", self, err)
	}
	p.self, p.origins[s] = s, true
	for _, a := range allowed {
		o, err := Origin(a)
		if err != nil {
			return nil, fmt.Errorf("allowed return origin %q: %w", a, err)
		}
		p.origins[o] = true
	}
	return p, nil
}

// Origin normalises raw, which must be exactly scheme://host[:port] (a
// trailing "/" allowed), to the form browsers send in an Origin header.
func Origin(raw string) (string, error) {
	u, err := parse(raw)
	if err != nil {
		return "", err
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: an origin has no path, query or fragment", ErrRefused)
	}
	return origin(u), nil
}

// Check returns where to send the browser for raw, or an error wrapping
// ErrRefused. A path ("/account?tab=keys") stays a path on keyshift's own
// origin; an absolute URL is returned normalised. The empty string is
// refused: callers choose their own default.
func (p *Policy) Check(raw string) (string, error) {
	if err := plain(raw); err != nil {
		return "", err
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return "", fmt.Errorf("%w: %q is protocol-relative", ErrRefused, raw)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			return "", fmt.Errorf("%w: %q is not a plain path", ErrRefused, raw)
		}
		return raw, nil
	}
	u, err := parse(raw)
	if err != nil {
		return "", err
	}
	if !p.origins[origin(u)] {
		return "", fmt.Errorf("%w: %s is not an allowed origin", ErrRefused, origin(u))
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), hostPort(u)
	return u.String(), nil
}

// Exact reports whether raw equals one of registered exactly, after
// Check's refusals: an OIDC redirect_uri must be one its client
// registered, character for character (RFC 9700 §4.1.3).
func Exact(raw string, registered []string) bool {
	if plain(raw) != nil {
		return false
	}
	if _, err := parse(raw); err != nil {
		return false
	}
	for _, r := range registered {
		if raw == r {
			return true
		}
	}
	return false
}

// plain refuses what browsers read differently from Go: control
// characters, spaces and backslashes anywhere.
func plain(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrRefused)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) {
			return fmt.Errorf("%w: %q holds a space, control character or backslash", ErrRefused, raw)
		}
	}
	return nil
}

// parse reads an absolute http(s) URL with a plain ASCII host.
func parse(raw string) (*url.URL, error) {
	if err := plain(raw); err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %q is not a URL", ErrRefused, raw)
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("%w: %q has no //host", ErrRefused, raw)
	case !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http"):
		return nil, fmt.Errorf("%w: %q is not http(s)", ErrRefused, raw)
	case u.User != nil || strings.Contains(u.Host, "@"):
		return nil, fmt.Errorf("%w: %q holds user information", ErrRefused, raw)
	}
	host := u.Hostname()
	for _, r := range host {
		if r >= 0x80 {
			return nil, fmt.Errorf("%w: %q has a non-ASCII host; allowed origins are compared in their xn-- form", ErrRefused, raw)
		}
	}
	switch {
	case strings.ContainsAny(u.Host, "%"):
		return nil, fmt.Errorf("%w: %q has an escaped host", ErrRefused, raw)
	case strings.HasSuffix(host, "."):
		return nil, fmt.Errorf("%w: %q has a trailing dot", ErrRefused, raw)
	case !validHost(host):
		return nil, fmt.Errorf("%w: %q has no valid host name", ErrRefused, raw)
	}
	return u, nil
}

// validHost accepts a DNS name of letters, digits and hyphens in non-empty
// labels, or an IP address (IPv6 comes unbracketed from Hostname).
func validHost(host string) bool {
	if strings.Contains(host, ":") {
		return net.ParseIP(host) != nil
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func origin(u *url.URL) string { return strings.ToLower(u.Scheme) + "://" + hostPort(u) }

// hostPort is the host in lower case, without the scheme's default port.
func hostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	scheme := strings.ToLower(u.Scheme)
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return host
	}
	return host + ":" + port
}
