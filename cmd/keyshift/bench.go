package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/server"
)

const benchPassword = "correct horse battery staple"

// benchCmd runs keyshift in this process against a fresh database and
// measures it over loopback HTTP, as docs/benchmarks.md reports.
func benchCmd(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		for _, c := range benchCommands {
			if c.name == args[0] {
				return c.run(ctx, e, args[1:])
			}
		}
	}
	fs := newFlagSet(e, "bench", "bench [--database sqlite:PATH|postgres://…] [--duration 5s] [--concurrency 32]\n"+
		"       keyshift bench --target URL [--config FILE] [--concurrency 1,8,32] [--duration 10s] [--warmup 2s] [--scenarios …] [--members N] [--server-pid PID] [--postgres-pid PID] [--spread-ips] [--json]\n"+
		"       keyshift bench gen-users --count N --out FILE [--seed S]\n       keyshift bench import [--count N] [--postgres URL]\n       keyshift bench chart --out FILE.svg LABEL=RESULTS.json …")
	database := fs.String("database", "", "database to measure; default a fresh SQLite file in a temporary directory. It must be empty or a scratch database: bench creates accounts")
	duration := fs.Duration("duration", 5*time.Second, "how long each timed scenario runs")
	concurrency := fs.String("concurrency", "32", "concurrent clients for session validation and passkey sign-in; with --target, a comma-separated list, each measured")
	var t targetFlags
	t.register(fs)
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	concs, err := parseConcurrencies(*concurrency)
	if err != nil {
		return err
	}
	if t.target != "" {
		if *database != "" {
			return fmt.Errorf("--database is for the in-process bench; with --target, members go into the database of --config and KEYSHIFT_DATABASE")
		}
		return benchTargetCmd(ctx, e, t, concs, *duration)
	}
	cfg := config.Default()
	cfg.Password.HashQueueTimeout = time.Minute // measure work, not refusals
	// A scratch database on this machine: the dev mailer keeps the notices,
	// and on PostgreSQL the pepper lives in the database.
	cfg.Dev = true
	// The burst's clients say where they come from (X-Forwarded-For): 200
	// people, not one address that the per-IP throttle would slow down.
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	if *database == "" {
		dir, err := os.MkdirTemp("", "keyshift-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*database = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	cfg.Database = *database
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg.Listen = ln.Addr().String()
	cfg.Origin = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := cfg.Validate(); err != nil {
		ln.Close()
		return err
	}
	s, err := server.New(ctx, cfg, server.Options{})
	if err != nil {
		ln.Close()
		return err
	}
	defer s.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Serve(sctx, ln)
	return runBench(ctx, e, s, cfg, *duration, slices.Max(concs))
}

func runBench(ctx context.Context, e *env, s *server.Server, cfg config.Config, d time.Duration, conc int) error {
	t := bench.NewTarget(cfg.Origin)
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	cookie, err := t.Signup(ctx, email, benchPassword)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "keyshift bench: %s, %d CPUs, GOMAXPROCS %d, argon2id m=%d KiB t=%d p=%d, %d hashing slots\n\n",
		s.DB.Dialect(), runtime.NumCPU(), runtime.GOMAXPROCS(0), cfg.Password.ArgonMemoryKiB,
		cfg.Password.ArgonIterations, cfg.Password.ArgonParallelism, cfg.Password.HashConcurrency)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconcurrency\tops/s\tp50\tp99\terrors\t")
	row := func(name string, c int, r bench.Result) {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t\n", name, c, r.Rate(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
	}

	hasher := password.NewHasher(password.Params{MemoryKiB: cfg.Password.ArgonMemoryKiB, Iterations: cfg.Password.ArgonIterations,
		Parallelism: cfg.Password.ArgonParallelism, SaltLen: 16, KeyLen: 32}, password.NewGate(1, time.Minute))
	enc, err := hasher.Hash(ctx, benchPassword)
	if err != nil {
		return err
	}
	row("argon2id verify, bare", 1, bench.Run(ctx, d, 1, func(ctx context.Context) error {
		_, _, err := hasher.Verify(ctx, benchPassword, enc, "argon2id")
		return err
	}))
	row("password sign-in, HTTP", 1, bench.Run(ctx, d, 1, func(ctx context.Context) error {
		return t.Signin(ctx, email, benchPassword)
	}))
	row("session validation, HTTP", conc, bench.Run(ctx, d, conc, func(ctx context.Context) error {
		return t.Session(ctx, cookie)
	}))
	row("forward-auth verify, HTTP", conc, bench.Run(ctx, d, conc, func(ctx context.Context) error {
		return t.Verify(ctx, cookie)
	}))

	bare, err := bench.NewBareLogin()
	if err != nil {
		return err
	}
	keys, err := passkeyMembers(ctx, s, t, max(conc, 1))
	if err != nil {
		return err
	}
	var next atomic.Int64
	signin := func(ctx context.Context) error {
		return t.PasskeySignin(ctx, keys[int(next.Add(1))%len(keys)])
	}
	cores := runtime.GOMAXPROCS(0)
	bareRate := bench.Run(ctx, d, cores, bare.Verify)
	row("passkey verify, bare go-webauthn", cores, bareRate)
	row("passkey sign-in, HTTP", 1, bench.Run(ctx, d, 1, signin))
	pk := bench.Run(ctx, d, conc, signin)
	row("passkey sign-in, HTTP", conc, pk)
	tw.Flush()
	if bareRate.Rate() > 0 {
		fmt.Fprintf(e.stdout, "\npasskey sign-ins at %d clients: %.0f%% of the bare go-webauthn rate\n", conc, 100*pk.Rate()/bareRate.Rate())
	}

	members, err := burstMembers(ctx, s, 200)
	if err != nil {
		return err
	}
	base := bench.RSSMiB()
	bench.ResetPeakRSS()
	start := time.Now()
	var nextMember atomic.Int64
	outcomes := bench.Burst(ctx, len(members), func(ctx context.Context) error {
		i := int(nextMember.Add(1)) - 1
		return bench.NewTarget(cfg.Origin).From(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)).Signin(ctx, members[i], benchPassword)
	})
	fmt.Fprintf(e.stdout, "\n200 concurrent password sign-ins: %s, outcomes %v\nresident memory: %.0f MiB before, %.0f MiB peak (this process: server and clients)\n",
		time.Since(start).Round(time.Millisecond), outcomes, base, bench.PeakRSSMiB())
	return nil
}

// burstMembers stores n members with benchPassword and returns their
// addresses: distinct people, since keyshift reserves one account's
// attempts before hashing and refuses all but its free ones at once. One
// hash serves them all, written straight to the store as an import would.
func burstMembers(ctx context.Context, s *server.Server, n int) ([]string, error) {
	hash, err := s.Hasher.Hash(ctx, benchPassword)
	if err != nil {
		return nil, err
	}
	stamp := time.Now().UnixNano()
	now := time.Now()
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-burst%d-%d@example.com", i, stamp)
		u := &account.User{ID: s.Random.NewID(), Email: emails[i], EmailKey: emails[i], WebAuthnID: []byte(s.Random.NewID()),
			Origin: account.OriginImport, CreatedAt: now, UpdatedAt: now}
		if err := s.DB.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		if err := s.DB.CreateCredential(ctx, &account.Credential{ID: s.Random.NewID(), UserID: u.ID, Type: account.CredentialPassword,
			PasswordHash: hash, PasswordFormat: "argon2id", CreatedAt: now, UpdatedAt: now}); err != nil {
			return nil, err
		}
	}
	return emails, nil
}

// passkeyMembers signs up n members, each from its own documentation
// address (192.0.2.0/24, so sign-up throttling does not refuse them),
// registers a software passkey for each through the passkey service and
// signs each in once over HTTP, so that the timed sign-ins come from
// returning browsers. The sign-in scenario spreads its clients over the n
// credentials, as distinct people signing in at once would.
func passkeyMembers(ctx context.Context, s *server.Server, t *bench.Target, n int) ([]*bench.Passkey, error) {
	stamp := time.Now().UnixNano()
	keys := make([]*bench.Passkey, n)
	for i := range keys {
		c := account.Client{IP: fmt.Sprintf("192.0.2.%d", i%250+1), UserAgent: "keyshift bench"}
		res, err := s.Passwords.Signup(ctx, fmt.Sprintf("bench-pk%d-%d@example.com", i, stamp), benchPassword, c)
		if err != nil {
			return nil, fmt.Errorf("passkey member: %w", err)
		}
		cr, err := s.Passkeys.BeginRegistration(ctx, &account.SessionWithUser{User: res.User, Session: res.Session})
		if err != nil {
			return nil, err
		}
		opts, err := json.Marshal(cr.Options)
		if err != nil {
			return nil, err
		}
		if keys[i], err = bench.NewPasskey(s.Config.Origin); err != nil {
			return nil, err
		}
		cred, err := keys[i].Create(opts)
		if err != nil {
			return nil, err
		}
		if _, err := s.Passkeys.FinishRegistration(ctx, &res.User, res.Session.ID, cr.FlowID, cred, "", c); err != nil {
			return nil, fmt.Errorf("passkey member: %w", err)
		}
		if err := t.PasskeySignin(ctx, keys[i]); err != nil {
			return nil, fmt.Errorf("passkey member: %w", err)
		}
	}
	return keys, nil
}
