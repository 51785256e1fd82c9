package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// load builds a configuration the way serve does, from variables.
func load(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	if _, ok := env["KEYSHIFT_DATABASE"]; !ok {
		env["KEYSHIFT_DATABASE"] = "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	}
	c, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// has reports whether fs holds a finding of check at sev whose problem
// says what.
func has(fs []Finding, check string, sev Severity, what string) bool {
	for _, f := range fs {
		if f.Check == check && f.Severity == sev && strings.Contains(f.Problem, what) {
			return true
		}
	}
	return false
}

func TestCheckConfig(t *testing.T) {
	const public = "https://login.example.com"
	smtp := "smtp://mail.example.com:587"
	tests := []struct {
		name     string
		env      map[string]string
		check    string
		severity Severity
		says     string // "" means: no finding of check at all
	}{
		{"an http origin outside dev", map[string]string{"KEYSHIFT_ORIGIN": "http://localhost:8080"}, "origin", High, "is not https"},
		{"an https origin", map[string]string{"KEYSHIFT_ORIGIN": public, "KEYSHIFT_SMTP_URL": smtp}, "origin", High, ""},
		{"dev mode on a public origin", map[string]string{"KEYSHIFT_ORIGIN": public, "KEYSHIFT_DEV": "true"}, "dev", High, "public origin"},
		{"dev mode on localhost", map[string]string{"KEYSHIFT_DEV": "true"}, "dev", Info, "dev mode is on"},
		{"a public origin that mails nothing", map[string]string{"KEYSHIFT_ORIGIN": public, "KEYSHIFT_MAIL": "log"}, "mail", High, "no mail is delivered"},
		{"an RP ID that is a public suffix", map[string]string{"KEYSHIFT_ORIGIN": "https://login.example.co.uk", "KEYSHIFT_RP_ID": "co.uk",
			"KEYSHIFT_SMTP_URL": smtp}, "rp_id", High, "public suffix"},
		{"a registrable RP ID", map[string]string{"KEYSHIFT_ORIGIN": "https://login.example.co.uk", "KEYSHIFT_RP_ID": "example.co.uk",
			"KEYSHIFT_SMTP_URL": smtp}, "rp_id", High, ""},
		{"every peer trusted as a proxy", map[string]string{"KEYSHIFT_TRUSTED_PROXIES": "0.0.0.0/0", "KEYSHIFT_TRUSTED_PROXIES_ALLOW_ALL": "true"},
			"trusted_proxies", Medium, "every peer is trusted"},
		{"a proxy prefix wider than a site", map[string]string{"KEYSHIFT_TRUSTED_PROXIES": "10.0.0.0/8"}, "trusted_proxies", Medium, "shorter than /16"},
		{"the proxy's own address", map[string]string{"KEYSHIFT_TRUSTED_PROXIES": "10.0.0.5/32"}, "trusted_proxies", Medium, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := checkConfig(load(t, tt.env))
			if tt.says == "" {
				for _, f := range fs {
					if f.Check == tt.check {
						t.Errorf("unexpected finding: %+v", f)
					}
				}
				return
			}
			if !has(fs, tt.check, tt.severity, tt.says) {
				t.Errorf("no %s %s finding saying %q in %+v", tt.severity, tt.check, tt.says, fs)
			}
		})
	}
}

func TestARefusedConfigurationIsReportedProblemByProblem(t *testing.T) {
	_, err := config.Load("", func(k string) string {
		return map[string]string{"KEYSHIFT_ORIGIN": "ftp://x", "KEYSHIFT_SESSION_IDLE_TIMEOUT": "abc"}[k]
	})
	fs := Run(t.Context(), Input{LoadErr: err})
	if len(fs) != 2 || !has(fs, "config", High, "KEYSHIFT_ORIGIN") || !has(fs, "config", High, "KEYSHIFT_SESSION_IDLE_TIMEOUT") || !AnyHigh(fs) {
		t.Errorf("%+v", fs)
	}
	// An admin token too short to be a bearer secret is one of those
	// refusals: the configuration does not load, so doctor says it first.
	_, err = config.Load("", func(k string) string {
		return map[string]string{"KEYSHIFT_ADMIN_TOKEN": "short-token"}[k]
	})
	if fs := Run(t.Context(), Input{LoadErr: err}); len(fs) != 1 || !has(fs, "config", High, "admin_token") || !has(fs, "config", High, "at least 32") {
		t.Errorf("short admin token: %+v", fs)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	c := load(t, map[string]string{"KEYSHIFT_DATABASE": "sqlite:" + db})
	if fs := checkFiles(c); len(fs) != 1 || !has(fs, "database", Info, "does not exist yet") {
		t.Errorf("missing file: %+v", fs)
	}
	for _, f := range []string{db, db + "-wal", db + ".pepper"} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if fs := checkFiles(c); len(fs) != 0 {
		t.Errorf("private files: %+v", fs)
	}
	for _, f := range []string{db + "-wal", db + ".pepper"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := checkFiles(c)
	if len(fs) != 2 || !has(fs, "files", High, db+"-wal is readable by others (0644)") || !has(fs, "files", High, db+".pepper") {
		t.Errorf("readable files: %+v", fs)
	}
	if fi, _ := os.Stat(db + "-wal"); fi.Mode().Perm() != 0o644 {
		t.Error("doctor changed a file's mode")
	}
}

func TestCheckMail(t *testing.T) {
	ca := mailtest.NewCA(t)
	caFile := ca.WriteFile(t)
	starttls := mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)))
	implicit := mailtest.Start(t, mailtest.ImplicitTLS(ca.ServerCert(t)))
	plain := mailtest.Start(t)
	tests := []struct {
		name   string
		urls   []string
		caFile string
		says   []string // each a high smtp finding; none when empty
	}{
		{"STARTTLS with a verified certificate", []string{starttls.URL()}, caFile, nil},
		{"implicit TLS with a verified certificate", []string{implicit.URL()}, caFile, nil},
		{"a certificate no trusted CA signed", []string{starttls.URL()}, "", []string{"STARTTLS: tls: failed to verify certificate"}},
		{"a server that offers no STARTTLS", []string{strings.Replace(plain.URL(), "?tls=none", "", 1)}, caFile, []string{"offers no STARTTLS"}},
		{"nothing listening", []string{"smtp://" + mailtest.ClosedAddr(t)}, caFile, []string{"unreachable"}},
		{"the second of two is down", []string{starttls.URL(), "smtps://" + mailtest.ClosedAddr(t)}, caFile, []string{"smtps://127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, map[string]string{})
			c.SMTPURLs, c.SMTPCAFile = tt.urls, tt.caFile
			fs := checkMail(t.Context(), c, 3*time.Second)
			var high []Finding
			for _, f := range fs {
				if f.Severity == High {
					high = append(high, f)
				}
			}
			if len(high) != len(tt.says) {
				t.Fatalf("findings %+v, want %d high", fs, len(tt.says))
			}
			for i, s := range tt.says {
				if !strings.Contains(high[i].Problem, s) {
					t.Errorf("finding %q lacks %q", high[i].Problem, s)
				}
			}
		})
	}
	if plain.Count()+starttls.Count()+implicit.Count() != 0 {
		t.Error("doctor sent mail")
	}
}

// TestCheckDatabase runs the database checks against both real backends:
// pending migrations, a current schema, and (PostgreSQL, which has a clock
// of its own) a skewed clock.
func TestCheckDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		open := func(ctx context.Context) (Database, func() error, error) {
			db, err := store.OpenNoMigrate(ctx, database)
			if err != nil {
				return nil, nil, err
			}
			return storeDB{db}, db.Close, nil
		}
		in := Input{Open: open, Now: time.Now, Timeout: 5 * time.Second}
		if fs := checkDatabase(t.Context(), in); !has(fs, "schema", Medium, "migrations are pending") {
			t.Errorf("fresh database: %+v", fs)
		}
		db, err := store.Open(t.Context(), database)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if fs := checkDatabase(t.Context(), in); len(fs) != 0 {
			t.Errorf("migrated database: %+v", fs)
		}
		in.Now = func() time.Time { return time.Now().Add(10 * time.Second) }
		fs := checkDatabase(t.Context(), in)
		if strings.HasPrefix(database, "postgres") != has(fs, "clock", High, "off the database's") {
			t.Errorf("clock 10 s ahead: %+v", fs)
		}
	})
}

// storeDB is the store as the checks ask it (cmd has the same adapter).
type storeDB struct{ *store.DB }

func (d storeDB) Versions(ctx context.Context) (int, int, error) {
	st, err := d.Status(ctx)
	return st.Current, st.Latest, err
}

func (d storeDB) Time(ctx context.Context) (time.Time, bool, error) { return d.ServerTime(ctx) }

// fakeDB answers what a test sets.
type fakeDB struct {
	ping            error
	current, latest int
}

func (f fakeDB) Ping(context.Context) error                    { return f.ping }
func (f fakeDB) Versions(context.Context) (int, int, error)    { return f.current, f.latest, nil }
func (f fakeDB) Time(context.Context) (time.Time, bool, error) { return time.Time{}, false, nil }
func opener(db Database) func(context.Context) (Database, func() error, error) {
	return func(context.Context) (Database, func() error, error) { return db, func() error { return nil }, nil }
}

func TestCheckDatabaseRefusals(t *testing.T) {
	in := Input{Now: time.Now, Timeout: time.Second}
	in.Open = opener(fakeDB{current: 17, latest: 16})
	if fs := checkDatabase(t.Context(), in); !has(fs, "schema", High, "newer than this keyshift knows (16)") {
		t.Errorf("newer schema: %+v", fs)
	}
	in.Open = opener(fakeDB{ping: errors.New("connection refused")})
	if fs := checkDatabase(t.Context(), in); !has(fs, "database", High, "unreachable: connection refused") {
		t.Errorf("down: %+v", fs)
	}
}
