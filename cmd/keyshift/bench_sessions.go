package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keyshift/keyshift/cmd/keyshift/cli"
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/store"
)

// benchSeedSessionsCmd fills a scratch database with live sessions of
// members made for the purpose, so that `bench --target --scenarios
// session` can show what a sessions table of millions of rows costs a
// session check (docs/benchmarks.md, "A session check against 10 million
// sessions"). Each ballast member holds session.MaxSessions sessions, as a
// member at the cap does; none of them ever signs in, and their sessions
// were last seen now, so the janitor leaves them until the idle timeout.
func benchSeedSessionsCmd(ctx context.Context, e *cli.Env, args []string) error {
	fs := cli.NewFlagSet(e, "bench seed-sessions", "bench seed-sessions --database sqlite:PATH|postgres://… --count N")
	database := fs.String("database", "", "the scratch `database` to fill (required; a server then runs on it)")
	count := fs.Int("count", 10_000, "how many `sessions` to add")
	if err := cli.ParseFlags(e, fs, args); err != nil {
		return err
	}
	if *database == "" || *count < 1 {
		return fmt.Errorf("--database and a --count of at least 1 are required")
	}
	db, err := store.Open(ctx, *database)
	if err != nil {
		return err
	}
	defer db.Close()
	start, now := time.Now(), time.Now().UTC()
	// A run id keeps a second run's members apart from the first's.
	var random account.Random
	run := random.NewID()[:8]
	const batch = 5_000
	var u *account.User
	for done := 0; done < *count; {
		err := db.InTx(ctx, func(ctx context.Context) error {
			for end := min(done+batch, *count); done < end; done++ {
				if done%session.MaxSessions == 0 {
					addr := fmt.Sprintf("ballast-%s-%d@bench.invalid", run, done/session.MaxSessions)
					u = &account.User{ID: random.NewID(), Email: addr, EmailKey: addr, WebAuthnID: []byte(addr),
						CreatedAt: now, UpdatedAt: now, Origin: account.OriginImport}
					if err := db.CreateUser(ctx, u); err != nil {
						return err
					}
				}
				if _, err := db.CreateSession(ctx, &account.Session{ID: random.NewID(), TokenHash: account.HashToken(random.NewToken()),
					UserID: u.ID, AuthMethod: account.MethodPassword, AuthenticatedAt: now, CreatedAt: now, LastSeenAt: now,
					ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "%d of %d sessions, %s\r", done, *count, time.Since(start).Round(time.Second))
	}
	fmt.Fprintf(e.Stderr, "\n%d sessions of %d ballast members added in %s\n", *count, (*count+session.MaxSessions-1)/session.MaxSessions, time.Since(start).Round(time.Second))
	return nil
}
