// Package benchrun is `keyshift bench` in one process: a keyshift on a
// scratch database, served on loopback, measured by the load generator of
// package bench over real HTTP (docs/benchmarks.md). It sits beside the
// server because it builds one; the measuring itself is package bench's.
package benchrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
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

// Password is every bench member's password.
const Password = "correct horse battery staple"

// Instance is a keyshift serving on loopback for the bench.
type Instance struct {
	Server *server.Server
	Config config.Config
	close  []func()
}

// Close stops the server and removes a scratch database made for it.
func (in *Instance) Close() {
	for i := len(in.close) - 1; i >= 0; i-- {
		in.close[i]()
	}
}

// Start runs keyshift on database (empty: a fresh SQLite file in a
// temporary directory, removed by Close) at production cost, on a
// loopback port of its own.
func Start(ctx context.Context, database string) (*Instance, error) {
	in := &Instance{}
	cfg := config.Default()
	cfg.Password.HashQueueTimeout = time.Minute // measure work, not refusals
	// A scratch database on this machine: the dev mailer keeps the notices,
	// and on PostgreSQL the pepper lives in the database.
	cfg.Dev = true
	// The burst's clients say where they come from (X-Forwarded-For): 200
	// people, not one address that the per-IP throttle would slow down.
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	if database == "" {
		dir, err := os.MkdirTemp("", "keyshift-bench-")
		if err != nil {
			in.Close()
			return nil, err
		}
		in.close = append(in.close, func() { os.RemoveAll(dir) })
		database = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	cfg.Database = database
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		in.Close()
		return nil, err
	}
	cfg.Listen = ln.Addr().String()
	cfg.Origin = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := cfg.Validate(); err != nil {
		ln.Close()
		in.Close()
		return nil, err
	}
	s, err := server.New(ctx, cfg, server.Options{})
	if err != nil {
		ln.Close()
		in.Close()
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	go s.Serve(sctx, ln)
	in.close = append(in.close, func() { s.Close() }, stop)
	in.Server, in.Config = s, cfg
	return in, nil
}

// Run measures every scenario for d each, conc clients where the scenario
// is concurrent, and writes the table and the burst's figures to w.
func (in *Instance) Run(ctx context.Context, w io.Writer, d time.Duration, conc int) error {
	s, cfg := in.Server, in.Config
	t := bench.NewTarget(cfg.Origin)
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	cookie, err := t.Signup(ctx, email, Password)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "keyshift bench: %s, %d CPUs, GOMAXPROCS %d, argon2id m=%d KiB t=%d p=%d, %d hashing slots\n\n",
		s.DB.Dialect(), runtime.NumCPU(), runtime.GOMAXPROCS(0), cfg.Password.ArgonMemoryKiB,
		cfg.Password.ArgonIterations, cfg.Password.ArgonParallelism, cfg.Password.HashConcurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconcurrency\tops/s\tp50\tp99\terrors\t")
	row := func(name string, c int, r bench.Result) {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t\n", name, c, r.Rate(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
	}

	hasher := password.NewHasher(password.Params{MemoryKiB: cfg.Password.ArgonMemoryKiB, Iterations: cfg.Password.ArgonIterations,
		Parallelism: cfg.Password.ArgonParallelism, SaltLen: 16, KeyLen: 32}, password.NewGate(1, time.Minute))
	enc, err := hasher.Hash(ctx, Password)
	if err != nil {
		return err
	}
	row("argon2id verify, bare", 1, bench.Run(ctx, d, 1, func(ctx context.Context) error {
		_, _, err := hasher.Verify(ctx, Password, enc, "argon2id")
		return err
	}))
	row("password sign-in, HTTP", 1, bench.Run(ctx, d, 1, func(ctx context.Context) error {
		return t.Signin(ctx, email, Password)
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
		fmt.Fprintf(w, "\npasskey sign-ins at %d clients: %.0f%% of the bare go-webauthn rate\n", conc, 100*pk.Rate()/bareRate.Rate())
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
		return bench.NewTarget(cfg.Origin).From(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)).Signin(ctx, members[i], Password)
	})
	fmt.Fprintf(w, "\n200 concurrent password sign-ins: %s, outcomes %v\nresident memory: %.0f MiB before, %.0f MiB peak (this process: server and clients)\n",
		time.Since(start).Round(time.Millisecond), outcomes, base, bench.PeakRSSMiB())
	return nil
}

// burstMembers stores n members with Password and returns their
// addresses: distinct people, since keyshift reserves one account's
// attempts before hashing and refuses all but its free ones at once. One
// hash serves them all, written straight to the store as an import would.
func burstMembers(ctx context.Context, s *server.Server, n int) ([]string, error) {
	hash, err := s.Hasher.Hash(ctx, Password)
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
		res, err := s.Passwords.Signup(ctx, fmt.Sprintf("bench-pk%d-%d@example.com", i, stamp), Password, c)
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
