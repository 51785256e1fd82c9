package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/store/sqldb"
	"github.com/keyshift/keyshift/internal/testdb"
)

// canonicalKeysMigration is the name of the migration that re-keys
// addresses; its number may change when other migrations land first, its
// name does not.
const canonicalKeysMigration = "canonical_email_keys"

// versionNamed returns the number of dialect's migration called name.
func versionNamed(t *testing.T, dialect, name string) int {
	t.Helper()
	ms, err := sqldb.Migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == name {
			return m.Version
		}
	}
	t.Fatalf("no %s migration %q", dialect, name)
	return 0
}

// oldAccount is a row as keyshift wrote it before canonical keys: the
// domain lower-cased, the key strings.ToLower of the address.
type oldAccount struct {
	id, email string
	verified  bool
	age       time.Duration // how long before the upgrade it signed up
}

// TestCanonicalEmailKeysMigration: accounts made under ToLower keys are
// re-keyed by account.NormalizeEmail. Two spellings of one address (NFD
// and NFC, punycode and Unicode) that made two accounts are reported, and
// both rows stay — the one that proved its address keeps the key, else the
// older; a look-alike or invisible character leaves its account unkeyed
// (no typed address reaches it) and frees the key it squatted. Pending
// links and flows follow their account or die; nothing else is deleted.
func TestCanonicalEmailKeysMigration(t *testing.T) {
	accounts := []oldAccount{
		{"nfc", "jos\u00e9@example.com", false, 3 * time.Hour},
		{"nfd", "jose\u0301@example.com", true, time.Hour}, // proved its address: keeps the key though younger
		{"unicode", "ada@bücher.de", false, 3 * time.Hour}, // the older of two unproven ones keeps the key
		{"punycode", "ada@xn--bcher-kva.de", false, time.Hour},
		{"kelvin", "\u212Aate@example.com", true, 2 * time.Hour},        // ToLower made its key kate@example.com
		{"zero-width", "bo\u200Bb@example.com", false, 2 * time.Hour},   // an invisible character
		{"capital-umlaut", "ÄRGER@example.com", false, 2 * time.Hour},   // the key keeps non-ASCII case now
		{"plain", "Carol@example.com", false, 2 * time.Hour},            // canonical already
		{"pending", "dave@example.com", false, 2 * time.Hour},           // has links in flight
		{"pending-puny", "erin@xn--bcher-kva.de", false, 2 * time.Hour}, // canonical differs, no conflict
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		dialect := "postgres"
		if strings.HasPrefix(database, "sqlite:") {
			dialect = "sqlite"
		}
		db := openNoMigrate(t, database)
		ctx := t.Context()
		if _, err := db.MigrateForTest(ctx, migrationsUpTo(t, dialect, versionNamed(t, dialect, canonicalKeysMigration)-1)); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		at := func(tm time.Time) any {
			if dialect == "sqlite" {
				return tm.UnixMilli()
			}
			return tm
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.ExecForTest(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, a := range accounts {
			verified := any(a.verified)
			if dialect == "sqlite" {
				verified = map[bool]int{false: 0, true: 1}[a.verified]
			}
			exec(`INSERT INTO users (id, email, email_key, email_verified, webauthn_id, created_at, updated_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, 'signup')`,
				a.id, a.email, strings.ToLower(a.email), verified, []byte("h-"+a.id), at(now.Add(-a.age)), at(now.Add(-a.age)))
			exec(`INSERT INTO credentials (id, user_id, type, password_hash, password_format, created_at, updated_at) VALUES (?, ?, 'password', '$argon2id$x', 'argon2id', ?, ?)`,
				"pw-"+a.id, a.id, at(now), at(now))
		}
		later := at(now.Add(time.Hour))
		// A confirmation link of an account whose key changes; email-change
		// links from and to spellings that change, and to a look-alike.
		exec(`INSERT INTO email_verifications (token_hash, user_id, email_key, created_at, expires_at) VALUES (?, 'nfd', ?, ?, ?)`,
			[]byte("verify-nfd"), "jose\u0301@example.com", at(now), later)
		exec(`INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at) VALUES (?, 'confirm', 'pending', ?, ?, 'dave@example.com', ?, ?)`,
			[]byte("to-puny"), "dave@xn--bcher-kva.de", "dave@xn--bcher-kva.de", at(now), later)
		exec(`INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at) VALUES (?, 'confirm', 'pending', ?, ?, 'dave@example.com', ?, ?)`,
			[]byte("to-lookalike"), "d\u0430ve\u200D@example.com", "d\u0430ve\u200D@example.com", at(now), later)
		exec(`INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at) VALUES (?, 'confirm', 'pending-puny', ?, ?, 'erin@xn--bcher-kva.de', ?, ?)`,
			[]byte("from-puny"), "erin@example.org", "erin@example.org", at(now), later)
		exec(`INSERT INTO email_changes (token_hash, kind, user_id, email, email_key, old_key, created_at, expires_at) VALUES (?, 'revert', 'pending', ?, ?, 'dave@example.com', ?, ?)`,
			[]byte("revert-to-lookalike"), "d\u200Bave@example.com", "d\u200Bave@example.com", at(now), later)
		for _, f := range []struct{ id, email string }{{"flow-nfd", "jose\u0301@example.com"}, {"flow-plain", "carol@example.com"}} {
			exec(`INSERT INTO email_flows (id, email, email_key, token_hash, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				f.id, f.email, strings.ToLower(f.email), []byte("t-"+f.id), []byte("c"), at(now), later)
		}

		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}

		t.Run("every account keeps its row and credentials", func(t *testing.T) {
			for _, a := range accounts {
				u, err := db.FindUser(ctx, a.id)
				if err != nil || !u.HasPassword {
					t.Errorf("%s: %+v, %v", a.id, u, err)
				}
			}
		})
		t.Run("each account has its canonical key or none", func(t *testing.T) {
			want := map[string][2]string{
				"nfd":            {"jos\u00e9@example.com", "jos\u00e9@example.com"},
				"nfc":            {"jos\u00e9@example.com", store.UnkeyedPrefix + "nfc"},
				"unicode":        {"ada@bücher.de", "ada@bücher.de"},
				"punycode":       {"ada@xn--bcher-kva.de", store.UnkeyedPrefix + "punycode"},
				"kelvin":         {"\u212Aate@example.com", store.UnkeyedPrefix + "kelvin"},
				"zero-width":     {"bo\u200Bb@example.com", store.UnkeyedPrefix + "zero-width"},
				"capital-umlaut": {"ÄRGER@example.com", "Ärger@example.com"},
				"plain":          {"Carol@example.com", "carol@example.com"},
				"pending":        {"dave@example.com", "dave@example.com"},
				"pending-puny":   {"erin@bücher.de", "erin@bücher.de"},
			}
			for id, w := range want {
				u, err := db.FindUser(ctx, id)
				if err != nil || u.Email != w[0] || u.EmailKey != w[1] {
					t.Errorf("%s: %q keyed %q (%v), want %q keyed %q", id, u.Email, u.EmailKey, err, w[0], w[1])
				}
			}
		})
		t.Run("the key a look-alike squatted is free", func(t *testing.T) {
			if u, err := db.FindUserByEmailKey(ctx, "kate@example.com"); !account.IsCode(err, account.ENotFound) {
				t.Errorf("kate@example.com still finds %+v (%v)", u, err)
			}
		})
		t.Run("the accounts left unkeyed are listed with why", func(t *testing.T) {
			cs, err := db.FindEmailKeyConflicts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, fmt.Sprintf("%s %s %q→%q kept by %s <%s>", c.UserID, c.Reason, c.OldKey, c.CanonicalKey, c.KeptBy, c.KeptByEmail))
				if c.FoundAt.IsZero() {
					t.Errorf("%s: no time found", c.UserID)
				}
			}
			slices.Sort(got)
			want := []string{
				`kelvin lookalike_character "kate@example.com"→"" kept by  <>`, // strings.ToLower made a K of the Kelvin sign,
				`nfc duplicate "josé@example.com"→"josé@example.com" kept by nfd <josé@example.com>`,
				`punycode duplicate "ada@xn--bcher-kva.de"→"ada@bücher.de" kept by unicode <ada@bücher.de>`,
				`zero-width invisible_character "bo\u200bb@example.com"→"" kept by  <>`,
			}
			if !slices.Equal(got, want) {
				t.Errorf("conflicts:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
		t.Run("pending links follow their accounts' keys", func(t *testing.T) {
			var key string
			if err := db.QueryRowForTest(ctx, `SELECT email_key FROM email_verifications WHERE token_hash = ?`, []byte("verify-nfd")).Scan(&key); err != nil || key != "jos\u00e9@example.com" {
				t.Errorf("confirmation link keyed %q (%v)", key, err)
			}
			links := map[string]string{}
			rows := []string{"to-puny", "to-lookalike", "from-puny", "revert-to-lookalike"}
			for _, tok := range rows {
				var email, key, old string
				err := db.QueryRowForTest(ctx, `SELECT email, email_key, old_key FROM email_changes WHERE token_hash = ?`, []byte(tok)).Scan(&email, &key, &old)
				if err != nil {
					links[tok] = "gone"
					continue
				}
				links[tok] = email + " " + key + " from " + old
			}
			want := map[string]string{
				"to-puny":             "dave@bücher.de dave@bücher.de from dave@example.com",
				"to-lookalike":        "gone",
				"from-puny":           "erin@example.org erin@example.org from erin@bücher.de",
				"revert-to-lookalike": "d\u200Bave@example.com " + store.UnkeyedPrefix + "pending from dave@example.com",
			}
			for tok, w := range want {
				if links[tok] != w {
					t.Errorf("%s: %q, want %q", tok, links[tok], w)
				}
			}
		})
		t.Run("sign-in flows of other spellings die, others live", func(t *testing.T) {
			now := time.Now()
			if _, err := db.FindNewestEmailFlow(ctx, "carol@example.com", now); err != nil {
				t.Errorf("the canonical flow: %v", err)
			}
			var n int
			if err := db.QueryRowForTest(ctx, `SELECT COUNT(*) FROM email_flows`).Scan(&n); err != nil || n != 1 {
				t.Errorf("%d flows (%v), want the canonical one", n, err)
			}
		})
		t.Run("an account that takes a new address is no longer listed", func(t *testing.T) {
			if err := db.UpdateUserEmail(ctx, "punycode", "ada@example.net", "ada@example.net", true, time.Now()); err != nil {
				t.Fatal(err)
			}
			cs, err := db.FindEmailKeyConflicts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.UserID == "punycode" {
					t.Errorf("still listed: %+v", c)
				}
			}
			if len(cs) != 3 {
				t.Errorf("%d listed, want 3", len(cs))
			}
		})
	})
}
