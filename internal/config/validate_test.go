package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
)

// production returns a valid https configuration for tests to break one way.
func production() Config {
	c := Default()
	c.Origin = "https://login.example.com"
	c.SMTPURLs = []string{"smtp://mail.example.com:587"}
	return c
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		key    string
		msg    string
	}{
		{"an origin that is not http", func(c *Config) { c.Origin = "ftp://x" }, "origin", `"ftp://x" is not an http(s) URL`},
		{"an origin without a scheme", func(c *Config) { c.Origin = "login.example.com" }, "origin", "not an http(s) URL"},
		{"an empty origin", func(c *Config) { c.Origin = "" }, "origin", "not an http(s) URL"},
		{"an origin with a path", func(c *Config) { c.Origin = "https://example.com/auth" }, "origin", "without a path"},
		{"an origin with a query", func(c *Config) { c.Origin = "https://example.com/?a=1" }, "origin", "without a path, query"},
		{"an origin with an empty query", func(c *Config) { c.Origin = "https://example.com?" }, "origin", "without a path, query"},
		{"an origin with a fragment", func(c *Config) { c.Origin = "https://example.com#top" }, "origin", "fragment"},
		{"an origin with credentials, without showing them", func(c *Config) { c.Origin = "https://u:secret@example.com" }, "origin", "user name or password"},
		{"an http origin on a public host", func(c *Config) { c.Origin = "http://login.example.com" }, "origin", "https in production"},
		{"an origin with port 0", func(c *Config) { c.Origin = "https://example.com:0" }, "origin", "from 1 to 65535"},
		{"an origin with a port too large", func(c *Config) { c.Origin = "https://example.com:70000" }, "origin", "from 1 to 65535"},
		{"an origin with an underscore in the host", func(c *Config) { c.Origin = "https://ex_ample.com" }, "origin", "no valid host name"},
		{"an origin with a Unicode host", func(c *Config) { c.Origin = "https://bücher.example" }, "origin", "xn--"},
		{"an origin with only a port", func(c *Config) { c.Origin = "https://:443" }, "origin", "no valid host name"},
		{"an origin host with a final dot", func(c *Config) { c.Origin = "https://example.com." }, "origin", "no valid host name"},

		{"a further origin with a path", func(c *Config) { c.Origins = []string{"https://login.example.org/auth"} }, "origins", "without a path"},
		{"a further origin without a scheme", func(c *Config) { c.Origins = []string{"login.example.org"} }, "origins", "not an http(s) URL"},
		{"a further origin on http on a public host", func(c *Config) { c.Origins = []string{"http://login.example.org"} }, "origins", "https in production"},
		{"a further origin that is the origin itself", func(c *Config) { c.Origins = []string{"HTTPS://Login.Example.com:443/"} }, "origins", "is origin itself"},
		{"a further origin listed twice", func(c *Config) {
			c.Origins = []string{"https://login.example.org", "https://LOGIN.example.org/"}
		}, "origins", `"https://LOGIN.example.org/" is listed twice`},
		{"a further origin of another scheme than the origin", func(c *Config) {
			c.Origin, c.Origins = "http://a.localhost:8080", []string{"https://b.localhost:8443"}
		}, "origins", "does not use http like origin does"},
		{"a further origin with a Unicode host", func(c *Config) { c.Origins = []string{"https://bücher.example"} }, "origins", "xn--"},

		{"an RP ID with a scheme", func(c *Config) { c.RPID = "https://example.com" }, "rp_id", "without scheme or port"},
		{"an RP ID with a port", func(c *Config) { c.RPID = "login.example.com:443" }, "rp_id", "without scheme or port"},
		{"an RP ID in upper case", func(c *Config) { c.RPID = "Example.com" }, "rp_id", "lower case"},
		{"an RP ID that is not a host name", func(c *Config) { c.RPID = "exa mple.com" }, "rp_id", "not a valid host name"},
		{"an RP ID that is not a parent of the origin", func(c *Config) { c.RPID = "example.org" }, "rp_id", "neither the origin's host"},
		{"an RP ID that ends the host off a label boundary", func(c *Config) { c.RPID = "ample.com" }, "rp_id", "neither the origin's host"},
		{"an RP ID that is a child of the origin", func(c *Config) { c.RPID = "a.login.example.com" }, "rp_id", "neither the origin's host"},
		{"an RP ID that is a top-level domain", func(c *Config) { c.RPID = "com" }, "rp_id", "top-level domain"},
		{"an RP ID other than an IP origin", func(c *Config) { c.Origin, c.RPID = "http://127.0.0.1:8080", "0.0.1" }, "rp_id", "no parent domain"},
		{"an empty RP name", func(c *Config) { c.RPName = "" }, "rp_name", "must not be empty"},

		{"a listen address without a port", func(c *Config) { c.Listen = "127.0.0.1" }, "listen", "not host:port"},
		{"a listen address with a named port", func(c *Config) { c.Listen = ":http" }, "listen", "from 0 to 65535"},
		{"a listen port too large", func(c *Config) { c.Listen = ":65536" }, "listen", "from 0 to 65535"},

		{"a database of an unknown kind", func(c *Config) { c.Database = "mysql://db/keyshift" }, "database", "sqlite:PATH"},
		{"a database that is a bare path", func(c *Config) { c.Database = "keyshift.db" }, "database", "postgres://"},
		{"an sqlite database without a path", func(c *Config) { c.Database = "sqlite:" }, "database", "sqlite:PATH"},
		{"an sqlite database written as a URL", func(c *Config) { c.Database = "sqlite://keyshift.db" }, "database", "sqlite:PATH"},
		{"a postgres URL without a host", func(c *Config) { c.Database = "postgres:///keyshift" }, "database", "not a database"},
		{"a postgres URL with an upper-case scheme", func(c *Config) { c.Database = "POSTGRES://db/keyshift" }, "database", "not a database"},
		{"an empty database", func(c *Config) { c.Database = "" }, "database", `"" is not a database`},

		{"an SMTP URL of another scheme", func(c *Config) { c.SMTPURLs = []string{"http://mail.example.com:25"} }, "smtp_url", "not an smtp:// or smtps:// URL"},
		{"an SMTP URL without a port", func(c *Config) { c.SMTPURLs = []string{"smtp://mail.example.com"} }, "smtp_url", "no port"},
		{"an SMTP URL without a host", func(c *Config) { c.SMTPURLs = []string{"smtp://:25"} }, "smtp_url", "no host"},
		{"a bad SMTP URL after a good one", func(c *Config) { c.SMTPURLs = []string{"smtp://a.example.com:25", "b.example.com"} }, "smtp_url", `"b.example.com"`},
		{"credentials over an SMTP relay without TLS", func(c *Config) { c.SMTPURLs = []string{"smtp://u:secret@relay.internal:25?tls=none"} }, "smtp_url", "clear text"},
		{"an SMTP TLS mode that is not known", func(c *Config) { c.SMTPURLs = []string{"smtp://mail.example.com:587?tls=maybe"} }, "smtp_url", `tls="maybe"`},
		{"a tls parameter on smtps", func(c *Config) { c.SMTPURLs = []string{"smtps://mail.example.com:465?tls=none"} }, "smtp_url", "always TLS"},
		{"an unknown SMTP URL parameter", func(c *Config) { c.SMTPURLs = []string{"smtp://mail.example.com:587?tsl=none"} }, "smtp_url", `unknown parameter "tsl"`},
		{"an SMTP CA file that does not exist", func(c *Config) { c.SMTPCAFile = filepath.Join(t.TempDir(), "missing.pem") }, "smtp_ca_file", "PEM file"},
		{"an SMTP CA file without a certificate", func(c *Config) { c.SMTPCAFile = writeFile(t, "not a certificate\n") }, "smtp_ca_file", "no PEM certificate"},
		{"a sender that is not an address", func(c *Config) { c.MailFrom = "keyshift" }, "mail_from", "not an email address"},
		{"an admin token shorter than 32 characters", func(c *Config) { c.AdminToken = strings.Repeat("x", 31) }, "admin_token", "bearer secret"},
		{"a trusted proxy that is not a prefix", func(c *Config) { c.TrustedProxies = []netip.Prefix{{}} }, "trusted_proxies", "entry 1"},

		{"a return origin with a path", func(c *Config) { c.AllowedReturnOrigins = []string{"https://app.example.com/home"} }, "allowed_return_origins", `"https://app.example.com/home" is not an origin`},
		{"a return origin pattern", func(c *Config) { c.AllowedReturnOrigins = []string{"https://*.example.com"} }, "allowed_return_origins", "is not an origin"},
		{"a return origin without a scheme", func(c *Config) { c.AllowedReturnOrigins = []string{"app.example.com"} }, "allowed_return_origins", "is not an origin"},
		{"a return origin with a Unicode host", func(c *Config) { c.AllowedReturnOrigins = []string{"https://bücher.example"} }, "allowed_return_origins", "xn--"},
		{"an http return origin beside an https keyshift", func(c *Config) { c.AllowedReturnOrigins = []string{"http://app.example.com"} }, "allowed_return_origins", "use https"},
		{"a cookie domain with a leading dot", func(c *Config) { c.CookieDomain = ".example.com" }, "cookie_domain", "starts with a dot"},
		{"a cookie domain in upper case", func(c *Config) { c.CookieDomain = "Example.com" }, "cookie_domain", "lower case"},
		{"a cookie domain with a port", func(c *Config) { c.CookieDomain = "example.com:443" }, "cookie_domain", "not a domain name"},
		{"a cookie domain that is an IP", func(c *Config) { c.CookieDomain = "192.0.2.1" }, "cookie_domain", "not a domain name"},
		{"a cookie domain of another site", func(c *Config) { c.CookieDomain = "example.org" }, "cookie_domain", "neither the origin's host"},
		{"a cookie domain that ends the host off a label boundary", func(c *Config) { c.CookieDomain = "ample.com" }, "cookie_domain", "neither the origin's host"},
		{"a cookie domain below the origin", func(c *Config) { c.CookieDomain = "a.login.example.com" }, "cookie_domain", "neither the origin's host"},
		{"a cookie domain that is a public suffix", func(c *Config) { c.CookieDomain = "com" }, "cookie_domain", "public suffix"},
		{"a cookie domain that is a private public suffix", func(c *Config) {
			c.Origin, c.CookieDomain = "https://login.keyshift.github.io", "github.io"
		}, "cookie_domain", "public suffix"},
		{"a cookie domain that a further origin is not under", func(c *Config) {
			c.CookieDomain, c.Origins = "example.com", []string{"https://www.example.com", "https://login.example.org"}
		}, "cookie_domain", `"example.com" does not cover https://login.example.org`},
		{"a cookie domain for an IP origin", func(c *Config) { c.Origin, c.CookieDomain = "https://192.0.2.1", "example.com" }, "cookie_domain", "IP address"},

		{"a zero idle timeout", func(c *Config) { c.Session.IdleTimeout = 0 }, "session.idle_timeout", "more than 0"},
		{"a negative absolute timeout", func(c *Config) { c.Session.AbsoluteTimeout = -time.Hour }, "session.absolute_timeout", "more than 0"},
		{"an idle timeout longer than the absolute one", func(c *Config) { c.Session.IdleTimeout = 31 * 24 * time.Hour }, "session.idle_timeout", "longer than session.absolute_timeout"},

		{"no hashing at all", func(c *Config) { c.Password.HashConcurrency = 0 }, "password.hash_concurrency", "1 to 1024"},
		{"too many hashes at once", func(c *Config) { c.Password.HashConcurrency = 1025 }, "password.hash_concurrency", "1 to 1024"},
		{"a zero queue timeout", func(c *Config) { c.Password.HashQueueTimeout = 0 }, "password.hash_queue_timeout", "more than 0"},
		{"a queue timeout over a minute", func(c *Config) { c.Password.HashQueueTimeout = time.Minute + time.Second }, "password.hash_queue_timeout", "at most 1m"},
		{"Argon2 memory under the OWASP floor", func(c *Config) { c.Password.ArgonMemoryKiB = 7167 }, "password.argon2_memory_kib", "at least 7168"},
		{"zero Argon2 iterations", func(c *Config) { c.Password.ArgonIterations = 0 }, "password.argon2_iterations", "at least 1"},
		{"zero Argon2 lanes", func(c *Config) { c.Password.ArgonParallelism = 0 }, "password.argon2_parallelism", "at least 1"},
		{"a negative failure floor", func(c *Config) { c.Password.FailureFloor = -time.Millisecond }, "password.failure_floor", "0 to 5s"},
		{"a failure floor that holds a connection for long", func(c *Config) { c.Password.FailureFloor = 6 * time.Second }, "password.failure_floor", "0 to 5s"},
		{"no passkey algorithms", func(c *Config) { c.Passkey.Algorithms = nil }, "passkey.algorithms", "at least one"},
		{"no sign-up method", func(c *Config) { c.Signup.Methods = nil }, "signup.methods", "is empty"},
		{"sign-up by SMS", func(c *Config) { c.Signup.Methods = []string{"passkey", "sms"} }, "signup.methods", `"sms" is not`},
		{"an unknown passkey algorithm", func(c *Config) { c.Passkey.Algorithms = []string{"ES256", "MD5"} }, "passkey.algorithms", `"MD5" is not one of`},
		{"a challenge that expires too soon", func(c *Config) { c.Passkey.ChallengeTimeout = time.Second }, "passkey.challenge_timeout", "30s to 1h"},
		{"a reauth window of a week", func(c *Config) { c.Passkey.ReauthWindow = 7 * 24 * time.Hour }, "passkey.reauth_window", "1m to 24h"},
		{"an allow list and a deny list", func(c *Config) {
			c.Passkey.AAGUIDAllow = []string{"bada5566-a7aa-401f-bd96-45619a55120d"}
			c.Passkey.AAGUIDDeny = []string{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd"}
		}, "passkey.aaguid_deny", "use one"},
		{"a provider's name for an AAGUID", func(c *Config) { c.Passkey.AAGUIDAllow = []string{"1Password"} }, "passkey.aaguid_allow", `"1Password" is not an AAGUID`},
		{"an AAGUID without dashes", func(c *Config) { c.Passkey.AAGUIDDeny = []string{"bada5566a7aa401fbd9645619a55120d"} }, "passkey.aaguid_deny", "is not an AAGUID"},
		{"an attestation nobody knows", func(c *Config) { c.Passkey.Attestation = "enterprise" }, "passkey.attestation", "want none or direct"},
		{"direct attestation without metadata", func(c *Config) { c.Passkey.Attestation = AttestationDirect }, "passkey.metadata_file", "mds3.fidoalliance.org"},
		{"metadata that nothing uses", func(c *Config) { c.Passkey.MetadataFile = "/etc/keyshift/mds3.jwt" }, "passkey.metadata_file", "attestation is none"},

		{"a passkey success floor above 100 %", func(c *Config) { c.Rollout.PasskeySuccessMin = 101 }, "rollout.passkey_success_min", "0 to 100 percent"},
		{"a passkey window of nothing", func(c *Config) { c.Rollout.PasskeyWindow = 0 }, "rollout.passkey_window", "1 to 100000 attempts"},
		{"a negative recovery rise", func(c *Config) { c.Rollout.RecoveryRiseMax = -5 }, "rollout.recovery_rise_max", "want 0 to"},
		{"no recovery uses needed", func(c *Config) { c.Rollout.RecoveryMinUses = 0 }, "rollout.recovery_min_uses", "uses a week"},
		{"negative duplicates", func(c *Config) { c.Rollout.DuplicatesPerHourMax = -1 }, "rollout.duplicates_per_hour_max", "reports an hour"},
		{"retirement after no passkey use", func(c *Config) { c.Rollout.RetireAfterDays = 0 }, "rollout.retire_after_days", "1 to 3650 days"},

		{"an unknown log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `"verbose" is not one of debug, info, warn, error`},
		{"an unknown log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"xml" is not one of auto, json, text`},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			t.Parallel()
			c := production()
			tt.change(&c)
			p := findProblem(t, c.Validate(), tt.key)
			if !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem = %q, want it to contain %q", p.Msg, tt.msg)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"an RP ID that is a parent domain of the origin", func(c *Config) { c.RPID = "example.com" }},
		{"an RP ID equal to the origin's host", func(c *Config) { c.RPID = "login.example.com" }},
		{"return origins on other hosts and ports", func(c *Config) {
			c.AllowedReturnOrigins = []string{"https://app.example.com", "https://wiki.example.com:8443/", "https://example.org"}
		}},
		{"an http return origin beside an http keyshift", func(c *Config) {
			c.Origin, c.AllowedReturnOrigins = "http://localhost:8080", []string{"http://app.localhost:3000"}
		}},
		{"a cookie domain that is a parent of the origin", func(c *Config) { c.CookieDomain = "example.com" }},
		{"further origins on other sites and under the RP ID", func(c *Config) {
			c.RPID, c.Origins = "example.com", []string{"https://login.example.org", "https://www.example.com:8443"}
		}},
		{"two .localhost origins on http", func(c *Config) {
			c.Origin, c.Origins = "http://a.localhost:8080", []string{"http://b.localhost:8080"}
		}},
		{"a further http origin on a public host in dev mode", func(c *Config) {
			c.Origin, c.Origins, c.Dev = "http://dev.example.com", []string{"http://dev.example.org"}, true
		}},
		{"a cookie domain that is the origin's host", func(c *Config) { c.CookieDomain = "login.example.com" }},
		{"a cookie domain over every origin", func(c *Config) {
			c.CookieDomain, c.Origins = "example.com", []string{"https://www.example.com", "https://example.com"}
		}},
		{"direct attestation with a metadata blob", func(c *Config) {
			c.Passkey.Attestation, c.Passkey.MetadataFile = AttestationDirect, "/etc/keyshift/mds3.jwt"
		}},
		{"http on localhost", func(c *Config) { c.Origin = "http://localhost:3000" }},
		{"http on a .localhost name", func(c *Config) { c.Origin = "http://app.localhost:3000" }},
		{"http on 127.0.0.1", func(c *Config) { c.Origin = "http://127.0.0.1:8080" }},
		{"http on ::1", func(c *Config) { c.Origin = "http://[::1]:8080" }},
		{"http on a public host in dev mode", func(c *Config) { c.Origin, c.Dev = "http://dev.example.com", true }},
		{"an https origin on an IP address", func(c *Config) { c.Origin = "https://192.0.2.1:8443" }},
		{"a listen address on every interface", func(c *Config) { c.Listen = ":8080" }},
		{"a listen port chosen by the system", func(c *Config) { c.Listen = "127.0.0.1:0" }},
		{"an IPv6 listen address", func(c *Config) { c.Listen = "[::1]:8080" }},
		{"an absolute sqlite path", func(c *Config) { c.Database = "sqlite:/var/lib/keyshift/keyshift.db" }},
		{"an in-memory sqlite database", func(c *Config) { c.Database = "sqlite::memory:" }},
		{"a postgresql URL", func(c *Config) { c.Database = "postgresql://u:p@db.example.com/keyshift?sslmode=require" }},
		{"a postgres URL over a Unix socket", func(c *Config) { c.Database = "postgres:///keyshift?host=/run/postgresql" }},
		{"several SMTP servers", func(c *Config) { c.SMTPURLs = []string{"smtp://a.example.com:587", "smtps://u:p@b.example.com:465"} }},
		{"an SMTP relay without TLS", func(c *Config) { c.SMTPURLs = []string{"smtp://relay.internal:25?tls=none"} }},
		{"STARTTLS named explicitly", func(c *Config) { c.SMTPURLs = []string{"smtp://u:p@mail.example.com:587?tls=starttls"} }},
		{"an SMTP CA file of a private CA", func(c *Config) { c.SMTPCAFile = mailtest.NewCA(t).WriteFile(t) }},
		{"a sender with a display name", func(c *Config) { c.MailFrom = "Example <no-reply@example.com>" }},
		{"an admin token of 32 characters", func(c *Config) { c.AdminToken = strings.Repeat("x", 32) }},
		{"an idle timeout equal to the absolute one", func(c *Config) { c.Session.IdleTimeout = c.Session.AbsoluteTimeout }},
		{"the longest queue timeout", func(c *Config) { c.Password.HashQueueTimeout = time.Minute }},
		{"the OWASP memory floor", func(c *Config) { c.Password.ArgonMemoryKiB = 7168 }},
		{"no configured failure floor: only the observed one", func(c *Config) { c.Password.FailureFloor = 0 }},
		{"the longest failure floor", func(c *Config) { c.Password.FailureFloor = 5 * time.Second }},
		{"the most hashes at once", func(c *Config) { c.Password.HashConcurrency = 1024 }},
		{"a log level in upper case", func(c *Config) { c.Log.Level = "WARN" }},
	}
	for _, tt := range tests {
		t.Run("accepts "+tt.name, func(t *testing.T) {
			t.Parallel()
			c := production()
			tt.change(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

func TestValidateNormalisesTheOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://login.example.com", "https://login.example.com"},
		{"https://login.example.com/", "https://login.example.com"},
		{"HTTPS://Login.Example.COM", "https://login.example.com"},
		{"https://login.example.com:443", "https://login.example.com"},
		{"https://login.example.com:8443/", "https://login.example.com:8443"},
		{"http://localhost:80/", "http://localhost"},
		{"http://localhost:443", "http://localhost:443"},
		{"http://[::1]:8080/", "http://[::1]:8080"},
		{"http://[::1]:80", "http://[::1]"},
	}
	for _, tt := range tests {
		t.Run("turns "+tt.in+" into "+tt.want, func(t *testing.T) {
			t.Parallel()
			c := production()
			c.Origin = tt.in
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.Origin != tt.want {
				t.Errorf("Origin = %q, want %q", c.Origin, tt.want)
			}
		})
	}
}

func TestValidateNormalisesReturnOrigins(t *testing.T) {
	t.Parallel()
	c := production()
	c.AllowedReturnOrigins = []string{"HTTPS://App.Example.com:443/", "https://wiki.example.com:8443"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://app.example.com", "https://wiki.example.com:8443"}
	if strings.Join(c.AllowedReturnOrigins, " ") != strings.Join(want, " ") {
		t.Errorf("AllowedReturnOrigins = %q, want %q", c.AllowedReturnOrigins, want)
	}
}

func TestValidateNormalisesFurtherOrigins(t *testing.T) {
	t.Parallel()
	c := production()
	c.Origins = []string{"HTTPS://Login.Example.ORG:443/", "https://login.example.net:8443/"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://login.example.com", "https://login.example.org", "https://login.example.net:8443"}
	if got := c.AllOrigins(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("AllOrigins = %q, want %q", got, want)
	}
}

func TestWarningsNameOriginsThatNeedTheRelatedOriginsFile(t *testing.T) {
	t.Parallel()
	c := production()
	c.RPID = "example.com"
	c.Origins = []string{"https://www.example.com", "https://login.example.org", "https://a.one.test", "https://b.two.test",
		"https://c.three.test", "https://d.four.test", "https://e.five.test"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.String())
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		`https://login.example.org is not rp_id "example.com" nor under it`,
		"https://example.com/.well-known/webauthn lists it",
		"name 6 different site names",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "https://www.example.com is") {
		t.Errorf("warnings name www.example.com, which is under the RP ID:\n%s", joined)
	}

	c = production()
	c.Origins = []string{"https://login.example.org"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, w := range c.Warnings() {
		if strings.Contains(w.String(), "site names") {
			t.Errorf("two sites earn a warning: %s", w)
		}
	}
}

func TestValidateDerivesTheRPIDFromTheOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct{ origin, want string }{
		{"https://Login.Example.com:8443/", "login.example.com"},
		{"http://localhost:8080", "localhost"},
		{"http://[::1]:8080", "::1"},
	}
	for _, tt := range tests {
		t.Run("derives "+tt.want+" from "+tt.origin, func(t *testing.T) {
			t.Parallel()
			c, err := Load("", env(map[string]string{"KEYSHIFT_ORIGIN": tt.origin, "KEYSHIFT_MAIL": "log"}))
			if err != nil {
				t.Fatal(err)
			}
			if c.RPID != tt.want {
				t.Errorf("RPID = %q, want %q", c.RPID, tt.want)
			}
		})
	}
}

func TestValidateKeepsAnExplicitRPID(t *testing.T) {
	t.Parallel()
	c, err := Load("", env(map[string]string{"KEYSHIFT_ORIGIN": "https://login.example.com", "KEYSHIFT_RP_ID": "example.com", "KEYSHIFT_MAIL": "log"}))
	if err != nil || c.RPID != "example.com" {
		t.Errorf("RPID = %q, err %v; want example.com", c.RPID, err)
	}
}

func TestValidateDoesNotPileAnRPIDProblemOnABadOrigin(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Origin = "ftp://x"
	if ps := problemsOf(t, c.Validate()); len(ps) != 1 || ps[0].Key != "origin" {
		t.Errorf("problems = %v, want only the origin's", ps)
	}
}

func TestProblemsReadAsOneLineEach(t *testing.T) {
	t.Parallel()
	ps := Problems{
		{Key: "origin", Msg: `"ftp://x" is not an http(s) URL`},
		{Key: "session.idle_timeout", Msg: "is 0s"},
		{Key: "listne", Msg: "unknown key (k.yaml:1)"},
		{Msg: "k.yaml: yaml: line 1: bad"},
	}
	want := `config: origin (KEYSHIFT_ORIGIN): "ftp://x" is not an http(s) URL
config: session.idle_timeout (KEYSHIFT_SESSION_IDLE_TIMEOUT): is 0s
config: listne: unknown key (k.yaml:1)
config: k.yaml: yaml: line 1: bad`
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestProblemsNeverShowSecrets(t *testing.T) {
	t.Parallel()
	c := production()
	c.Database = "postgres://keyshift:hunter2@/keyshift"
	c.SMTPURLs = []string{"smtp://mailer:hunter2@mail.example.com", "smtp://mailer:hunter2@%zz:25"}
	c.Origin = "https://user:hunter2@example.com"
	c.AdminToken = "hunter2"
	err := c.Validate()
	if n := len(problemsOf(t, err)); n != 5 {
		t.Errorf("got %d problems, want 5:\n%v", n, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a secret leaked into the error:\n%v", err)
	}
}

func TestDatabaseDriver(t *testing.T) {
	t.Parallel()
	tests := []struct{ database, driver, dsn string }{
		{"sqlite:keyshift.db", "sqlite", "keyshift.db"},
		{"sqlite:/var/lib/keyshift/k.db", "sqlite", "/var/lib/keyshift/k.db"},
		{"postgres://u@db:5432/k", "postgres", "postgres://u@db:5432/k"},
		{"postgresql://u@db/k?sslmode=disable", "postgres", "postgresql://u@db/k?sslmode=disable"},
		{"mysql://db/k", "", ""},
	}
	for _, tt := range tests {
		t.Run("splits "+tt.database, func(t *testing.T) {
			t.Parallel()
			c := Config{Database: tt.database}
			if driver, dsn := c.DatabaseDriver(); driver != tt.driver || dsn != tt.dsn {
				t.Errorf("DatabaseDriver() = %q, %q; want %q, %q", driver, dsn, tt.driver, tt.dsn)
			}
		})
	}
}

func TestSecureCookiesFollowTheOriginScheme(t *testing.T) {
	t.Parallel()
	for origin, want := range map[string]bool{
		"https://login.example.com": true,
		"HTTPS://login.example.com": true,
		"http://localhost:8080":     false,
	} {
		if got := (Config{Origin: origin}).SecureCookies(); got != want {
			t.Errorf("SecureCookies() for %s = %v, want %v", origin, got, want)
		}
	}
}

func TestOriginHostKeepsThePort(t *testing.T) {
	t.Parallel()
	for origin, want := range map[string]string{
		"https://login.example.com":      "login.example.com",
		"https://login.example.com:8443": "login.example.com:8443",
		"http://[::1]:8080":              "[::1]:8080",
		"::":                             "",
	} {
		if got := (Config{Origin: origin}).OriginHost(); got != want {
			t.Errorf("OriginHost() for %s = %q, want %q", origin, got, want)
		}
	}
}

// A pepper of 32 bytes in each written form, and one too short.
const (
	pepperB64   = "pO5b9sA6l1cJm0rN3k8YbQ2wz7vQ1xT4uE9iR5oP6aM="
	pepperHex   = "a4ee5bf6c03a97570999ad0cde4f186d0db0cfef3d5c4e1e2b844f62247e8da3"
	pepperShort = "c2hvcnQ="
)

func TestValidateTheNewSecretsSettings(t *testing.T) {
	t.Parallel()
	pepperFile := writeFile(t, pepperB64+"\n")
	shortFile := writeFile(t, pepperShort+"\n")
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // "" when the change is valid
		msg    string
	}{
		{"accepts a base64 pepper", func(c *Config) { c.Pepper = pepperB64 }, "", ""},
		{"accepts a hex pepper and previous peppers", func(c *Config) { c.Pepper, c.PreviousPeppers = pepperHex, []string{pepperB64} }, "", ""},
		{"accepts a pepper file", func(c *Config) { c.PepperFile = pepperFile }, "", ""},
		{"refuses a short pepper without showing it", func(c *Config) { c.Pepper = pepperShort }, "pepper", "at least 32 bytes"},
		{"refuses a pepper and a pepper file together", func(c *Config) { c.Pepper, c.PepperFile = pepperB64, pepperFile }, "pepper_file", "set one of them"},
		{"refuses a missing pepper file", func(c *Config) { c.PepperFile = filepath.Join(t.TempDir(), "none") }, "pepper_file", "no such file"},
		{"refuses a pepper file with a short pepper", func(c *Config) { c.PepperFile = shortFile }, "pepper_file", "at least 32 bytes"},
		{"refuses a bad previous pepper by its place", func(c *Config) { c.PreviousPeppers = []string{pepperB64, "nope"} }, "previous_peppers", "entry 2"},

		{"refuses trusting every IPv4 peer", func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }, "trusted_proxies", "trusts every peer"},
		{"refuses trusting every IPv6 peer", func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("::/0")} }, "trusted_proxies", "trusted_proxies_allow_all"},
		{"accepts every peer when explicitly allowed", func(c *Config) {
			c.TrustedProxies, c.TrustedProxiesAllowAll = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, true
		}, "", ""},

		{"accepts a metrics address", func(c *Config) { c.MetricsListen = "127.0.0.1:9090" }, "", ""},
		{"refuses a metrics address without a port", func(c *Config) { c.MetricsListen = "127.0.0.1" }, "metrics_listen", "not host:port"},
		{"refuses the listen address as the metrics address", func(c *Config) { c.Listen, c.MetricsListen = ":8080", ":8080" }, "metrics_listen", "listen address itself"},

		{"refuses an unknown mail mode", func(c *Config) { c.Mail = "pigeon" }, "mail", `"pigeon" is not one of auto, smtp, log`},
		{"refuses mail: smtp without a server", func(c *Config) { c.Mail, c.SMTPURLs = "smtp", nil }, "smtp_url", "misspelt"},
		{"refuses mail: log beside a server", func(c *Config) { c.Mail = "log" }, "mail", "remove one"},
		{"refuses a public origin without SMTP", func(c *Config) { c.SMTPURLs = nil }, "smtp_url", "no sign-in link"},
		{"accepts a public origin without SMTP with mail: log", func(c *Config) { c.SMTPURLs, c.Mail = nil, "LOG" }, "", ""},
		{"accepts a public origin without SMTP in dev mode", func(c *Config) { c.SMTPURLs, c.Dev = nil, true }, "", ""},
		{"accepts a local origin without SMTP", func(c *Config) { c.SMTPURLs, c.Origin = nil, "http://localhost:8080" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := production()
			tt.change(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if p := findProblem(t, err, tt.key); !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem = %q, want it to contain %q", p.Msg, tt.msg)
			}
			for _, secret := range []string{pepperShort, "nope"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the problem shows the pepper %q:\n%v", secret, err)
				}
			}
		})
	}
}

func TestMailTransportIsDecidedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		smtp []string
		dev  bool
		mail string
		want string
	}{
		{"SMTP when a server is set", []string{"smtp://mail.example.com:587"}, true, "auto", MailSMTP},
		{"the dev mailer in dev mode without SMTP", nil, true, "auto", MailDev},
		{"logging only without SMTP or dev mode", nil, false, "auto", MailLog},
		{"logging only when asked, even in dev mode", nil, true, "log", MailLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.SMTPURLs, c.Dev, c.Mail = tt.smtp, tt.dev, tt.mail
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.MailTransport(); got != tt.want {
				t.Errorf("MailTransport = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWarningsNameShortProxyPrefixes(t *testing.T) {
	t.Parallel()
	c := Default()
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.String())
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"10.0.0.0/8 is shorter than /16", "fd00::/8 is shorter than /48"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	for _, quiet := range []string{"10.1.0.0/16", "192.0.2.10", "2001:db8:1::/48"} {
		if strings.Contains(joined, quiet) {
			t.Errorf("warnings name %s, which is long enough:\n%s", quiet, joined)
		}
	}
}

func TestUnknownVariablesAreNamedWithTheClosestSetting(t *testing.T) {
	t.Parallel()
	got := UnknownVariables([]string{"KEYSHIFT_SMTP_ULR", "KEYSHIFT_SMTP_URL", "KEYSHIFT_TEST_POSTGRES", "HOME", "KEYSHIFT_COLOUR_SCHEME"})
	want := []string{
		"environment variable KEYSHIFT_COLOUR_SCHEME is not a keyshift setting and is ignored",
		"environment variable KEYSHIFT_SMTP_ULR is not a keyshift setting and is ignored; did you mean KEYSHIFT_SMTP_URL?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("UnknownVariables =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
