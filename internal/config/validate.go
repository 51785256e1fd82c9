package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/returnto"
)

// Limits Validate enforces; each is explained where it is checked.
const (
	maxHashConcurrency  = 1024
	maxHashQueueTimeout = time.Minute
	// maxFailureFloor bounds password.failure_floor: a failed sign-in that
	// waits longer holds a connection for nothing.
	maxFailureFloor   = 5 * time.Second
	minArgonMemoryKiB = 7168 // OWASP's floor: 7 MiB (with t=5)
	minAdminTokenLen  = 32
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"auto", "json", "text"}
	mailModes  = []string{"auto", MailSMTP, MailLog}
)

// Validate reports every problem at once, as Problems. Before checking, it
// puts Origin in canonical form, fills RPID from Origin when RPID is empty, and
// lower-cases the log level and format.
func (c *Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return ps
	}
	return nil
}

func (c *Config) problems() Problems {
	var ps Problems
	host := c.checkOrigin(&ps)
	c.checkRPID(&ps, host)
	c.checkOrigins(&ps, host)
	c.checkReturns(&ps, host)
	c.checkServer(&ps)
	c.checkMail(&ps, host)
	c.checkPepper(&ps)
	c.checkSession(&ps)
	c.checkPassword(&ps)
	c.checkPasskey(&ps)
	c.checkLog(&ps)
	c.checkRollout(&ps)
	c.checkSignup(&ps)
	return ps
}

// checkSignup: signup.methods names one or both ways to make an account.
func (c *Config) checkSignup(ps *Problems) {
	m := c.Signup.Methods
	if len(m) == 0 {
		ps.add("signup.methods", `is empty; want "passkey", "password" or both (use signup.open to close sign-up)`)
	}
	for _, x := range m {
		if x != SignupPasskey && x != SignupPassword {
			ps.addf("signup.methods", `%q is not "passkey" or "password"`, x)
		}
	}
}

// checkOrigin normalises Origin, derives RPID from it, and returns its host
// name, or "" when Origin is unusable.
func (c *Config) checkOrigin(ps *Problems) string {
	origin, host, err := normalizeOrigin(c.Origin, c.Dev)
	if err != nil {
		ps.add("origin", err.Error())
		return ""
	}
	c.Origin = origin
	if c.RPID == "" {
		c.RPID = host
	}
	return host
}

// checkOrigins normalises the further origins as Origin is normalised and
// refuses one that is Origin itself, a repeat, or of another scheme than
// Origin: cookies are Secure (and __Host-) by Origin's scheme, which would
// lose them on an http origin beside an https one, or leave them readable
// the other way round.
func (c *Config) checkOrigins(ps *Problems, originHost string) {
	seen := map[string]bool{}
	if originHost != "" {
		seen[c.Origin] = true
	}
	scheme, _, _ := strings.Cut(c.Origin, "://")
	for i, raw := range c.Origins {
		o, _, err := normalizeOrigin(raw, c.Dev)
		switch {
		case err != nil:
			ps.add("origins", err.Error())
			continue
		case o == c.Origin:
			ps.addf("origins", "%s is origin itself; list only the further origins keyshift is served on", shown(raw))
		case seen[o]:
			ps.addf("origins", "%s is listed twice", shown(raw))
		case originHost != "" && !strings.HasPrefix(o, scheme+"://"):
			ps.addf("origins", "%s does not use %s like origin does: cookies are Secure or not by origin's scheme, so every origin must share it", shown(raw), scheme)
		}
		seen[o] = true
		c.Origins[i] = o
	}
}

// normalizeOrigin returns raw as scheme://host[:port] in lower case without a
// default port, and its host name: browsers send the Origin header in that
// form, and keyshift compares it byte for byte.
func normalizeOrigin(raw string, dev bool) (origin, host string, err error) {
	u, err := parseOriginURL(raw)
	if err != nil {
		return "", "", err
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	switch {
	case !validHost(host):
		return "", "", fmt.Errorf("%s has no valid host name (write international names in their xn-- form)", shown(raw))
	case port != "" && !validPort(port, 1):
		return "", "", fmt.Errorf("%s has port %q; want a number from 1 to 65535", shown(raw), port)
	case u.Scheme == "http" && !dev && !isLocal(host):
		return "", "", fmt.Errorf("%s uses http, which is allowed only for localhost or with dev: true, because WebAuthn and Secure cookies need https in production", shown(raw))
	}
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	return u.Scheme + "://" + joinHostPort(host, port), host, nil
}

// parseOriginURL accepts an absolute http(s) URL with nothing after the host
// but an optional "/". url.Parse lower-cases the scheme.
func parseOriginURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%s is not an http(s) URL like https://login.example.com", shown(raw))
	case u.User != nil:
		return nil, fmt.Errorf("%s must not hold a user name or password", shown(raw))
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("%s must be just scheme://host[:port], without a path, query or fragment", shown(raw))
	}
	return u, nil
}

func joinHostPort(host, port string) string {
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// isLocal reports whether host never leaves the machine, which browsers treat
// as a secure context even over http.
func isLocal(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (c *Config) checkRPID(ps *Problems, originHost string) {
	if msg := rpIDProblem(c.RPID, originHost); msg != "" {
		ps.addf("rp_id", "%q %s", c.RPID, msg)
	}
	if c.RPName == "" {
		ps.add("rp_name", "must not be empty: browsers show it when they offer to save a passkey")
	}
}

// rpIDProblem says what is wrong with rp as the RP ID for an origin whose host
// is originHost ("" when the origin is unusable), or "" when nothing is. Per
// WebAuthn Level 3 §5.1.4.1 a browser accepts an RP ID that equals the
// origin's effective domain or is a registrable suffix of it; "contains a dot"
// stands in for "registrable", so a bare public suffix like "com" is refused.
func rpIDProblem(rp, originHost string) string {
	switch {
	case rp == originHost:
		return ""
	case strings.ContainsAny(rp, ":/"):
		return "must be a bare host name like example.com, without scheme or port"
	case rp != strings.ToLower(rp):
		return "must be lower case"
	case !isHostname(rp):
		return "is not a valid host name"
	case originHost == "":
		return "" // the origin's own problem is already reported
	case isIP(originHost):
		return fmt.Sprintf("must equal the origin's host %q, since an IP address has no parent domain", originHost)
	case !strings.HasSuffix(originHost, "."+rp):
		return fmt.Sprintf("is neither the origin's host %q nor a parent domain of it, so browsers would refuse every passkey", originHost)
	case !strings.Contains(rp, "."):
		return fmt.Sprintf("is a top-level domain; use the origin's host %q or a parent domain like example.com", originHost)
	}
	return ""
}

// checkReturns checks where browsers may be sent after sign-in and which
// hosts share the session cookie. Each allowed origin is normalised by the
// same rules that will match it (returnto.Origin), so what starts is what
// is matched.
func (c *Config) checkReturns(ps *Problems, originHost string) {
	for i, raw := range c.AllowedReturnOrigins {
		o, err := returnto.Origin(raw)
		if err != nil {
			ps.addf("allowed_return_origins", "%s is not an origin like https://app.example.com (scheme://host[:port], no path; international names in their xn-- form)", shown(raw))
			continue
		}
		if strings.HasPrefix(o, "http://") && strings.HasPrefix(c.Origin, "https://") && !c.Dev {
			ps.addf("allowed_return_origins", "%s uses http while keyshift is on https: a member would be sent from a secure page to a readable one; use https", shown(raw))
			continue
		}
		c.AllowedReturnOrigins[i] = o
	}
	if c.CookieDomain != "" {
		if msg := cookieDomainProblem(c.CookieDomain, originHost); msg != "" {
			ps.addf("cookie_domain", "%s %s", shown(c.CookieDomain), msg)
		}
		d := c.CookieDomain
		for _, o := range c.Origins {
			u, err := url.Parse(o)
			if err != nil || u.Hostname() == d || strings.HasSuffix(u.Hostname(), "."+d) {
				continue
			}
			ps.addf("cookie_domain", "%s does not cover %s (from origins): browsers would refuse the session cookie there, so no sign-in on it would last; "+
				"leave cookie_domain unset, or serve only origins under it", shown(d), o)
		}
	}
}

// cookieDomainProblem says what is wrong with d as the session cookie's
// Domain for an origin whose host is originHost, or "". Browsers accept a
// Domain that is the host or a parent of it, and refuse a public suffix;
// keyshift refuses those too, at start, rather than have every sign-in's
// cookie dropped in silence.
func cookieDomainProblem(d, originHost string) string {
	switch {
	case strings.HasPrefix(d, "."):
		return "starts with a dot; write the domain alone (example.com): browsers ignore the dot"
	case d != strings.ToLower(d):
		return "must be lower case"
	case !isHostname(d) || isIP(d):
		return "is not a domain name like example.com"
	case originHost == "":
		return "" // the origin's own problem is already reported
	case isIP(originHost):
		return fmt.Sprintf("cannot be shared: the origin's host %q is an IP address, which has no parent domain", originHost)
	case d != originHost && !strings.HasSuffix(originHost, "."+d):
		return fmt.Sprintf("is neither the origin's host %q nor a parent domain of it, so browsers would refuse the session cookie", originHost)
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return "is a public suffix: browsers refuse cookies for it, and it would share sessions with strangers' sites"
	}
	return ""
}

func validHost(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == ""
	}
	return isHostname(host)
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// isHostname reports whether s is a lower-case ASCII host name: dot-separated
// labels of letters, digits and inner hyphens (RFC 1123), without a final dot.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

func isLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func validPort(p string, lowest uint64) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n >= lowest
}

func (c *Config) checkServer(ps *Problems) {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		ps.addf("listen", "%q is not host:port like 127.0.0.1:8080 or :8080", c.Listen)
	} else if !validPort(port, 0) {
		ps.addf("listen", "%q has port %q; want a number from 0 to 65535", c.Listen, port)
	}
	if _, _, err := parseDatabase(c.Database); err != nil {
		ps.add("database", err.Error())
	}
	if n := len(c.AdminToken); n > 0 && n < minAdminTokenLen {
		ps.addf("admin_token", "is %d characters; want at least %d, because it is a bearer secret that grants full admin access (try: openssl rand -hex 32)", n, minAdminTokenLen)
	}
	for i, p := range c.TrustedProxies {
		switch {
		case !p.IsValid():
			ps.addf("trusted_proxies", "entry %d is not a valid IP prefix", i+1)
		case p.Bits() == 0 && !c.TrustedProxiesAllowAll:
			ps.addf("trusted_proxies", "%s trusts every peer, so any client could name the address it is throttled and audited by; "+
				"list your proxies' own addresses, or set trusted_proxies_allow_all: true if keyshift can be reached only through them", p)
		}
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil {
			ps.addf("metrics_listen", "%q is not host:port like 127.0.0.1:9090", c.MetricsListen)
		} else if !validPort(port, 0) {
			ps.addf("metrics_listen", "%q has port %q; want a number from 0 to 65535", c.MetricsListen, port)
		} else if c.MetricsListen == c.Listen && port != "0" {
			ps.addf("metrics_listen", "%q is the listen address itself; give /metrics an address of its own, or leave metrics_listen empty", c.MetricsListen)
		}
	}
}

// Warnings are settings that work but deserve a second look; keyshift logs
// them at start. Call after Validate.
func (c Config) Warnings() []Problem {
	var ws []Problem
	ws = append(ws, c.originWarnings()...)
	for _, p := range c.TrustedProxies {
		if min := shortPrefix(p); min > 0 {
			ws = append(ws, Problem{Key: "trusted_proxies", Msg: fmt.Sprintf("%s is shorter than /%d: every address in it may "+
				"name the client's address in X-Forwarded-For. Prefer the proxies' exact addresses", p, min)})
		}
	}
	return ws
}

// maxOriginLabels is how many registrable-domain labels ("example" of
// example.com and example.co.uk alike) a browser must read from
// /.well-known/webauthn (WebAuthn Level 3 §5.11.1); past them it may ignore
// the rest of the list.
const maxOriginLabels = 5

// originWarnings names further origins that browsers accept only through
// the related-origins file at the RP ID's host, and a list longer than
// browsers promise to read.
func (c Config) originWarnings() []Problem {
	var ws []Problem
	labels := map[string]bool{}
	for i, o := range c.AllOrigins() {
		u, err := url.Parse(o)
		if err != nil {
			continue
		}
		host := u.Hostname()
		if i > 0 && host != c.RPID && !strings.HasSuffix(host, "."+c.RPID) {
			ws = append(ws, Problem{Key: "origins", Msg: fmt.Sprintf("%s is not rp_id %q nor under it: browsers accept its passkeys only when "+
				"https://%s/.well-known/webauthn lists it (docs/configuration.md, \"Related origins\")", o, c.RPID, c.RPID)})
		}
		if isIP(host) {
			continue
		}
		if site, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
			label, _, _ := strings.Cut(site, ".")
			labels[label] = true
		}
	}
	if len(labels) > maxOriginLabels {
		ws = append(ws, Problem{Key: "origins", Msg: fmt.Sprintf("name %d different site names (like \"example\" in example.com); "+
			"browsers promise to read only %d from /.well-known/webauthn and may refuse origins past them", len(labels), maxOriginLabels)})
	}
	return ws
}

// shortPrefix returns the length under which a trusted proxy prefix earns a
// warning (/16 for IPv4, /48 for IPv6: a site), or 0 when p is long enough.
// A zero-length prefix is Validate's business.
func shortPrefix(p netip.Prefix) int {
	min := 16
	if p.Addr().Is6() {
		min = 48
	}
	if p.Bits() > 0 && p.Bits() < min {
		return min
	}
	return 0
}

// parseDatabase splits "sqlite:PATH" or a postgres URL into a driver name and
// what that driver opens. "sqlite://x" is refused: it would silently mean the
// absolute path "//x".
func parseDatabase(s string) (driver, dsn string, err error) {
	if path, ok := strings.CutPrefix(s, "sqlite:"); ok && path != "" && !strings.HasPrefix(path, "//") {
		return "sqlite", path, nil
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		// A host may also come as ?host=/run/postgresql (a Unix socket).
		if u, err := url.Parse(s); err == nil && (u.Hostname() != "" || u.Query().Get("host") != "") {
			return "postgres", s, nil
		}
	}
	return "", "", fmt.Errorf("%s is not a database keyshift can open; use sqlite:PATH (like sqlite:keyshift.db or sqlite:/var/lib/keyshift/keyshift.db) or a URL like postgres://keyshift@db.example.com:5432/keyshift", shown(s))
}

func (c *Config) checkMail(ps *Problems, originHost string) {
	c.Mail = strings.ToLower(strings.TrimSpace(c.Mail))
	if c.Mail == "" {
		c.Mail = "auto"
	}
	switch {
	case !slices.Contains(mailModes, c.Mail):
		ps.addf("mail", "%q is not one of %s", c.Mail, strings.Join(mailModes, ", "))
	case c.Mail == MailSMTP && len(c.SMTPURLs) == 0:
		ps.add("smtp_url", "is not set, but mail is smtp: set KEYSHIFT_SMTP_URL (is the variable's name misspelt?)")
	case c.Mail == MailLog && len(c.SMTPURLs) > 0:
		ps.add("mail", "is log, which delivers nothing, but smtp_url is set too; remove one of them")
	case c.Mail == "auto" && len(c.SMTPURLs) == 0 && !c.Dev && originHost != "" && !isLocal(originHost):
		// Without this a misspelt KEYSHIFT_SMTP_URL would start a public
		// server that delivers no sign-in link (docs/security.md, T17).
		ps.add("smtp_url", "is not set, and the origin is not on this machine, so no sign-in link, code or notice could be delivered. "+
			"Set KEYSHIFT_SMTP_URL (is the variable's name misspelt?), or mail: log (KEYSHIFT_MAIL=log) to run without mail, "+
			"or dev: true for the dev mailer")
	}
	for _, s := range c.SMTPURLs {
		if err := checkSMTPURL(s); err != nil {
			ps.add("smtp_url", err.Error())
		}
	}
	if c.SMTPCAFile != "" {
		if _, err := outbox.LoadCAFile(c.SMTPCAFile); err != nil {
			ps.addf("smtp_ca_file", "%v; want a PEM file of CA certificates", err)
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		ps.addf("mail_from", "%q is not an email address like keyshift@example.com or \"Keyshift <no-reply@example.com>\"", c.MailFrom)
	}
}

// checkSMTPURL applies package outbox's reading of an SMTP URL, so what
// Validate accepts is exactly what the mailer can use.
func checkSMTPURL(s string) error {
	const want = "want smtp://[user:pass@]host:port (STARTTLS), smtps://…:465 (TLS) or smtp://host:port?tls=none (a relay without TLS, no credentials), like smtp://mail.example.com:587"
	if _, err := outbox.ParseServer(s); err != nil {
		return fmt.Errorf("%s %v; %s", shown(s), err, want)
	}
	return nil
}

// shown quotes s for a message, hiding the password of a URL: database and SMTP
// URLs carry credentials, and problems end up in logs.
func shown(s string) string {
	return strconv.Quote(Redact(s))
}

// Redact returns a URL fit for logs and error messages: a password in the
// userinfo or in a password= query parameter (as libpq and pgx accept) is
// replaced by xxxxx, and a URL that does not parse but may hold a secret is
// not shown at all.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") || strings.Contains(strings.ToLower(s), "password") {
			return "(a malformed URL, not shown because it may hold a password)"
		}
		return s
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// checkPepper checks the pepper's form, never showing it: it is a secret.
// Whether one is needed (PostgreSQL) is decided at start, by package pepper.
func (c *Config) checkPepper(ps *Problems) {
	const want = "want at least 32 bytes as base64 or hex, like the output of openssl rand -base64 32 (the value is not shown)"
	if c.Pepper != "" {
		if _, err := pepper.Parse(c.Pepper); err != nil {
			ps.addf("pepper", "%v; %s", err, want)
		}
	}
	if c.PepperFile != "" {
		if c.Pepper != "" {
			ps.add("pepper_file", "is set together with pepper; set one of them")
		} else if b, err := os.ReadFile(c.PepperFile); err != nil {
			ps.addf("pepper_file", "%v", err)
		} else if _, err := pepper.Parse(string(b)); err != nil {
			ps.addf("pepper_file", "%q: %v; %s", c.PepperFile, err, want)
		}
	}
	for i, p := range c.PreviousPeppers {
		if _, err := pepper.Parse(p); err != nil {
			ps.addf("previous_peppers", "entry %d: %v; %s", i+1, err, want)
		}
	}
}

func (c *Config) checkSession(ps *Problems) {
	idle, abs := c.Session.IdleTimeout, c.Session.AbsoluteTimeout
	if idle <= 0 {
		ps.addf("session.idle_timeout", "is %s; want more than 0, like 168h", idle)
	}
	if abs <= 0 {
		ps.addf("session.absolute_timeout", "is %s; want more than 0, like 720h", abs)
	}
	if idle > 0 && abs > 0 && idle > abs {
		ps.addf("session.idle_timeout", "is %s, longer than session.absolute_timeout (%s), which would end every session first", idle, abs)
	}
}

func (c *Config) checkPassword(ps *Problems) {
	p := c.Password
	if p.HashConcurrency < 1 || p.HashConcurrency > maxHashConcurrency {
		ps.addf("password.hash_concurrency", "is %d; want 1 to %d hashes at once (each holds argon2_memory_kib of memory)", p.HashConcurrency, maxHashConcurrency)
	}
	if p.HashQueueTimeout <= 0 || p.HashQueueTimeout > maxHashQueueTimeout {
		ps.addf("password.hash_queue_timeout", "is %s; want more than 0 and at most %s: a sign-in should get a quick 503, not hang", p.HashQueueTimeout, maxHashQueueTimeout)
	}
	if p.ArgonMemoryKiB < minArgonMemoryKiB {
		ps.addf("password.argon2_memory_kib", "is %d; want at least %d (7 MiB, the OWASP floor for Argon2id)", p.ArgonMemoryKiB, minArgonMemoryKiB)
	}
	if p.ArgonIterations < 1 {
		ps.add("password.argon2_iterations", "is 0; want at least 1")
	}
	if p.ArgonParallelism < 1 {
		ps.add("password.argon2_parallelism", "is 0; want at least 1")
	}
	if p.FailureFloor < 0 || p.FailureFloor > maxFailureFloor {
		ps.addf("password.failure_floor", "is %s; want 0 to %s: every failed password sign-in waits this long", p.FailureFloor, maxFailureFloor)
	}
}

// PasskeyAlgorithms are the COSE algorithm names keyshift can verify.
var PasskeyAlgorithms = []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"}

func (c *Config) checkPasskey(ps *Problems) {
	p := c.Passkey
	if len(p.Algorithms) == 0 {
		ps.add("passkey.algorithms", "is empty; want at least one of "+strings.Join(PasskeyAlgorithms, ", "))
	}
	for _, a := range p.Algorithms {
		if !slices.Contains(PasskeyAlgorithms, a) {
			ps.addf("passkey.algorithms", "%q is not one of %s", a, strings.Join(PasskeyAlgorithms, ", "))
		}
	}
	if len(p.AAGUIDAllow) > 0 && len(p.AAGUIDDeny) > 0 {
		ps.add("passkey.aaguid_deny", "is set together with passkey.aaguid_allow; use one: an allow list already refuses everything not on it")
	}
	for key, ids := range map[string][]string{"passkey.aaguid_allow": p.AAGUIDAllow, "passkey.aaguid_deny": p.AAGUIDDeny} {
		for _, id := range ids {
			if _, err := aaguid.Parse(strings.TrimSpace(id)); err != nil {
				ps.addf(key, "%q is not an AAGUID in the form ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", id)
			}
		}
	}
	switch {
	case p.Attestation != AttestationNone && p.Attestation != AttestationDirect:
		ps.addf("passkey.attestation", "is %q; want none or direct", p.Attestation)
	case p.Attestation == AttestationDirect && p.MetadataFile == "":
		ps.add("passkey.metadata_file", "is empty; attestation direct verifies against a FIDO metadata (MDS3) blob: download it from https://mds3.fidoalliance.org/ and name the file here")
	case p.Attestation == AttestationNone && (p.MetadataFile != "" || p.MetadataRoot != ""):
		ps.add("passkey.metadata_file", "is set but passkey.attestation is none; set passkey.attestation: direct to use it")
	}
	if p.ChallengeTimeout < 30*time.Second || p.ChallengeTimeout > time.Hour {
		ps.addf("passkey.challenge_timeout", "is %s; want 30s to 1h (browsers give a ceremony about 5 minutes)", p.ChallengeTimeout)
	}
	if p.ReauthWindow < time.Minute || p.ReauthWindow > 24*time.Hour {
		ps.addf("passkey.reauth_window", "is %s; want 1m to 24h", p.ReauthWindow)
	}
	if d := c.EmailChange.LinkTimeout; d < 5*time.Minute || d > 7*24*time.Hour {
		ps.addf("email_change.link_timeout", "is %s; want 5m to 168h", d)
	}
	if d := c.SupportRecovery.Wait; d < 24*time.Hour || d > 30*24*time.Hour {
		ps.addf("support_recovery.wait", "is %s; want 24h to 720h (the owner must have time to read the notice and cancel)", d)
	}
	if d := c.SupportRecovery.LinkTimeout; d < time.Hour || d > 30*24*time.Hour {
		ps.addf("support_recovery.link_timeout", "is %s; want 1h to 720h", d)
	}
	switch e := &c.EmailSignin; {
	case !slices.Contains([]string{PasskeyAccountsFull, PasskeyAccountsRestricted, PasskeyAccountsRequirePasskey}, e.PasskeyAccounts):
		ps.addf("email_signin.passkey_accounts", "is %q; want full, restricted or require_passkey", e.PasskeyAccounts)
	case e.Probation < time.Hour || e.Probation > 30*24*time.Hour:
		ps.addf("email_signin.probation", "is %s; want 1h to 720h (a thief's passkey must stay on probation long enough for the owner to read the notice)", e.Probation)
	}
}

func (c *Config) checkLog(ps *Problems) {
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if !slices.Contains(logLevels, c.Log.Level) {
		ps.addf("log.level", "%q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		ps.addf("log.format", "%q is not one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}
}

// checkRollout keeps the guardrails' limits within what they measure.
func (c *Config) checkRollout(ps *Problems) {
	r := c.Rollout
	for _, l := range []struct {
		key       string
		v, lo, hi int
		unit      string
	}{
		{"rollout.passkey_success_min", r.PasskeySuccessMin, 0, 100, "percent (0 turns it off)"},
		{"rollout.passkey_window", r.PasskeyWindow, 1, 100000, "attempts"},
		{"rollout.recovery_rise_max", r.RecoveryRiseMax, 0, 100000, "percent (0 turns it off)"},
		{"rollout.recovery_min_uses", r.RecoveryMinUses, 1, 1000000, "uses a week"},
		{"rollout.duplicates_per_hour_max", r.DuplicatesPerHourMax, 0, 1000000, "reports an hour (0 turns it off)"},
		{"rollout.retire_after_days", r.RetireAfterDays, 1, 3650, "days"},
		{"telemetry.retention_days", c.Telemetry.RetentionDays, 14, 3650, "days"},
	} {
		if l.v < l.lo || l.v > l.hi {
			ps.addf(l.key, "is %d; want %d to %d %s", l.v, l.lo, l.hi, l.unit)
		}
	}
}
