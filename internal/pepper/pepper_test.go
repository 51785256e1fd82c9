package pepper

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var secret32 = bytes.Repeat([]byte{0xA5}, 32)

func TestParseReadsWhatOpenSSLWrites(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"hex (openssl rand -hex 32)":       hex.EncodeToString(secret32),
		"upper-case hex":                   strings.ToUpper(hex.EncodeToString(secret32)),
		"base64 (openssl rand -base64 32)": base64.StdEncoding.EncodeToString(secret32),
		"unpadded base64":                  base64.RawStdEncoding.EncodeToString(secret32),
		"URL-safe base64":                  base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xFB}, 33)),
		"with a newline, as in a file":     base64.StdEncoding.EncodeToString(secret32) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(text)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if len(p.ID()) != 8 {
				t.Errorf("ID %q, want 8 hex digits", p.ID())
			}
		})
	}
}

func TestParseRefusesWithoutRepeatingTheSecret(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"empty":                     "  ",
		"31 bytes":                  base64.StdEncoding.EncodeToString(secret32[:31]),
		"neither base64 nor hex":    "this is my pepper, secret!!",
		"a password typed by hand":  "hunter2hunter2hunter2",
		"hex of 16 bytes, too weak": hex.EncodeToString(secret32[:16]),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(text)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if trimmed := strings.TrimSpace(text); trimmed != "" && strings.Contains(err.Error(), trimmed) {
				t.Errorf("the error %q repeats the secret", err)
			}
		})
	}
}

func TestKeysDifferByPurposeAndPepper(t *testing.T) {
	t.Parallel()
	a, _ := New(secret32)
	b, _ := New(bytes.Repeat([]byte{1}, 32))
	if a.ID() == b.ID() {
		t.Error("two peppers share an id")
	}
	if again, _ := New(secret32); again.ID() != a.ID() || !bytes.Equal(again.Key("x"), a.Key("x")) {
		t.Error("the same pepper gives another id or key")
	}
	if bytes.Equal(a.Key("outbox"), a.Key("recovery-codes")) || bytes.Equal(a.Key("outbox"), b.Key("outbox")) {
		t.Error("keys of two purposes or two peppers are equal")
	}
	if bytes.Contains(a.Key("outbox"), secret32[:8]) {
		t.Error("a derived key holds the pepper")
	}
	keys := Set{Current: a, Previous: []Pepper{b, a}}.Keys("outbox")
	if len(keys) != 2 || keys[0].ID != a.ID() || keys[1].ID != b.ID() {
		t.Errorf("Keys = %v, want the current one, then the previous one once", keys)
	}
}

func TestLoadPrefersTheValueThenTheFile(t *testing.T) {
	t.Parallel()
	other := bytes.Repeat([]byte{7}, 32)
	file := filepath.Join(t.TempDir(), "pepper")
	os.WriteFile(file, []byte(hex.EncodeToString(other)+"\n"), 0o600)
	want, _ := New(secret32)
	fromFile, _ := New(other)
	db := filepath.Join(t.TempDir(), "keyshift.db")

	l, err := Load(Source{Value: hex.EncodeToString(secret32), File: file, SQLitePath: db, Create: true})
	if err != nil || l.Current.ID() != want.ID() || l.From != "pepper" {
		t.Errorf("with a value: %v from %q, err %v", l.Current.ID(), l.From, err)
	}
	l, err = Load(Source{File: file, SQLitePath: db, Create: true})
	if err != nil || l.Current.ID() != fromFile.ID() || l.From != "pepper_file" {
		t.Errorf("with a file: %v from %q, err %v", l.Current.ID(), l.From, err)
	}
	if _, err := os.Stat(db + FileSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a configured pepper still made a file beside the database: %v", err)
	}
	if _, err := Load(Source{File: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing pepper file was accepted")
	}
}

func TestLoadMakesAPrivateFileBesideASQLiteDatabaseOnce(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "keyshift.db")
	if _, err := Load(Source{SQLitePath: db}); !errors.Is(err, ErrNoPepper) {
		t.Errorf("a reader (Create false) got %v, want ErrNoPepper", err)
	}
	first, err := Load(Source{SQLitePath: db, Create: true})
	if err != nil || !first.Created || first.From != db+FileSuffix {
		t.Fatalf("first start: %+v, %v", first, err)
	}
	fi, err := os.Stat(db + FileSuffix)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pepper file mode %v, err %v; want 0600", fi.Mode().Perm(), err)
	}
	again, err := Load(Source{SQLitePath: db, Create: true})
	if err != nil || again.Created || again.Current.ID() != first.Current.ID() {
		t.Errorf("second start: created %v, id %s (first %s), err %v", again.Created, again.Current.ID(), first.Current.ID(), err)
	}
	os.Chmod(db+FileSuffix, 0o644)
	fixed, err := Load(Source{SQLitePath: db})
	if err != nil || !fixed.Tightened || fixed.Current.ID() != first.Current.ID() {
		t.Errorf("a 0644 file: tightened %v, err %v", fixed.Tightened, err)
	}
	if fi, _ := os.Stat(db + FileSuffix); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Load %v, want 0600", fi.Mode().Perm())
	}
}

func TestLoadOnOneDatabaseFromManyProcessesAgrees(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "keyshift.db")
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			l, err := Load(Source{SQLitePath: db, Create: true})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = l.Current.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent starts made different peppers: %v", ids)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(db), ".keyshift-pepper-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestLoadWithoutAPepperOnPostgreSQL(t *testing.T) {
	t.Parallel()
	if _, err := Load(Source{Create: true}); !errors.Is(err, ErrNoPepper) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("Load = %v; want ErrNoPepper saying how to make one", err)
	}
	l, err := Load(Source{DevFallback: func() ([]byte, error) { return secret32, nil }})
	if want, _ := New(secret32); err != nil || l.Current.ID() != want.ID() || l.From != "database (dev mode)" {
		t.Errorf("dev fallback: %+v, %v", l, err)
	}
}

func TestLoadReadsPreviousPeppers(t *testing.T) {
	t.Parallel()
	prev := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	l, err := Load(Source{Value: hex.EncodeToString(secret32), Previous: []string{prev}})
	if err != nil || len(l.Previous) != 1 {
		t.Fatalf("Load = %+v, %v", l, err)
	}
	if _, err := Load(Source{Value: hex.EncodeToString(secret32), Previous: []string{prev, "short"}}); err == nil ||
		!strings.Contains(err.Error(), "entry 2") {
		t.Errorf("a bad previous pepper: %v, want an error naming entry 2", err)
	}
}
