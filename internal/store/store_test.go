package store_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/store"
)

// t0 is the tests' "now": whole milliseconds, which both backends keep
// exactly. Tests move time by adding to it; nothing sleeps.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// openTimeout bounds opening a database, so a hang fails in seconds instead
// of at go test's -timeout.
const openTimeout = 30 * time.Second

// open opens database with migrations applied and closes it when t ends.
func open(t *testing.T, database string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), openTimeout)
	defer cancel()
	db, err := store.Open(ctx, database)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openNoMigrate opens database without touching its schema.
func openNoMigrate(t *testing.T, database string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), openTimeout)
	defer cancel()
	db, err := store.OpenNoMigrate(ctx, database)
	if err != nil {
		t.Fatalf("OpenNoMigrate: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomID returns a string no other test uses.
func randomID() string { return rand.Text() }

// newUser returns a user no other test shares.
func newUser() *account.User {
	id := randomID()
	return &account.User{
		ID:         "u-" + id,
		Email:      "Ada." + id + "@example.com",
		EmailKey:   "ada." + strings.ToLower(id) + "@example.com",
		Name:       "Ada Lovelace",
		WebAuthnID: randomBytes(64),
		CreatedAt:  t0,
		UpdatedAt:  t0,
		Origin:     account.OriginSignup,
	}
}

// createUser stores a new user and returns it.
func createUser(t *testing.T, db *store.DB) *account.User {
	t.Helper()
	u := newUser()
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func newPassword(u *account.User) *account.Credential {
	return &account.Credential{
		ID:             "c-" + randomID(),
		UserID:         u.ID,
		Type:           account.CredentialPassword,
		PasswordHash:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		PasswordFormat: "argon2id",
		CreatedAt:      t0,
		UpdatedAt:      t0,
	}
}

func newPasskey(u *account.User) *account.Credential {
	return &account.Credential{
		ID:           "c-" + randomID(),
		UserID:       u.ID,
		Type:         account.CredentialWebAuthn,
		CredentialID: randomBytes(32),
		PublicKey:    randomBytes(77),
		Name:         "Passkey",
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
}

func newSession(u *account.User, created time.Time) *account.Session {
	return &account.Session{
		ID:              "s-" + randomID(),
		TokenHash:       randomBytes(32),
		UserID:          u.ID,
		AuthMethod:      account.MethodPassword,
		AuthenticatedAt: created,
		CreatedAt:       created,
		LastSeenAt:      created,
		ExpiresAt:       created.Add(30 * 24 * time.Hour),
		UserAgent:       "Mozilla/5.0 (X11; Linux x86_64)",
		IP:              "203.0.113.7",
	}
}

// create stores each value with the matching store method.
func create(t *testing.T, db *store.DB, values ...any) {
	t.Helper()
	for _, v := range values {
		var err error
		switch v := v.(type) {
		case *account.User:
			err = db.CreateUser(t.Context(), v)
		case *account.Credential:
			err = db.CreateCredential(t.Context(), v)
		case *account.Session:
			_, err = db.CreateSession(t.Context(), v)
		case *account.Event:
			err = db.AppendEvent(t.Context(), v)
		default:
			t.Fatalf("create: cannot store a %T", v)
		}
		if err != nil {
			t.Fatalf("creating %T: %v", v, err)
		}
	}
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, err error, code account.Code) {
	t.Helper()
	if !account.IsCode(err, code) {
		t.Fatalf("err = %v (code %s), want code %s", err, account.ErrorCode(err), code)
	}
}

// same fails t unless got and want encode to the same JSON: times compare in
// RFC 3339 with their zone (so a non-UTC time shows), bytes as base64.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// count returns the number of rows of a raw query like "SELECT COUNT(*) …".
func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowForTest(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
