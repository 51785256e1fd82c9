// Package server assembles keyshift from its parts — store, password
// hashing, account service, web — and runs it: the HTTP server with graceful
// shutdown and the background janitor. `keyshift serve`, the end-to-end
// tests and the benchmarks all build keyshift here, so they run the same
// thing.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/export"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/throttle"
	"github.com/keyshift/keyshift/internal/web"
)

// Server is an assembled keyshift.
type Server struct {
	Config config.Config
	DB     *store.DB
	// Sessions starts, proves and ends members' sessions.
	Sessions *session.Service
	// Members locks and cleans up accounts.
	Members *member.Service
	// Passwords signs members up and in with a password.
	Passwords *passwordauth.Service
	// Recovery makes recovery codes and signs in with them.
	Recovery *recovery.Service
	Passkeys *passkey.Service
	// Signin, Confirm and Change are the email flows.
	Signin  *signin.Service
	Confirm *confirm.Service
	Change  *change.Service
	// Export gathers members' own data (GET /api/account/export).
	Export *export.Service
	// StepUp confirms members who have only their mailbox by a mailed code.
	StepUp *stepup.Service
	// Support is support recovery (`keyshift admin recover`); the janitor
	// mails its links when their wait ends.
	Support *support.Service
	Web     *web.Server
	Gate    *password.Gate
	// Hasher hashes passwords through Gate.
	Hasher *password.Hasher
	// Random makes ids and tokens (crypto/rand).
	Random account.Random
	Log    *slog.Logger
	// Outbox queues mail; the worker Serve runs delivers it.
	Outbox  *outbox.Outbox
	Notices *notice.Notifier
	// Rollout is the staged rollout; the janitor lets its guardrails hold it.
	Rollout *rollout.Service
	// Telemetry records the rollout's events; Folder counts them.
	Telemetry  *telemetry.Recorder
	Folder     *telemetry.Folder
	mailWorker *outbox.Worker
	// metricsLn serves /metrics alone when metrics_listen is set.
	metricsLn net.Listener
	registry  *prometheus.Registry
	now       func() time.Time
}

// Options adjust assembly for tests and benchmarks.
type Options struct {
	Log *slog.Logger
	// Now replaces the clock (tests of expiry).
	Now func() time.Time
	// Registry receives metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	// MailPolicy tunes mail delivery (tests); zero values are the defaults.
	MailPolicy outbox.Policy
	// Build is the running build (/healthz, keyshift_build_info); zero
	// reads it from the binary with version "dev".
	Build buildinfo.Info
}

// New opens the database (migrating it), and builds the services and routes.
// The caller must Close the Server.
func New(ctx context.Context, cfg config.Config, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	for _, f := range db.MadePrivate() {
		o.Log.Warn("a database file was readable by other users; it is now readable by its owner only", "file", f)
	}
	if cs, err := db.FindEmailKeyConflicts(ctx); err != nil {
		db.Close()
		return nil, err
	} else if len(cs) > 0 {
		o.Log.Warn("accounts without an address key: no typed address finds them until they get one; keyshift admin email-keys lists them",
			"accounts", len(cs))
	}
	s, err := assemble(ctx, cfg, db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	if cfg.MetricsListen != "" {
		// Bound here, not in Serve, so a taken port stops the start.
		if s.metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			db.Close()
			return nil, fmt.Errorf("metrics_listen (KEYSHIFT_METRICS_LISTEN): %w", err)
		}
	}
	return s, nil
}

// MetricsAddr is the address /metrics is served on alone (metrics_listen),
// or nil when it is not set.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// Notices returns the security notices of a keyshift on db, for commands
// that change accounts while servers run (`keyshift rollout retire`): mail
// is queued in the outbox, sealed under the configured pepper, and the
// servers' workers deliver it.
func Notices(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (*notice.Notifier, error) {
	peppers, err := loadPepper(ctx, cfg, db, log)
	if err != nil {
		return nil, err
	}
	box := outbox.NewOutbox(db, nil, outbox.WithKeys(peppers.Keys(outbox.SealPurpose)))
	return notice.New(notice.Config{Origin: cfg.Origin, Site: cfg.RPName, NewDevice: cfg.Notify.NewDevice}, box, db, time.Now), nil
}

// SupportRecovery returns the support recovery of a keyshift on db, for
// `keyshift admin recover` while servers run: its notices are queued in the
// outbox, sealed under the configured pepper, for the servers' workers to
// deliver, and their janitors mail the links when the wait ends.
func SupportRecovery(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (*support.Service, error) {
	peppers, err := loadPepper(ctx, cfg, db, log)
	if err != nil {
		return nil, err
	}
	box := outbox.NewOutbox(db, nil, outbox.WithKeys(peppers.Keys(outbox.SealPurpose)))
	notices := notice.New(notice.Config{Origin: cfg.Origin, Site: cfg.RPName, NewDevice: cfg.Notify.NewDevice}, box, db, time.Now)
	audit := account.Audit{Store: db, Now: time.Now}
	sessions := session.New(session.Config{IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout}, db,
		session.Deps{Audit: audit, Now: time.Now})
	members := member.New(db, db, member.Deps{Sessions: sessions, Audit: audit, Now: time.Now})
	return newSupport(cfg, db, box, notices, members, sessions, audit, account.Random{}, time.Now), nil
}

func newSupport(cfg config.Config, db *store.DB, box *outbox.Outbox, notices *notice.Notifier, members *member.Service,
	sessions *session.Service, audit account.Audit, random account.Random, now func() time.Time) *support.Service {
	return support.New(support.Config{Origin: cfg.Origin, Site: cfg.RPName, Wait: cfg.SupportRecovery.Wait, LinkTTL: cfg.SupportRecovery.LinkTimeout},
		db, db, support.Deps{Members: members, Sessions: sessions, Notices: notices, Mailer: box, Audit: audit, Random: random, Now: now})
}

// loadPepper finds the pepper (package pepper) and says where it came from.
func loadPepper(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (pepper.Set, error) {
	src := pepper.Source{Value: cfg.Pepper, File: cfg.PepperFile, Previous: cfg.PreviousPeppers, Create: true}
	if driver, dsn := cfg.DatabaseDriver(); driver == "sqlite" {
		src.SQLitePath = dsn
	}
	if cfg.Dev {
		src.DevFallback = func() ([]byte, error) { return db.ServerKey(ctx, "dev-pepper", 32) }
	}
	l, err := pepper.Load(src)
	if err != nil {
		return pepper.Set{}, fmt.Errorf("pepper: %w", err)
	}
	switch {
	case l.Created:
		log.Warn("made a pepper beside the database: back it up, apart from the database; without it recovery codes and queued mail are lost",
			"file", l.From)
	case l.Tightened:
		log.Warn("the pepper file was readable by other users; it is now readable by its owner only", "file", l.From)
	case l.From == "database (dev mode)":
		log.Warn("dev mode: the pepper is kept in the database, which defeats it; set KEYSHIFT_PEPPER outside dev mode")
	}
	log.Info("pepper loaded", "from", l.From, "id", l.Current.ID(), "previous", len(l.Previous))
	if len(l.Previous) > 0 {
		if n, err := db.CountRecoveryCodesByPepper(ctx); err == nil {
			log.Info("recovery codes by pepper: keep a previous pepper until no code needs it", "current", n[l.Current.ID()],
				"by_previous_or_unpeppered", sumOthers(n, l.Current.ID()))
		}
	}
	return l.Set, nil
}

func sumOthers(n map[string]int, except string) int {
	total := 0
	for id, c := range n {
		if id != except {
			total += c
		}
	}
	return total
}

func assemble(ctx context.Context, cfg config.Config, db *store.DB, o Options) (*Server, error) {
	peppers, err := loadPepper(ctx, cfg, db, o.Log)
	if err != nil {
		return nil, err
	}
	deviceKey, err := db.ServerKey(ctx, "device-cookie", 32)
	if err != nil {
		return nil, fmt.Errorf("loading the device-cookie key: %w", err)
	}
	gate := password.NewGate(cfg.Password.HashConcurrency, cfg.Password.HashQueueTimeout)
	floor := password.NewFailureFloor(cfg.Password.FailureFloor)
	hasher := password.NewHasher(password.Params{
		MemoryKiB: cfg.Password.ArgonMemoryKiB, Iterations: cfg.Password.ArgonIterations,
		Parallelism: cfg.Password.ArgonParallelism, SaltLen: 16, KeyLen: 32,
	}, gate, password.WithFailureFloor(floor))
	// Built now, not at the first sign-up, which would wait for it.
	start := time.Now()
	n := password.LoadBlocklist()
	o.Log.Info("password blocklist loaded", "entries", n, "took", time.Since(start).Round(time.Millisecond))
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	box, worker, err := newMail(cfg, db, o, peppers)
	if err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, DB: db, Gate: gate, Hasher: hasher, Log: o.Log, Outbox: box, mailWorker: worker, registry: o.Registry}
	if err := s.build(ctx, o, peppers, floor); err != nil {
		return nil, err
	}
	var static []oidcprovider.Client
	if cfg.OIDC.ClientsFile != "" {
		if static, err = oidcprovider.LoadClientsFile(cfg.OIDC.ClientsFile); err != nil {
			return nil, err
		}
	}
	provider, err := oidcprovider.New(ctx, cfg.Origin, oidcprovider.Stores{Clients: db, Requests: db, Grants: db, Keys: db, Users: db, Secrets: db},
		oidcprovider.DefaultLifetimes, static, o.Now)
	if err != nil {
		return nil, err
	}
	opts := web.Options{
		Config: cfg, Sessions: s.Sessions, Members: s.Members, Passwords: s.Passwords, Recovery: s.Recovery,
		Passkeys: s.Passkeys, Health: db, Build: o.Build, DeviceKey: deviceKey, Now: o.Now,
		Log: o.Log, Registry: o.Registry, HashGate: gate, Signin: s.Signin,
		Confirm: s.Confirm, Change: s.Change, StepUp: s.StepUp, Export: s.Export, Support: s.Support,
		Rollout: s.Rollout, AdminTokens: admintoken.New(db, cfg.AdminToken, time.Now),
		Telemetry:  telemetry.NewService(db, s.Telemetry, FigurePolicy(cfg), o.Now),
		AdminRoles: adminrole.New(db, o.Now),
		OIDC:       provider,
	}
	if cfg.MailTransport() == config.MailDev {
		opts.Mail = box // /dev/mail only where the dev mailer keeps the mail
	}
	if s.Web, err = web.New(opts); err != nil {
		return nil, err
	}
	return s, nil
}

// build makes the domain's services in the order they depend on each
// other — each from the parts made before it, none changed after — on the
// database, the clock and the outbox s already has.
func (s *Server) build(ctx context.Context, o Options, peppers pepper.Set, floor *password.FailureFloor) error {
	cfg, db := s.Config, s.DB
	limiter := &throttle.Limiter{Store: db, Now: o.Now}
	// Telemetry reads the phase from a rollout copy of its own: the one
	// below records through it.
	s.Telemetry = telemetry.NewRecorder(db, rollout.NewService(db, rollout.Config{}, o.Now), o.Now, telemetry.NewMetrics(o.Registry))
	audit := account.Audit{Store: db, Now: o.Now, Observer: s.Telemetry}
	// The one step-up window of every sensitive action.
	window := cfg.Passkey.ReauthWindow
	s.Notices = notice.New(notice.Config{Origin: cfg.Origin, Site: cfg.RPName, NewDevice: cfg.Notify.NewDevice}, s.Outbox, db, o.Now)
	var weakerCap time.Duration
	if cfg.EmailSignin.Restricted() {
		weakerCap = config.RestrictedSessionCap
	}
	s.Sessions = session.New(session.Config{IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout, WeakerCap: weakerCap},
		db, session.Deps{Audit: audit, Random: s.Random, Now: o.Now, Notices: s.Notices})
	s.Members = member.New(db, db, member.Deps{Sessions: s.Sessions, Audit: audit, Random: s.Random, Now: o.Now})
	s.Confirm = confirm.New(confirm.Config{Origin: cfg.Origin, Site: cfg.RPName}, db, confirm.Deps{
		Members: s.Members, Limiter: limiter, Audit: audit, Random: s.Random, Now: o.Now, Mailer: s.Outbox})
	s.Passwords = passwordauth.New(passwordauth.Config{SignupClosed: !cfg.Signup.Open, NoPasswordSignup: !cfg.Signup.SignupAllows(config.SignupPassword),
		Policy:       password.NewPolicy(cfg.RPName),
		ReauthWindow: window}, db, db, passwordauth.Deps{Hasher: s.Hasher, FailureFloor: floor, Sessions: s.Sessions,
		Members: s.Members, Limiter: limiter, Audit: audit, Random: s.Random, Now: o.Now, Log: o.Log, Verifier: s.Confirm,
		Notices: s.Notices})
	s.Recovery = recovery.New(recovery.Config{Keys: recovery.KeysFrom(peppers), ReauthWindow: window}, db, db, recovery.Deps{
		Sessions: s.Sessions, Members: s.Members, Limiter: limiter, Audit: audit, Random: s.Random, Now: o.Now, Notices: s.Notices})
	var err error
	if s.Passkeys, err = newPasskeys(ctx, cfg, db, passkey.Deps{Sessions: s.Sessions, Members: s.Members, Limiter: limiter,
		Audit: audit, Random: s.Random, Now: o.Now, Log: o.Log, Notices: s.Notices, Disowns: db}); err != nil {
		return err
	}
	s.Export = export.New(db, window, export.Deps{Passkeys: s.Passkeys, Sessions: s.Sessions, RecoveryCodes: s.Recovery,
		Audit: audit, Now: o.Now})
	// From the pepper, not server_keys: with a database copy and its key,
	// a live flow's 6-digit code would fall to a million HMACs.
	codeKey := peppers.Current.Key(emailCodePurpose)
	s.Signin = signin.New(signin.Config{Origin: cfg.Origin, Site: cfg.RPName, SignupOpen: cfg.Signup.Open, CodeKey: codeKey,
		RequirePasskey: cfg.EmailSignin.PasskeyAccounts == config.PasskeyAccountsRequirePasskey},
		db, db, signin.Deps{Sessions: s.Sessions, Members: s.Members, Limiter: limiter, Audit: audit, Random: s.Random,
			Now: o.Now, Mailer: s.Outbox, Notices: s.Notices})
	s.StepUp = stepup.New(stepup.Config{Site: cfg.RPName, CodeKey: codeKey}, db, stepup.Deps{Sessions: s.Sessions,
		Limiter: limiter, Audit: audit, Random: s.Random, Now: o.Now, Mailer: s.Outbox})
	s.Change = change.New(change.Config{Origin: cfg.Origin, Site: cfg.RPName, TTL: cfg.EmailChange.LinkTimeout, ReauthWindow: window},
		db, db, change.Deps{Sessions: s.Sessions, Members: s.Members, Limiter: limiter, Audit: audit, Random: s.Random,
			Now: o.Now, Mailer: s.Outbox, Notices: s.Notices})
	s.Support = newSupport(cfg, db, s.Outbox, s.Notices, s.Members, s.Sessions, audit, s.Random, o.Now)
	s.Rollout = rollout.NewService(db, rollout.Config{Guardrails: Guardrails(cfg), ReauthWindow: window, Observer: s.Telemetry}, o.Now)
	s.Folder = telemetry.NewFolder(db, folderName(), o.Now, o.Log)
	s.now = o.Now
	return nil
}

// newPasskeys builds the passkey service with the keys every node shares,
// and reads what its decoys must look like.
func newPasskeys(ctx context.Context, cfg config.Config, db *store.DB, d passkey.Deps) (*passkey.Service, error) {
	decoyKey, err := db.ServerKey(ctx, "passkey-decoy", 32)
	if err != nil {
		return nil, fmt.Errorf("loading the passkey decoy key: %w", err)
	}
	ceremonyKey, err := db.ServerKey(ctx, "passkey-ceremony", 32)
	if err != nil {
		return nil, fmt.Errorf("loading the passkey ceremony key: %w", err)
	}
	providers, err := providerPolicy(cfg.Passkey)
	if err != nil {
		return nil, err
	}
	if len(providers.Allow)+len(providers.Deny) > 0 || providers.DeviceBoundOnly {
		// With the providers' names: an operator reads whom the lists
		// name without looking the AAGUIDs up.
		d.Log.Info("passkey provider policy", "allow", passkey.Describe(providers.Allow), "deny", passkey.Describe(providers.Deny),
			"device_bound_only", providers.DeviceBoundOnly)
	}
	attestation, err := loadMetadata(cfg.Passkey, d.Log, d.Now)
	if err != nil {
		return nil, err
	}
	passkeys, err := passkey.New(passkey.Config{
		RPID: cfg.RPID, RPName: cfg.RPName, Origin: cfg.Origin, Origins: cfg.Origins, AllowRoaming: cfg.Passkey.AllowRoaming, Providers: providers,
		Attestation: attestation,
		Algorithms:  cfg.Passkey.Algorithms, ChallengeTTL: cfg.Passkey.ChallengeTimeout, DecoyKey: decoyKey,
		CeremonyKey: ceremonyKey, ReauthWindow: cfg.Passkey.ReauthWindow, Probation: probation(cfg.EmailSignin),
	}, db, db, d)
	if err != nil {
		return nil, err
	}
	if err := passkeys.RefreshDecoyShapes(ctx); err != nil {
		return nil, fmt.Errorf("reading the distribution of passkeys for decoys: %w", err)
	}
	return passkeys, nil
}

// loadMetadata reads the FIDO metadata blob when attestation is direct
// (nil when it is none), and says in the log what it holds and whether it
// is past the date FIDO meant to replace it by.
func loadMetadata(p config.PasskeyConfig, log *slog.Logger, now func() time.Time) (*passkey.Metadata, error) {
	if p.Attestation != config.AttestationDirect {
		return nil, nil
	}
	var root []byte
	if p.MetadataRoot != "" {
		var err error
		if root, err = os.ReadFile(p.MetadataRoot); err != nil {
			return nil, fmt.Errorf("passkey.metadata_root: %w", err)
		}
	}
	md, err := passkey.LoadMetadata(p.MetadataFile, root)
	if err != nil {
		return nil, fmt.Errorf("passkey.metadata_file: %w", err)
	}
	log.Info("passkey attestation", "attestation", p.Attestation, "metadata_number", md.Number, "models", md.Entries,
		"unreadable_entries", md.Skipped, "next_update", md.NextUpdate.Format(time.DateOnly))
	if md.Stale(now()) {
		log.Warn("the FIDO metadata blob is past its next-update date: download a new one from https://mds3.fidoalliance.org/ and restart",
			"file", p.MetadataFile, "next_update", md.NextUpdate.Format(time.DateOnly))
	}
	return md, nil
}

// providerPolicy is the passkey provider policy the configuration sets
// (validated already by config).
func providerPolicy(p config.PasskeyConfig) (passkey.ProviderPolicy, error) {
	allow, err := passkey.ParseProviders("passkey.aaguid_allow", p.AAGUIDAllow)
	if err != nil {
		return passkey.ProviderPolicy{}, err
	}
	deny, err := passkey.ParseProviders("passkey.aaguid_deny", p.AAGUIDDeny)
	if err != nil {
		return passkey.ProviderPolicy{}, err
	}
	return passkey.ProviderPolicy{Allow: allow, Deny: deny, DeviceBoundOnly: p.DeviceBoundOnly}, nil
}

// FigurePolicy is when the figures flag a recovery channel as rising: the
// rise and the weekly minimum of the guardrail that holds the rollout for
// it, so the flag and the hold agree.
func FigurePolicy(cfg config.Config) telemetry.Policy {
	return telemetry.Policy{RiseRatio: float64(cfg.Rollout.RecoveryRiseMax) / 100, RiseMin: int64(cfg.Rollout.RecoveryMinUses)}
}

// Guardrails returns the rollout's guardrails as cfg sets them.
func Guardrails(cfg config.Config) rollout.Guardrails {
	r := cfg.Rollout
	return rollout.Guardrails{PasskeySuccessMin: float64(r.PasskeySuccessMin), PasskeyWindow: r.PasskeyWindow,
		RecoveryRiseMax: float64(r.RecoveryRiseMax), RecoveryMinUses: r.RecoveryMinUses,
		DuplicatesPerHourMax: r.DuplicatesPerHourMax, Hold: r.Hold}
}

// emailCodePurpose is the HKDF label of the key email sign-in codes are
// hashed under (see pepper.Key).
const emailCodePurpose = "email-codes"

// newMail builds the outbox, sealed under the pepper, and its worker, with
// the transport cfg.MailTransport decided: SMTP through cfg.SMTPURLs in
// order, the dev mailer (dev mode), or none (mail: log).
func newMail(cfg config.Config, db *store.DB, o Options, peppers pepper.Set) (*outbox.Outbox, *outbox.Worker, error) {
	outboxOpts := []outbox.OutboxOption{outbox.WithKeys(peppers.Keys(outbox.SealPurpose))}
	var sender outbox.Sender
	switch cfg.MailTransport() {
	case config.MailDev:
		sender = outbox.DevSender{Log: o.Log}
		outboxOpts = append(outboxOpts, outbox.KeepSentMail())
		o.Log.Warn("dev mode without SMTP: mail is not sent but kept for /dev/mail, sealed, until the 7-day purge")
	case config.MailLog:
		sender = outbox.LogSender{Log: o.Log}
		o.Log.Warn("NO MAIL IS DELIVERED: no SMTP server is configured (KEYSHIFT_SMTP_URL). Sign-in links, codes and notices " +
			"stay in the outbox as undeliverable; set KEYSHIFT_SMTP_URL, or run with --dev to read them at /dev/mail")
	default:
		var opts []outbox.SMTPOption
		if cfg.SMTPCAFile != "" {
			roots, err := outbox.LoadCAFile(cfg.SMTPCAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("smtp_ca_file: %w", err)
			}
			opts = append(opts, outbox.WithRootCAs(roots))
		}
		s, err := outbox.NewSMTP(cfg.SMTPURLs, cfg.MailFrom, 30*time.Second, opts...)
		if err != nil {
			return nil, nil, err
		}
		sender = s
	}
	box := outbox.NewOutbox(db, o.Now, outboxOpts...)
	metrics := outbox.NewMetrics(o.Registry, db)
	return box, outbox.NewWorker(box, sender, o.MailPolicy, o.Log, metrics), nil
}

// Close releases the database, and the metrics listener if Serve never ran.
func (s *Server) Close() error {
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
	return s.DB.Close()
}

// shutdownGrace is how long in-flight requests get to finish after SIGTERM.
const shutdownGrace = 20 * time.Second

// sentMailKept is how long sent mail stays in the outbox (and on /dev/mail).
const sentMailKept = 7 * 24 * time.Hour

// spentKeptAfterExpiry is how long a spent sign-in ceremony is remembered
// after it expired: a node whose clock runs behind by up to this much still
// refuses its replay.
const spentKeptAfterExpiry = 5 * time.Minute

// FailureCountsKept is how long counted failures (account.Failure) stay:
// long enough for telemetry's weekly comparisons and an operator's look
// back at an attack, short enough that the table's size stays bounded
// (docs/operations.md).
const FailureCountsKept = 30 * 24 * time.Hour

// FoldEvery is how often a node folds telemetry events into the counters
// (when it holds the lease): the figures trail the events by about this.
const FoldEvery = time.Second

// folderName names this process's telemetry folder in the lease, so a log
// or the database tells which node folds.
func folderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), account.Random{}.NewID()[:8])
}

// janitorEvery is how often expired sessions and stale throttle keys go.
const janitorEvery = 10 * time.Minute

// Serve answers HTTP on ln — and /metrics alone on the metrics_listen
// address, when set — until ctx ends, then stops accepting, lets in-flight
// requests finish (up to shutdownGrace) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go s.janitor(ctx)
	foldCtx, stopFold := context.WithCancel(ctx)
	foldDone := make(chan struct{})
	go func() { s.Folder.Run(foldCtx, FoldEvery); close(foldDone) }()
	defer func() {
		stopFold()
		<-foldDone
		// Another node may take over at once instead of when the lease lapses.
		if err := s.DB.ReleaseTelemetryFold(context.WithoutCancel(ctx), s.Folder.Owner()); err != nil {
			s.Log.Warn("releasing the telemetry lease", "err", err)
		}
	}()
	mailCtx, stopMail := context.WithCancel(ctx)
	mailDone := make(chan struct{})
	go func() { s.mailWorker.Run(mailCtx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }() // sends under way finish and are recorded
	servers := []*http.Server{s.httpServer(ctx, s.Web)}
	listeners := []net.Listener{ln}
	if s.metricsLn != nil {
		servers = append(servers, s.httpServer(ctx, s.metricsHandler()))
		listeners = append(listeners, s.metricsLn)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	var err error
	running := len(servers)
	select {
	case err = <-errc: // one stopped by itself: stop the other too
		running--
	case <-ctx.Done():
		s.Log.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		err = errors.Join(err, srv.Shutdown(sctx))
	}
	for range running {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	return err
}

// httpServer is an http.Server for h with keyshift's limits: slow clients
// and huge headers cannot hold connections or memory.
func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// metricsHandler serves /metrics alone, for metrics_listen: the operator
// chose an address only monitoring reaches, so it asks no token.
func (s *Server) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return mux
}

// janitor deletes what can no longer be used, so tables stay small.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) sweep(ctx context.Context) {
	if n, err := s.Sessions.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired sessions", "err", err)
	} else if n > 0 {
		s.Log.Info("purged expired sessions", "count", n)
	}
	if _, err := s.DB.DeleteExpiredFlows(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired passkey ceremonies", "err", err)
	}
	if _, err := s.DB.DeleteSpentCeremonies(ctx, s.now().Add(-spentKeptAfterExpiry)); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging spent passkey ceremonies", "err", err)
	}
	if _, err := s.DB.DeleteExpiredEmailFlows(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired email sign-ins", "err", err)
	}
	if _, err := s.DB.DeleteExpiredReauthCodes(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired step-up codes", "err", err)
	}
	if _, err := s.DB.DeleteExpiredEmailVerifications(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired email confirmations", "err", err)
	}
	if _, err := s.DB.DeleteExpiredEmailChanges(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired email change links", "err", err)
	}
	if _, err := s.Notices.SendDigests(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("sending new-device digests", "err", err)
	}
	if n, err := s.Support.MailDue(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("mailing support recovery links", "err", err)
	} else if n > 0 {
		s.Log.Info("mailed support recovery links: their wait ended", "count", n)
	}
	if trips, held, err := s.Rollout.Watch(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("checking the rollout's guardrails", "err", err)
	} else if held {
		s.Log.Warn("the rollout holds itself: a guardrail tripped", "guardrails", rollout.Names(trips))
	}
	if err := s.Passkeys.RefreshDecoyShapes(ctx); err != nil && ctx.Err() == nil {
		s.Log.Warn("reading the distribution of passkeys for decoys", "err", err)
	}
	if _, err := s.DB.DeleteExpiredOIDC(ctx, s.now()); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging expired OpenID Connect requests and grants", "err", err)
	}
	if _, err := s.DB.DeleteStaleThrottles(ctx, s.now().Add(-48*time.Hour)); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging stale throttle keys", "err", err)
	}
	if _, err := s.DB.DeleteOldFailureCounts(ctx, s.now().Add(-FailureCountsKept)); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging old failure counts", "err", err)
	}
	if _, err := s.DB.DeleteSentOutbox(ctx, s.now().Add(-sentMailKept)); err != nil && ctx.Err() == nil {
		s.Log.Warn("purging sent mail", "err", err)
	}
	keep := time.Duration(s.Config.Telemetry.RetentionDays) * 24 * time.Hour
	if _, err := s.DB.PruneTelemetry(ctx, s.now().Add(-keep)); err != nil && ctx.Err() == nil {
		s.Log.Warn("pruning old telemetry", "err", err)
	}
}

// probation is how long a passkey added through a weaker channel is on
// probation: none under email_signin.passkey_accounts full.
func probation(e config.EmailSigninConfig) time.Duration {
	if !e.Restricted() {
		return 0
	}
	return e.Probation
}
