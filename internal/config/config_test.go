package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns a getenv backed by m, so tests never touch the real environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes a config file in a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyshift.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemsOf returns the Problems in err, failing the test when err is not Problems.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error = %v (%T), want Problems", err, err)
	}
	return ps
}

// findProblem returns the first problem about key, failing the test when none is.
func findProblem(t *testing.T, err error, key string) Problem {
	t.Helper()
	for _, p := range problemsOf(t, err) {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no problem about %q in:\n%v", key, err)
	return Problem{}
}

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.RPID != "localhost" || c.Origin != "http://localhost:8080" {
		t.Errorf("after Validate: Origin %q, RPID %q; want http://localhost:8080, localhost", c.Origin, c.RPID)
	}
}

func TestLoadWithNothingSetGivesTheDefaults(t *testing.T) {
	t.Parallel()
	got, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.RPID = "localhost"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant    %+v", got, want)
	}
}

func TestLoadAppliesTheFileThenTheEnvironment(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `
listen: ":9000"
origin: https://login.example.com
rp_name: From the file
database: sqlite:/var/lib/keyshift/file.db
smtp_url: smtp://mail.example.com:587
dev: true
trusted_proxies: [10.0.0.0/8, 192.0.2.1]
session:
  idle_timeout: 1h
password:
  hash_concurrency: 3
  argon2_memory_kib: 65536
log:
  level: debug
`)
	got, err := Load(path, env(map[string]string{
		"KEYSHIFT_ORIGIN":                 "https://auth.example.com",
		"KEYSHIFT_RP_ID":                  "example.com",
		"KEYSHIFT_DATABASE":               "postgres://keyshift@db:5432/keyshift",
		"KEYSHIFT_DEV":                    "false",
		"KEYSHIFT_HASH_CONCURRENCY":       "5",
		"KEYSHIFT_ARGON2_ITERATIONS":      "3",
		"KEYSHIFT_LOG_FORMAT":             "json",
		"KEYSHIFT_PASSWORD_FAILURE_FLOOR": "400ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen = ":9000"                                                                      // file
	want.Origin = "https://auth.example.com"                                                   // env over file
	want.RPID = "example.com"                                                                  // env
	want.RPName = "From the file"                                                              // file
	want.Database = "postgres://keyshift@db:5432/keyshift"                                     // env over file
	want.SMTPURLs = []string{"smtp://mail.example.com:587"}                                    // file
	want.Dev = false                                                                           // env over file
	want.TrustedProxies = []netip.Prefix{mustPrefix("10.0.0.0/8"), mustPrefix("192.0.2.1/32")} // file
	want.Session.IdleTimeout = time.Hour                                                       // file
	want.Password.HashConcurrency = 5                                                          // env over file
	want.Password.ArgonMemoryKiB = 65536                                                       // file
	want.Password.ArgonIterations = 3                                                          // env
	want.Password.FailureFloor = 400 * time.Millisecond                                        // env
	want.Log = LogConfig{Level: "debug", Format: "json"}                                       // file, env
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
}

func mustPrefix(s string) netip.Prefix {
	return netip.MustParsePrefix(s)
}

func TestLoadTreatsAnEmptyVariableAsUnset(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "listen: \":9000\"\nsession:\n  idle_timeout: 1h\n")
	empty := map[string]string{}
	for _, s := range settings {
		empty[s.env] = ""
	}
	empty["KEYSHIFT_LISTEN"] = "   "
	got, err := Load(path, env(empty))
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != ":9000" || got.Session.IdleTimeout != time.Hour || got.Origin != "http://localhost:8080" {
		t.Errorf("empty variables overrode values: listen %q, idle %s, origin %q", got.Listen, got.Session.IdleTimeout, got.Origin)
	}
}

func TestLoadLeavesAKeyWithNoValueAtItsDefault(t *testing.T) {
	t.Parallel()
	got, err := Load(writeFile(t, "listen:\nrp_name: ~\nsession:\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:8080" || got.RPName != "keyshift" {
		t.Errorf("listen %q, rp_name %q; want the defaults", got.Listen, got.RPName)
	}
}

func TestLoadReportsAMissingFileByPath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, env(nil))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(missing) = %v; want a not-exist error naming %s", err, path)
	}
}

func TestLoadAcceptsAnEmptyFile(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"empty":              "",
		"only comments":      "# nothing set yet\n",
		"an empty document":  "---\n",
		"a null document":    "~\n",
		"an explicit end":    "---\n...\n",
		"blank lines around": "\n\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Load(writeFile(t, content), env(nil)); err != nil {
				t.Errorf("Load = %v", err)
			}
		})
	}
}

func TestLoadRejectsAMalformedFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, key, msg string
	}{
		{"rejects an unknown key", "listne: :8080\n", "listne", "unknown key"},
		{"rejects an unknown nested key by its full name", "session:\n  idle_timout: 1h\n", "session.idle_timout", "unknown key ("},
		{"suggests the section of a nested key written at the top", "idle_timeout: 1h\n", "idle_timeout", "did you mean session.idle_timeout?"},
		{"rejects an unknown section", "sessions:\n  idle_timeout: 1h\n", "sessions", "unknown key"},
		{"rejects a key given twice", "listen: :1\nlisten: :2\n", "listen", "set twice"},
		{"rejects a section that is not a mapping", "session: 1h\n", "session", "must be a mapping"},
		{"rejects a list where one value belongs", "listen: [a, b]\n", "listen", "single value"},
		{"rejects a mapping where one value belongs", "origin:\n  host: x\n", "origin", "single value"},
		{"rejects a single string where a list belongs", "trusted_proxies: 10.0.0.1\n", "trusted_proxies", "must be a list"},
		{"rejects nested lists", "trusted_proxies: [[10.0.0.1]]\n", "trusted_proxies", "must be a list"},
		{"rejects a document that is a list", "- listen\n", "", "must be a mapping"},
		{"rejects broken YAML", "listen: [\n", "", "yaml:"},
		{"rejects a second document", "listen: :1\n---\nlisten: :2\n", "", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.content)
			_, err := Load(path, env(nil))
			p := findProblem(t, err, tt.key)
			if !strings.Contains(p.Msg, tt.msg) || !strings.Contains(p.Msg, path) {
				t.Errorf("problem = %q; want it to mention %q and the file", p.Msg, tt.msg)
			}
		})
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, variable, value, key, msg string
	}{
		{"rejects a duration that is not one", "KEYSHIFT_SESSION_IDLE_TIMEOUT", "abc", "session.idle_timeout", `"abc" is not a duration`},
		{"rejects a duration in days", "KEYSHIFT_SESSION_ABSOLUTE_TIMEOUT", "30d", "session.absolute_timeout", `no "d"`},
		{"rejects a negative concurrency", "KEYSHIFT_HASH_CONCURRENCY", "-1", "password.hash_concurrency", "is -1"},
		{"rejects a concurrency that is not a number", "KEYSHIFT_HASH_CONCURRENCY", "many", "password.hash_concurrency", "not a whole number"},
		{"rejects a boolean that is neither", "KEYSHIFT_DEV", "maybe", "dev", `"maybe" is not true or false`},
		{"rejects a parallelism too big for a byte", "KEYSHIFT_ARGON2_PARALLELISM", "300", "password.argon2_parallelism", "out of range"},
		{"rejects a negative memory cost", "KEYSHIFT_ARGON2_MEMORY_KIB", "-5", "password.argon2_memory_kib", "out of range"},
		{"rejects a fractional iteration count", "KEYSHIFT_ARGON2_ITERATIONS", "2.5", "password.argon2_iterations", "not a whole number"},
		{"rejects a proxy that is not an address", "KEYSHIFT_TRUSTED_PROXIES", "10.0.0.0/8, bogus", "trusted_proxies", `"bogus"`},
		{"rejects a proxy with a zone", "KEYSHIFT_TRUSTED_PROXIES", "fe80::1%eth0", "trusted_proxies", "not an IP address"},
		{"rejects an origin that is not http", "KEYSHIFT_ORIGIN", "ftp://x", "origin", "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run("environment "+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load("", env(map[string]string{tt.variable: tt.value}))
			p := findProblem(t, err, tt.key)
			if !strings.Contains(p.Msg, tt.msg) || !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("error = %v\nwant %q and the variable's name", err, tt.msg)
			}
		})
	}
}

func TestLoadSaysWhereABadValueCameFrom(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "dev: true\nsession:\n  idle_timeout: soon\n")
	_, err := Load(path, env(map[string]string{"KEYSHIFT_DEV": "maybe"}))
	if p := findProblem(t, err, "session.idle_timeout"); !strings.HasSuffix(p.Msg, "("+path+":3)") {
		t.Errorf("file problem = %q; want it to end with (%s:3)", p.Msg, path)
	}
	if p := findProblem(t, err, "dev"); !strings.HasSuffix(p.Msg, "(from the environment)") {
		t.Errorf("environment problem = %q; want it to say it came from the environment", p.Msg)
	}
}

func TestLoadCollectsEveryProblemInOneError(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "listne: x\nsession:\n  idle_timeout: 0s\nlog:\n  level: loud\n")
	_, err := Load(path, env(map[string]string{
		"KEYSHIFT_DEV":               "maybe",
		"KEYSHIFT_ORIGIN":            "ftp://x",
		"KEYSHIFT_ARGON2_MEMORY_KIB": "1024",
		"KEYSHIFT_ADMIN_TOKEN":       "short",
	}))
	want := []string{"listne", "session.idle_timeout", "log.level", "dev", "origin", "password.argon2_memory_kib", "admin_token"}
	var got []string
	for _, p := range problemsOf(t, err) {
		got = append(got, p.Key)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems about %v\nwant %v\nerror:\n%v", got, want, err)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != len(want) {
		t.Errorf("error has %d lines, want %d:\n%v", lines, len(want), err)
	}
}

func TestLoadSplitsTheSMTPList(t *testing.T) {
	t.Parallel()
	want := []string{"smtp://a.example.com:587", "smtps://u:p@b.example.com:465"}
	tests := []struct{ name, file, env string }{
		{"splits the variable on commas and trims blanks", "", "  smtp://a.example.com:587 ,smtps://u:p@b.example.com:465 , "},
		{"splits the file's string the same way", "smtp_url: smtp://a.example.com:587,  smtps://u:p@b.example.com:465\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := Load(path, env(map[string]string{"KEYSHIFT_SMTP_URL": tt.env}))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.SMTPURLs, want) {
				t.Errorf("SMTPURLs = %q, want %q", c.SMTPURLs, want)
			}
		})
	}
}

func TestLoadLetsAnEmptySMTPStringMeanTheDevMailer(t *testing.T) {
	t.Parallel()
	c, err := Load(writeFile(t, `smtp_url: ""`), env(nil))
	if err != nil || c.SMTPURLs != nil {
		t.Errorf("SMTPURLs = %q, err %v; want none", c.SMTPURLs, err)
	}
}

func TestLoadReadsTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		want        []string
	}{
		{"turns a bare IPv4 address into a /32", "192.0.2.1", []string{"192.0.2.1/32"}},
		{"turns a bare IPv6 address into a /128", "2001:db8::1", []string{"2001:db8::1/128"}},
		{"masks host bits off a CIDR", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"unmaps an IPv4-mapped address", "::ffff:192.0.2.1", []string{"192.0.2.1/32"}},
		{"keeps the order of several", "fd00::/8, 127.0.0.1", []string{"fd00::/8", "127.0.0.1/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load("", env(map[string]string{"KEYSHIFT_TRUSTED_PROXIES": tt.value}))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.TrustedProxies {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("TrustedProxies = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadFollowsYAMLAliases(t *testing.T) {
	t.Parallel()
	c, err := Load(writeFile(t, "session:\n  idle_timeout: &day 24h\n  absolute_timeout: *day\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Session.IdleTimeout != 24*time.Hour || c.Session.AbsoluteTimeout != 24*time.Hour {
		t.Errorf("Session = %+v, want both 24h", c.Session)
	}
}

func TestSettingsAreUniqueAndNamedConsistently(t *testing.T) {
	t.Parallel()
	keys, envs := map[string]bool{}, map[string]bool{}
	for _, s := range settings {
		if keys[s.key] || envs[s.env] {
			t.Errorf("setting %s / %s is listed twice", s.key, s.env)
		}
		keys[s.key], envs[s.env] = true, true
		if !strings.HasPrefix(s.env, "KEYSHIFT_") || strings.ToUpper(s.env) != s.env {
			t.Errorf("variable %q should be KEYSHIFT_ and upper case", s.env)
		}
		if sections[s.key] {
			t.Errorf("key %q is both a value and a section", s.key)
		}
	}
}

func TestLoadReadsFurtherOrigins(t *testing.T) {
	t.Parallel()
	want := []string{"http://b.localhost:8080", "http://c.localhost:8080"}
	tests := []struct{ name, file, env string }{
		{"splits the variable on commas", "", " http://B.localhost:8080/, http://c.localhost:8080"},
		{"reads a YAML list", "origins: [http://B.localhost:8080/, http://c.localhost:8080]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeFile(t, "origin: http://a.localhost:8080\n"+tt.file)
			}
			c, err := Load(path, env(map[string]string{"KEYSHIFT_ORIGIN": "http://a.localhost:8080", "KEYSHIFT_ORIGINS": tt.env}))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Origins, want) {
				t.Errorf("Origins = %q, want %q", c.Origins, want)
			}
		})
	}
}
