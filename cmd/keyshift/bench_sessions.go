package main

import (
	"cmp"
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
// Rows go in many to a statement (store InsertSessions): a round trip per
// session took over an hour for ten million on PostgreSQL.
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
	// Sessions a transaction: whole members, so that each transaction's
	// first session starts a member of its own (users is never empty).
	const batch = 100 * session.MaxSessions
	for done := 0; done < *count; {
		var (
			users    []*account.User
			sessions []*account.Session
		)
		for end := min(done+batch, *count); done < end; done++ {
			if done%session.MaxSessions == 0 {
				addr := fmt.Sprintf("ballast-%s-%d@bench.invalid", run, done/session.MaxSessions)
				users = append(users, &account.User{ID: random.NewID(), Email: addr, EmailKey: addr, WebAuthnID: []byte(addr),
					CreatedAt: now, UpdatedAt: now, Origin: account.OriginImport})
			}
			// Time-ordered ids, as sign-in makes them (session.Service).
			sessions = append(sessions, &account.Session{ID: random.NewTimeID(now), TokenHash: account.HashToken(random.NewToken()),
				UserID: users[len(users)-1].ID, AuthMethod: account.MethodPassword, AuthenticatedAt: now, CreatedAt: now,
				LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)})
		}
		err := db.InTx(ctx, func(ctx context.Context) error {
			if n, err := db.InsertUsers(ctx, "bench-seed-"+run, users, false); err != nil || n != int64(len(users)) {
				return cmp.Or(err, fmt.Errorf("%d of %d ballast members inserted", n, len(users)))
			}
			if n, err := db.InsertSessions(ctx, sessions); err != nil || n != int64(len(sessions)) {
				return cmp.Or(err, fmt.Errorf("%d of %d sessions inserted", n, len(sessions)))
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
