// Package config holds keyshift's configuration: where the server listens, the
// public origin that passkeys are bound to, storage, mail, and how much work
// password hashing may take.
//
// Values come from Default, then an optional YAML file, then KEYSHIFT_*
// environment variables, and Validate reports every problem at once, so an
// operator fixes a broken deployment in one round instead of one error per
// restart. docs/configuration.md lists every key; a test keeps it honest.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config is keyshift's whole configuration. Load builds it; code that builds one
// by hand should start from Default and call Validate, which also fills the
// derived fields (RPID) and puts Origin in canonical form.
type Config struct {
	// Listen is the address the HTTP server binds, host:port (KEYSHIFT_LISTEN).
	Listen string
	// Origin is the public origin pages are served from, scheme://host[:port]
	// (KEYSHIFT_ORIGIN). Browsers bind passkeys and cookies to it, and
	// cross-origin checks compare the request's Origin header with it, so
	// Validate stores it in canonical form: lower case, no default port, no
	// trailing slash.
	Origin string
	// Origins are further origins keyshift is served on besides Origin
	// (KEYSHIFT_ORIGINS, comma-separated), for a site on two domains that
	// wants one passkey for both: WebAuthn Level 3 related origins (§5.11).
	// Ceremonies accept each of them, /.well-known/webauthn lists them, and
	// the Host and cross-origin checks let them in. Mail links keep Origin.
	// Validate stores them in Origin's canonical form.
	Origins []string
	// RPID is the WebAuthn relying party ID (KEYSHIFT_RP_ID). Passkeys are
	// scoped to it forever, so it may be a parent domain of the origin's host to
	// let passkeys survive a move between subdomains. Empty means the origin's
	// host; Validate fills it in.
	RPID string
	// RPName is the name browsers show when they offer to save a passkey
	// (KEYSHIFT_RP_NAME).
	RPName string
	// Database is "sqlite:PATH" or a "postgres://" / "postgresql://" URL
	// (KEYSHIFT_DATABASE); DatabaseDriver splits it for the store.
	Database string
	// SMTPURLs are the mail servers, smtp:// or smtps://, tried in order until
	// one accepts a message (KEYSHIFT_SMTP_URL, comma-separated). Empty means
	// no mail leaves keyshift: see Mail and MailTransport.
	SMTPURLs []string
	// Mail is how mail leaves keyshift (KEYSHIFT_MAIL): "auto" (SMTP when
	// SMTPURLs is set, else the dev mailer in dev mode, else nothing is
	// delivered — refused at start for an origin that is not this machine),
	// "smtp" (SMTPURLs must be set: a misspelt variable stops the start
	// instead of silently dropping mail) or "log" (nothing is delivered;
	// each mail is logged by id, kind and recipient domain only).
	Mail string
	// SMTPCAFile is a PEM file of CA certificates trusted for SMTP servers
	// besides the system's (KEYSHIFT_SMTP_CA_FILE), for a relay whose
	// certificate a private CA signed. Empty means the system's roots only.
	SMTPCAFile string
	// MailFrom is the sender address of every mail keyshift sends
	// (KEYSHIFT_MAIL_FROM).
	MailFrom string
	// AdminToken is the bearer token the admin API accepts
	// (KEYSHIFT_ADMIN_TOKEN). Empty means no token from configuration; tokens
	// created with `keyshift admin token create` still work.
	AdminToken string
	// Dev turns on conveniences that must never run in production, such as the
	// dev mailer page and http origins on public hosts (KEYSHIFT_DEV).
	Dev bool
	// TrustedProxies are the peers whose X-Forwarded-For header is believed
	// when finding a client's address for throttling and audit
	// (KEYSHIFT_TRUSTED_PROXIES). A bare IP is stored as a /32 or /128 prefix.
	// Empty means no proxy is trusted and the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// TrustedProxiesAllowAll lets TrustedProxies hold 0.0.0.0/0 or ::/0
	// (KEYSHIFT_TRUSTED_PROXIES_ALLOW_ALL), for a keyshift that no one can
	// reach but through its proxies. Without it such a prefix is refused:
	// it lets every client choose the address it is throttled by.
	TrustedProxiesAllowAll bool
	// MetricsListen is a second address that serves /metrics alone
	// (KEYSHIFT_METRICS_LISTEN). Empty means /metrics is on Listen, where it
	// answers only a request bearing AdminToken or one from a loopback peer
	// that no proxy forwarded.
	MetricsListen string
	// Pepper is the server secret kept outside the database
	// (KEYSHIFT_PEPPER): 32 bytes or more, as base64 or hex. Recovery codes
	// are hashed and the outbox's mail is sealed under keys derived from it.
	// Empty: PepperFile, else a file beside a SQLite database (made on first
	// start); PostgreSQL needs one set (package pepper).
	Pepper string
	// PepperFile is a file holding the pepper (KEYSHIFT_PEPPER_FILE), for
	// secrets mounted as files.
	PepperFile string
	// PreviousPeppers are peppers Pepper replaced (KEYSHIFT_PREVIOUS_PEPPERS,
	// comma-separated): what was made under them still opens.
	PreviousPeppers []string
	// AllowedReturnOrigins are the origins, scheme://host[:port], besides
	// Origin itself that /signin?return_to= and forward-auth may send a
	// browser back to after sign-in (KEYSHIFT_ALLOWED_RETURN_ORIGINS,
	// comma-separated). Matched exactly (package returnto): never a
	// pattern, so one forgotten subdomain cannot become an open redirect.
	AllowedReturnOrigins []string
	// CookieDomain, when set, is the parent domain the session cookie is
	// shared with (KEYSHIFT_COOKIE_DOMAIN), so that a forward-auth proxy in
	// front of the site's apps on sibling hosts receives it. The cookie then
	// loses the __Host- prefix (docs/security.md, "Sharing the session
	// cookie"). Empty keeps the cookie on Origin's host alone.
	CookieDomain string

	// Session bounds how long a sign-in lasts.
	Session SessionConfig
	// Password sets the cost of password hashing and how much of it may run at once.
	Password PasswordConfig
	// Log chooses what is logged and how.
	Log LogConfig
	// Passkey is the WebAuthn relying-party policy.
	Passkey PasskeyConfig
	// Notify chooses which optional security notices are mailed.
	Notify NotifyConfig
	// OIDC is the OpenID Provider's configuration (docs/integrate.md).
	OIDC OIDCConfig
	// Signup decides whether strangers may create accounts.
	Signup SignupConfig
	// EmailChange is the policy of members moving their account to another
	// address.
	EmailChange EmailChangeConfig
	// EmailSignin is what an email link or code (and a recovery code)
	// grants a member who holds a passkey.
	EmailSignin EmailSigninConfig
	// SupportRecovery is the policy of `keyshift admin recover`.
	SupportRecovery SupportRecoveryConfig
	// Rollout holds the staged rollout's guardrails and retirement rule; the
	// phase and cohorts themselves live in the database (docs/rollout.md).
	Rollout RolloutConfig
	// Telemetry is how long the rollout's telemetry is kept.
	Telemetry TelemetryConfig
}

// TelemetryConfig is the telemetry's retention (docs/telemetry.md).
type TelemetryConfig struct {
	// RetentionDays is how long telemetry events and counters are kept
	// (KEYSHIFT_TELEMETRY_RETENTION_DAYS); older ones are pruned.
	RetentionDays int
}

// RolloutConfig are the limits that refuse advancing the rollout (and hold
// it, with Hold) when telemetry goes wrong, and how long passkey use must
// last before a password may be retired. A zero limit is off.
type RolloutConfig struct {
	// PasskeySuccessMin is the lowest passkey sign-in success rate, in
	// percent, over the last PasskeyWindow attempts.
	PasskeySuccessMin int
	PasskeyWindow     int
	// RecoveryRiseMax is the largest week-over-week rise of recovery uses,
	// in percent, once a week has RecoveryMinUses of them.
	RecoveryRiseMax int
	RecoveryMinUses int
	// DuplicatesPerHourMax is the most duplicate-passkey reports an hour.
	DuplicatesPerHourMax int
	// Hold makes a tripped guardrail hold the rollout.
	Hold bool
	// RetireAfterDays is how long a member must have signed in with a
	// passkey before their password may be retired.
	RetireAfterDays int
}

// SignupConfig decides who may create an account.
type SignupConfig struct {
	// Open lets anyone create an account, with a password or by email
	// sign-in (KEYSHIFT_SIGNUP_OPEN). When false only existing members
	// (imported, or created by an operator) can sign in.
	Open bool
	// Methods are the ways a new account may be made
	// (KEYSHIFT_SIGNUP_METHODS): "passkey" (the address proven by a mailed
	// code, then a passkey, or email only) and "password". Without
	// "password", POST /api/signup with a password answers 403
	// password_signup_disabled and /signup shows no password field. It
	// governs new accounts only: members keep what they have.
	Methods []string
}

// Sign-up methods (signup.methods).
const (
	SignupPasskey  = "passkey"
	SignupPassword = "password"
)

// SignupAllows reports whether new accounts may be made with method.
func (s SignupConfig) SignupAllows(method string) bool { return slices.Contains(s.Methods, method) }

// EmailChangeConfig is the policy of email changes. The old address can
// undo a change for 7 days; that is fixed, so that no setting can leave
// the owner too little time to notice a change they did not ask for.
type EmailChangeConfig struct {
	// LinkTimeout is how long the confirmation link mailed to the new
	// address works (KEYSHIFT_EMAIL_CHANGE_TIMEOUT).
	LinkTimeout time.Duration
}

// SupportRecoveryConfig is the policy of support recovery (`keyshift admin
// recover`; docs/security.md, "Support recovery").
type SupportRecoveryConfig struct {
	// Wait is how long a recovery waits, while every known channel of the
	// account can cancel it, before the new address gets its link
	// (KEYSHIFT_SUPPORT_RECOVERY_WAIT).
	Wait time.Duration
	// LinkTimeout is how long that link works
	// (KEYSHIFT_SUPPORT_RECOVERY_LINK_TIMEOUT).
	LinkTimeout time.Duration
}

// The policies of email sign-in for passkey accounts
// (EmailSigninConfig.PasskeyAccounts; docs/security.md, "Probation").
const (
	// PasskeyAccountsFull: an email link or code signs a passkey member in
	// like any other (the behaviour before the policy existed).
	PasskeyAccountsFull = "full"
	// PasskeyAccountsRestricted: the session lasts at most an hour, and a
	// passkey it adds is on probation.
	PasskeyAccountsRestricted = "restricted"
	// PasskeyAccountsRequirePasskey: the email landing asks for one of the
	// member's passkeys on this device before signing in.
	PasskeyAccountsRequirePasskey = "require_passkey"
)

// EmailSigninConfig is the policy of weaker sign-ins (an email link or
// code, a recovery code) of members who hold at least one passkey. Members
// without a passkey are never affected.
type EmailSigninConfig struct {
	// PasskeyAccounts is full, restricted or require_passkey
	// (KEYSHIFT_EMAIL_SIGNIN_PASSKEY_ACCOUNTS).
	PasskeyAccounts string
	// Probation is how long a passkey added in a session that a weaker
	// channel opened cannot remove older passkeys, change the email or the
	// password, or make recovery codes (KEYSHIFT_EMAIL_SIGNIN_PROBATION).
	Probation time.Duration
}

// Restricted reports whether weaker sign-ins of passkey members are
// restricted (capped sessions, passkeys on probation): every policy but
// full.
func (e EmailSigninConfig) Restricted() bool { return e.PasskeyAccounts != PasskeyAccountsFull }

// RestrictedSessionCap is the longest a session lasts that an email link or
// code, or a recovery code, opened for a member with a passkey, under every
// policy but full.
const RestrictedSessionCap = time.Hour

// NotifyConfig chooses optional security notices. Notices of passkeys added
// or removed are always sent.
type NotifyConfig struct {
	// NewDevice mails the member when a browser without their device cookie
	// signs in (KEYSHIFT_NOTIFY_NEW_DEVICE).
	NewDevice bool
}

// The attestation a registration asks for (PasskeyConfig.Attestation).
const (
	AttestationNone   = "none"
	AttestationDirect = "direct"
)

// PasskeyConfig is the operator's passkey policy.
type PasskeyConfig struct {
	// AllowRoaming lets members register roaming authenticators (hardware
	// security keys) besides platform and synced passkeys
	// (KEYSHIFT_PASSKEY_ALLOW_ROAMING).
	AllowRoaming bool
	// AAGUIDAllow, when set, is the only authenticators (by AAGUID) that
	// may register a passkey (KEYSHIFT_PASSKEY_AAGUID_ALLOW); AAGUIDDeny is
	// those that may not (KEYSHIFT_PASSKEY_AAGUID_DENY). One or the other.
	// With attestation "none" an AAGUID is the authenticator's unverified
	// claim: a convenience filter, not a security boundary.
	AAGUIDAllow []string
	AAGUIDDeny  []string
	// DeviceBoundOnly refuses passkeys that may sync (backup eligible)
	// (KEYSHIFT_PASSKEY_DEVICE_BOUND_ONLY).
	DeviceBoundOnly bool
	// Attestation is what registration asks of the authenticator
	// (KEYSHIFT_PASSKEY_ATTESTATION): "none", or "direct" — verified against
	// the FIDO metadata blob at MetadataFile, and required: a passkey whose
	// maker the blob does not confirm is refused.
	Attestation string
	// MetadataFile is a FIDO MDS3 blob downloaded by the operator
	// (KEYSHIFT_PASSKEY_METADATA_FILE); MetadataRoot a PEM file with the
	// root it must chain to (KEYSHIFT_PASSKEY_METADATA_ROOT; empty: the FIDO
	// Alliance's root).
	MetadataFile string
	MetadataRoot string
	// Algorithms are the COSE algorithms offered at registration, most
	// preferred first: ES256, EdDSA, RS256 (KEYSHIFT_PASSKEY_ALGORITHMS).
	Algorithms []string
	// ChallengeTimeout is how long a ceremony's challenge stays valid
	// (KEYSHIFT_PASSKEY_CHALLENGE_TIMEOUT).
	ChallengeTimeout time.Duration
	// ReauthWindow is how recent a sign-in must be for sensitive actions
	// (adding or removing a passkey) (KEYSHIFT_REAUTH_WINDOW).
	ReauthWindow time.Duration
}

// SessionConfig bounds a session's life: a stolen cookie stops working when
// either limit passes.
type SessionConfig struct {
	// IdleTimeout ends a session not used for this long
	// (KEYSHIFT_SESSION_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in however much it is
	// used (KEYSHIFT_SESSION_ABSOLUTE_TIMEOUT).
	AbsoluteTimeout time.Duration
}

// PasswordConfig sets the Argon2id cost and caps how many hashes run at once,
// so a burst of sign-ins queues briefly and then fails fast instead of
// exhausting memory.
type PasswordConfig struct {
	// HashConcurrency is how many password hashes may run at once
	// (KEYSHIFT_HASH_CONCURRENCY); each holds ArgonMemoryKiB of memory.
	HashConcurrency int
	// HashQueueTimeout is how long a sign-in waits for a hashing slot before
	// the server answers 503 (KEYSHIFT_HASH_QUEUE_TIMEOUT).
	HashQueueTimeout time.Duration
	// ArgonMemoryKiB is Argon2id's memory cost m in KiB (KEYSHIFT_ARGON2_MEMORY_KIB).
	ArgonMemoryKiB uint32
	// ArgonIterations is Argon2id's time cost t (KEYSHIFT_ARGON2_ITERATIONS).
	ArgonIterations uint32
	// ArgonParallelism is Argon2id's lanes p (KEYSHIFT_ARGON2_PARALLELISM).
	ArgonParallelism uint8
	// FailureFloor is the least time a failed password sign-in takes
	// (KEYSHIFT_PASSWORD_FAILURE_FLOOR); keyshift raises it to 5/4 of the
	// slowest verification of the last day (password.FailureFloor), so that
	// the time does not tell which addresses have accounts or imported
	// hashes.
	FailureFloor time.Duration
}

// LogConfig chooses what is logged and how.
type LogConfig struct {
	// Level is the least severe level logged: debug, info, warn or error
	// (KEYSHIFT_LOG_LEVEL).
	Level string
	// Format is json, text or auto (KEYSHIFT_LOG_FORMAT). The caller resolves
	// auto, to json when stderr is not a terminal, because only it knows where
	// logs go.
	Format string
}

// Default returns the configuration used when nothing is set: a local
// development server on http://localhost:8080 with SQLite and the dev mailer.
// RPID stays empty so that it follows whatever Origin ends up being.
func Default() Config {
	return Config{
		Listen:   "127.0.0.1:8080",
		Origin:   "http://localhost:8080",
		RPName:   "keyshift",
		Database: "sqlite:keyshift.db",
		Mail:     "auto",
		MailFrom: "keyshift@localhost",
		Session: SessionConfig{
			IdleTimeout:     7 * 24 * time.Hour,
			AbsoluteTimeout: 30 * 24 * time.Hour,
		},
		Passkey: PasskeyConfig{
			AllowRoaming:     true,
			Attestation:      AttestationNone,
			Algorithms:       []string{"ES256", "EdDSA", "RS256"},
			ChallengeTimeout: 5 * time.Minute,
			ReauthWindow:     5 * time.Minute,
		},
		Notify:          NotifyConfig{NewDevice: true},
		Signup:          SignupConfig{Open: true, Methods: []string{SignupPasskey, SignupPassword}},
		EmailChange:     EmailChangeConfig{LinkTimeout: time.Hour},
		EmailSignin:     EmailSigninConfig{PasskeyAccounts: PasskeyAccountsRestricted, Probation: 24 * time.Hour},
		SupportRecovery: SupportRecoveryConfig{Wait: 72 * time.Hour, LinkTimeout: 7 * 24 * time.Hour},
		Rollout: RolloutConfig{PasskeySuccessMin: 90, PasskeyWindow: 200, RecoveryRiseMax: 50, RecoveryMinUses: 20,
			DuplicatesPerHourMax: 50, RetireAfterDays: 90},
		Telemetry: TelemetryConfig{RetentionDays: 400},
		Password: PasswordConfig{
			// Capped so that a very large machine still gets a valid default.
			HashConcurrency:  min(runtime.NumCPU(), maxHashConcurrency),
			HashQueueTimeout: 2 * time.Second,
			ArgonMemoryKiB:   19456, // OWASP: m=19 MiB, t=2, p=1
			ArgonIterations:  2,
			ArgonParallelism: 1,
			FailureFloor:     250 * time.Millisecond, // a bcrypt at cost 12, with room
		},
		Log: LogConfig{Level: "info", Format: "auto"},
	}
}

// Load applies defaults, then the YAML file at path (skipped when path == ""),
// then KEYSHIFT_* variables read through getenv (they win; a nil getenv reads
// none), then Validate. A file that cannot be read is an error of its own,
// wrapping the os error (errors.Is(err, fs.ErrNotExist) works); every other
// problem, from the file, the environment or Validate, comes back together as
// Problems.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	var ps Problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: reading the config file: %w", err)
		}
		ps = append(ps, c.applyYAML(data, path)...)
	}
	if getenv != nil {
		ps = append(ps, c.applyEnv(getenv)...)
	}
	ps = append(ps, c.problems()...)
	if len(ps) > 0 {
		return Config{}, ps
	}
	return c, nil
}

// The transports MailTransport names.
const (
	MailSMTP = "smtp" // delivered through SMTPURLs
	MailDev  = "dev"  // kept for /dev/mail (dev mode only)
	MailLog  = "log"  // not delivered; logged by id, kind and recipient domain
)

// MailTransport decides once how mail leaves keyshift: MailSMTP when SMTP
// servers are set, MailDev in dev mode without them (unless Mail is "log"),
// MailLog otherwise. Validate has already refused the combinations that
// would drop a production server's mail silently.
func (c Config) MailTransport() string {
	switch {
	case len(c.SMTPURLs) > 0:
		return MailSMTP
	case c.Dev && c.Mail != MailLog:
		return MailDev
	}
	return MailLog
}

// SecureCookies reports whether cookies must carry Secure, which is whenever
// the origin is https: browsers drop Secure cookies on plain http.
func (c Config) SecureCookies() bool {
	return strings.HasPrefix(strings.ToLower(c.Origin), "https://")
}

// AllOrigins returns Origin, then Origins: every origin keyshift serves,
// the primary first.
func (c Config) AllOrigins() []string {
	return append([]string{c.Origin}, c.Origins...)
}

// OriginHost returns the host[:port] of Origin, as browsers send it in the Host
// header; it is "" when Origin is not a URL.
func (c Config) OriginHost() string {
	u, err := url.Parse(c.Origin)
	if err != nil {
		return ""
	}
	return u.Host
}

// DatabaseDriver returns "sqlite" or "postgres", and dsn the driver-specific
// part: the file path for sqlite, the whole URL for postgres. Both are "" when
// Database is neither form, which Validate reports.
func (c Config) DatabaseDriver() (driver, dsn string) {
	driver, dsn, err := parseDatabase(c.Database)
	if err != nil {
		return "", ""
	}
	return driver, dsn
}

// OIDCConfig configures the OpenID Provider.
type OIDCConfig struct {
	// ClientsFile is a YAML file of apps declared in configuration
	// (KEYSHIFT_OIDC_CLIENTS_FILE), read at start; empty means the apps are
	// those `keyshift admin client create` made.
	ClientsFile string
}
