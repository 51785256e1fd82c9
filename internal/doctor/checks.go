package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/smtp"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
)

// checkConfig finds what config.Validate accepts but production should not
// have.
func checkConfig(c config.Config) []Finding {
	var fs []Finding
	u, err := url.Parse(c.Origin)
	host := ""
	if err == nil {
		host = u.Hostname()
	}
	local := isLocal(host)
	switch {
	case u != nil && u.Scheme != "https" && !c.Dev:
		fs = append(fs, Finding{Check: "origin", Severity: High,
			Problem: fmt.Sprintf("the origin %s is not https: browsers offer passkeys and keep Secure cookies only for localhost", c.Origin),
			Fix:     "serve keyshift at an https origin behind your TLS proxy and set KEYSHIFT_ORIGIN to it"})
	case c.Dev && !local:
		fs = append(fs, Finding{Check: "dev", Severity: High,
			Problem: fmt.Sprintf("dev mode is on for the public origin %s: mail is kept for /dev/mail instead of sent, and http origins are allowed", c.Origin),
			Fix:     "unset KEYSHIFT_DEV (and --dev) and set KEYSHIFT_SMTP_URL"})
	case c.Dev:
		fs = append(fs, Finding{Check: "dev", Severity: Info, Problem: "dev mode is on", Fix: "never in production"})
	}
	if !c.Dev && !local && c.MailTransport() != config.MailSMTP {
		fs = append(fs, Finding{Check: "mail", Severity: High,
			Problem: "no mail is delivered (mail: " + c.MailTransport() + "): sign-in links, codes and security notices never reach members",
			Fix:     "set KEYSHIFT_SMTP_URL to your mail server"})
	}
	if c.RPID != "" && !isIP(c.RPID) {
		if ps, icann := publicsuffix.PublicSuffix(c.RPID); ps == c.RPID && (icann || strings.Contains(ps, ".")) {
			fs = append(fs, Finding{Check: "rp_id", Severity: High,
				Problem: fmt.Sprintf("the RP ID %q is a public suffix, not a registrable domain: browsers refuse every passkey for it", c.RPID),
				Fix:     "set KEYSHIFT_RP_ID to the origin's host or its registrable parent (example.co.uk, not co.uk)"})
		}
	}
	if c.TrustedProxiesAllowAll {
		fs = append(fs, Finding{Check: "trusted_proxies", Severity: Medium,
			Problem: "every peer is trusted to name the client's address (trusted_proxies_allow_all): safe only if keyshift is reachable through the proxy alone",
			Fix:     "list the proxies' own addresses in KEYSHIFT_TRUSTED_PROXIES"})
	}
	for _, w := range c.Warnings() {
		fs = append(fs, Finding{Check: w.Key, Severity: Medium, Problem: w.Msg, Fix: "narrow " + w.Key + " to your proxies' exact addresses"})
	}
	return fs
}

// checkFiles finds SQLite files and the pepper file readable by group or
// others. serve makes the database's files private when it opens them;
// doctor reports instead of changing anything.
func checkFiles(c config.Config) []Finding {
	driver, path := c.DatabaseDriver()
	var paths []string
	if driver == "sqlite" && path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return []Finding{{Check: "database", Severity: Info,
				Problem: fmt.Sprintf("the SQLite file %s does not exist yet", path),
				Fix:     "keyshift serve or keyshift migrate creates it (readable by its owner only)"}}
		}
		for _, suffix := range []string{"", "-wal", "-shm", "-journal", ".pepper"} {
			paths = append(paths, path+suffix)
		}
	}
	if c.PepperFile != "" {
		paths = append(paths, c.PepperFile)
	}
	var out []Finding
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			out = append(out, Finding{Check: "files", Severity: High,
				Problem: fmt.Sprintf("%s is readable by others (%#o): it holds password hashes, server keys or the pepper", p, perm),
				Fix:     "chmod 600 " + p})
		}
	}
	return out
}

// checkMail dials each SMTP server as keyshift will: STARTTLS offered and
// its certificate verified (smtp://), TLS from the first byte (smtps://),
// or plain text only where the URL says tls=none.
func checkMail(ctx context.Context, c config.Config, timeout time.Duration) []Finding {
	if len(c.SMTPURLs) == 0 {
		return nil
	}
	var roots *x509.CertPool
	if c.SMTPCAFile != "" {
		var err error
		if roots, err = outbox.LoadCAFile(c.SMTPCAFile); err != nil {
			return []Finding{{Check: "smtp", Severity: High, Problem: "smtp_ca_file: " + err.Error(), Fix: "point KEYSHIFT_SMTP_CA_FILE at the PEM certificate of your mail server's CA"}}
		}
	}
	var fs []Finding
	for i, raw := range c.SMTPURLs {
		srv, err := outbox.ParseServer(raw)
		if err != nil {
			fs = append(fs, Finding{Check: "smtp", Severity: High, Problem: fmt.Sprintf("SMTP server #%d %v", i+1, err), Fix: "correct KEYSHIFT_SMTP_URL"})
			continue
		}
		if srv.TLS == outbox.TLSNone {
			fs = append(fs, Finding{Check: "smtp", Severity: Info,
				Problem: srv.Name() + " is used without TLS (tls=none)", Fix: "fine for a relay on this host or a private network; otherwise drop tls=none"})
		}
		if err := probeSMTP(ctx, srv, roots, timeout); err != nil {
			fs = append(fs, Finding{Check: "smtp", Severity: High, Problem: srv.Name() + ": " + err.Error(),
				Fix: "check the address, that this machine may reach it, and its TLS certificate (KEYSHIFT_SMTP_CA_FILE for a private CA)"})
		}
	}
	return fs
}

// probeSMTP connects to srv, says EHLO, sets up TLS as keyshift requires,
// and quits without sending anything.
func probeSMTP(ctx context.Context, srv outbox.Server, roots *x509.CertPool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	tc := &tls.Config{ServerName: srv.Host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("unreachable: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	if srv.TLS == outbox.TLSImplicit {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tconn
	}
	c, err := smtp.NewClient(conn, srv.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("no SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("keyshift-doctor"); err != nil {
		return fmt.Errorf("EHLO refused: %w", err)
	}
	if srv.TLS == outbox.TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("offers no STARTTLS, which keyshift requires (it never sends in clear text)")
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	return c.Quit()
}

func isLocal(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}
