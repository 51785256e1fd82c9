package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/bench"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// backedUp is a member acknowledged before the backup began: every
// credential it had must work after the restore.
type backedUp struct {
	email, session string
	passkey        *bench.Passkey
}

const backupPassword = "violet harbor tangent 91"

// TestBackupWhileServingThenRestore: a backup taken while sign-ups,
// passkey registrations and email sign-ins run, restored into a fresh
// database, gives a server on which every member acknowledged before the
// backup signs in with its password and its passkey, its session still
// verifies, and a passkey ceremony begun before the backup finishes: the
// server keys came along. On both backends.
func TestBackupWhileServingThenRestore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		ctx := t.Context()
		trustLoopback := func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		env := map[string]string{"KEYSHIFT_DATABASE": database}
		if strings.HasPrefix(database, "postgres") {
			env["KEYSHIFT_PEPPER"] = servertest.PepperFor(database)
		}
		backup := filepath.Join(t.TempDir(), "keyshift.backup")
		var members []backedUp
		var pending bench.Ceremony
		var addr string // where the first server listened: the second keeps its origin
		var during atomic.Int64

		t.Run("serve and back up", func(t *testing.T) {
			site := servertest.Start(t, database, trustLoopback)
			addr = "127.0.0.1:" + site.URL[strings.LastIndex(site.URL, ":")+1:]
			from := func(i int) *bench.Target {
				return bench.NewTarget(site.URL).From(fmt.Sprintf("198.18.%d.%d", i/250, i%250+1))
			}
			for i := range 6 {
				email := fmt.Sprintf("before%d@example.com", i)
				tg := from(i)
				cookie, err := tg.Signup(ctx, email, backupPassword)
				if err != nil {
					t.Fatal(err)
				}
				pk, cookie, err := tg.RegisterPasskey(ctx, cookie)
				if err != nil {
					t.Fatal(err)
				}
				members = append(members, backedUp{email: email, session: cookie, passkey: pk})
			}
			var err error
			if pending, err = from(0).BeginPasskeySignin(ctx); err != nil {
				t.Fatal(err)
			}

			load, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; load.Err() == nil; n++ {
						i := 100 + w*300 + n
						tg := from(i)
						cookie, err := tg.Signup(load, fmt.Sprintf("during%d@example.com", i), backupPassword)
						if err == nil {
							_, _, err = tg.RegisterPasskey(load, cookie)
						}
						if err == nil {
							err = tg.EmailStart(load, fmt.Sprintf("before%d@example.com", n%6))
						}
						if err == nil {
							during.Add(1)
						} else if load.Err() == nil {
							t.Errorf("load: %v", err)
							return
						}
					}
				}()
			}
			time.Sleep(300 * time.Millisecond)
			r := runBounded(t, env, "backup", "--out", backup)
			time.Sleep(100 * time.Millisecond)
			stop()
			wg.Wait()
			if r.code != 0 {
				t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "the pepper is not in it") {
				t.Errorf("no pepper reminder:\n%s", r.stderr)
			}
			if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("backup file: %v %v", fi, err)
			}
			if again := runBounded(t, env, "backup", "--out", backup); again.code != 1 || !strings.Contains(again.stderr, "exists; add --force") {
				t.Errorf("a second backup to the same file: exit %d\n%s", again.code, again.stderr)
			}
		})
		if t.Failed() {
			return
		}
		if during.Load() == 0 {
			t.Fatal("no load ran beside the backup")
		}

		// A fresh database: a new SQLite file with the pepper copied beside
		// it (operators keep it apart from the backup), or the PostgreSQL
		// schema emptied.
		target := database
		if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
			fresh := filepath.Join(t.TempDir(), "restored.db")
			pepper, err := os.ReadFile(path + ".pepper")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(fresh+".pepper", pepper, 0o600); err != nil {
				t.Fatal(err)
			}
			target = "sqlite:" + fresh
		} else {
			emptySchema(t, database)
		}
		renv := map[string]string{"KEYSHIFT_DATABASE": target, "KEYSHIFT_PEPPER": env["KEYSHIFT_PEPPER"]}
		if r := runBounded(t, renv, "restore", backup); r.code != 0 {
			t.Fatalf("restore: exit %d\n%s", r.code, r.stderr)
		}
		if r := runBounded(t, renv, "restore", backup); r.code != 1 || !strings.Contains(r.stderr, "add --force") {
			t.Errorf("restore over a database that is not empty: exit %d\n%s", r.code, r.stderr)
		}

		t.Run("restored", func(t *testing.T) {
			opts := []servertest.Option{trustLoopback}
			if p := env["KEYSHIFT_PEPPER"]; p != "" {
				opts = append(opts, func(c *config.Config) { c.Pepper = p })
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			site := servertest.StartOn(t, ln, target, opts...)
			for i, m := range members {
				tg := bench.NewTarget(site.URL).From(fmt.Sprintf("198.19.0.%d", i+1))
				if err := tg.Session(ctx, m.session); err != nil {
					t.Errorf("%s: the session from before the backup: %v", m.email, err)
				}
				if err := tg.Signin(ctx, m.email, backupPassword); err != nil {
					t.Errorf("%s: password: %v", m.email, err)
				}
				pk := m.passkey
				if i == 0 {
					if err := tg.FinishPasskeySignin(ctx, pk, pending); err != nil {
						t.Errorf("%s: the ceremony begun before the backup: %v", m.email, err)
					}
				}
				if err := tg.PasskeySignin(ctx, pk); err != nil {
					t.Errorf("%s: passkey: %v", m.email, err)
				}
			}
		})
	})
}

// emptySchema drops and re-creates the test's PostgreSQL schema: a fresh
// database to restore into, under the name the backup holds.
func emptySchema(t *testing.T, database string) {
	t.Helper()
	db, err := sql.Open("pgx", database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var schema string
	if err := db.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), fmt.Sprintf("DROP SCHEMA %q CASCADE; CREATE SCHEMA %q", schema, schema)); err != nil {
		t.Fatal(err)
	}
}
