package server_test

// Secrets at rest (docs/security.md, threats T5 and T15): every
// mail-sending flow runs against a real keyshift and a real SMTP server,
// every token and code that was mailed (or shown, for recovery codes) is
// collected, and then the database's raw bytes — the SQLite file, its -wal
// and -shm, or every PostgreSQL table's rows as text — must hold none of
// them, nor the recovery codes' plain SHA-256, nor the pepper.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/pepper"
	"github.com/keyshift/keyshift/internal/server"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

const memberPassword = "violet harbor tangent 91"

var (
	tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]{20,})`)
	codeRE  = regexp.MustCompile(`\b([0-9]{6})\b`)
)

// secrets is what a thief with the database must not find.
type secrets struct {
	tokens []string // link tokens: sign-in, confirmations, revert
	codes  []string // 6-digit email codes
	kinds  map[string]bool
}

func (s *secrets) fromMail(t *testing.T, d mailtest.Decoded) {
	t.Helper()
	for _, part := range []string{d.Text, d.HTML} {
		for _, m := range tokenRE.FindAllStringSubmatch(part, -1) {
			s.tokens = append(s.tokens, m[1])
		}
	}
	for _, part := range []string{d.Subject, d.Text} {
		for _, m := range codeRE.FindAllStringSubmatch(part, -1) {
			s.codes = append(s.codes, m[1])
		}
	}
}

// waitDelivered waits until every queued mail was sent, and returns the
// mails the SMTP server got.
func waitDelivered(t *testing.T, in *servertest.Instance, box *mailtest.Server) []mailtest.Decoded {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		queued, err := in.DB.CountOutbox(context.Background(), outbox.StatusQueued)
		if err != nil {
			t.Fatal(err)
		}
		sent, err := in.DB.CountOutbox(context.Background(), outbox.StatusSent)
		if err != nil {
			t.Fatal(err)
		}
		if queued == 0 && sent == box.Count() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail still queued: %d queued, %d sent, %d received", queued, sent, box.Count())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out []mailtest.Decoded
	for _, m := range box.Messages() {
		out = append(out, mailtest.Decode(t, m.Raw))
	}
	return out
}

func mailTo(t *testing.T, box *mailtest.Server, to, subject string) mailtest.Decoded {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range box.Messages() {
			if d := mailtest.Decode(t, m.Raw); strings.EqualFold(m.To[0], to) && strings.Contains(d.Subject, subject) {
				return d
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no mail %q to %s", subject, to)
	return mailtest.Decoded{}
}

func wantStatus(t *testing.T, r *servertest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
}

// runEveryMailFlow drives every flow that mails a secret and returns what
// was mailed or shown, and the recovery codes.
func runEveryMailFlow(t *testing.T, in *servertest.Instance, box *mailtest.Server) (*secrets, []string) {
	t.Helper()
	s := &secrets{kinds: map[string]bool{}}
	ada := in.Client(t)
	ada.Signup("ada@example.com", memberPassword) // the confirmation mail
	// Confirmed with its link: only a proven address makes recovery codes
	// and moves.
	confirmed := tokenRE.FindStringSubmatch(mailTo(t, box, "ada@example.com", "Confirm your email address").Text)
	if confirmed == nil {
		t.Fatal("no link in the sign-up's confirmation mail")
	}
	wantStatus(t, in.Client(t).JSON(http.MethodPost, "/api/email/confirm", map[string]any{"token": confirmed[1]}), http.StatusOK)

	r := ada.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{})
	wantStatus(t, r, http.StatusCreated)
	var rc struct{ Codes []string }
	r.JSON(t, &rc)

	wantStatus(t, ada.JSON(http.MethodPost, "/api/account/email", map[string]any{"email": "nova@example.org"}), http.StatusAccepted)
	confirm := tokenRE.FindStringSubmatch(mailTo(t, box, "nova@example.org", "Confirm your new email address").Text)
	if confirm == nil {
		t.Fatal("no link in the email change's confirmation")
	}
	// Used, so that the old address gets its notice with the 7-day revert link.
	wantStatus(t, in.Client(t).JSON(http.MethodPost, "/api/account/email/confirm", map[string]any{"token": confirm[1]}), http.StatusOK)
	mailTo(t, box, "ada@example.com", "now uses another email address")

	wantStatus(t, in.Client(t).JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "nova@example.org"}), http.StatusAccepted)
	wantStatus(t, in.Client(t).Signin("nova@example.org", memberPassword), http.StatusOK) // a new device: its notice
	wantStatus(t, in.Client(t).JSON(http.MethodPost, "/api/signin/recovery-code",
		map[string]any{"email": "nova@example.org", "code": rc.Codes[9]}), http.StatusOK) // the recovery notice

	// A member with only a mailbox (an email sign-in made the account)
	// steps up with a mailed code, left unused.
	eve := in.Client(t)
	r = eve.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "eve@example.com"})
	wantStatus(t, r, http.StatusAccepted)
	var started struct{ FlowID string }
	r.JSON(t, &started)
	signinCode := codeRE.FindStringSubmatch(mailTo(t, box, "eve@example.com", "sign-in code").Subject)
	if signinCode == nil {
		t.Fatal("no code in eve's sign-in mail")
	}
	wantStatus(t, eve.JSON(http.MethodPost, "/api/email/finish", map[string]any{"flowId": started.FlowID, "code": signinCode[1]}), http.StatusOK)
	wantStatus(t, eve.JSON(http.MethodPost, "/api/reauth/begin", map[string]any{}), http.StatusOK)
	mailTo(t, box, "eve@example.com", "confirmation code")

	for _, d := range waitDelivered(t, in, box) {
		s.fromMail(t, d)
		s.kinds[d.Subject] = true
	}
	return s, rc.Codes
}

// wantCaught fails unless the flows mailed what the test must look for:
// otherwise it would pass by finding nothing.
func wantCaught(t *testing.T, s *secrets, recovery []string) {
	t.Helper()
	if len(s.tokens) < 4 || len(s.codes) < 1 || len(recovery) != 10 {
		t.Fatalf("collected %d tokens, %d codes, %d recovery codes; want at least the sign-in, confirmation, "+
			"email change and revert tokens, the sign-in code and 10 recovery codes (mails: %v)", len(s.tokens), len(s.codes), len(recovery), s.kinds)
	}
}

// rawDatabase returns the database's bytes as a thief would have them: the
// SQLite file with its -wal and -shm, or every row of every PostgreSQL table
// as text (what a dump holds).
func rawDatabase(t *testing.T, database string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil {
				t.Fatal(err)
			}
			out[path+suffix] = b
		}
		return out
	}
	db := testdb.Raw(t, database)
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found only the tables %v", tables)
	}
	for _, table := range tables {
		rows, err := db.Query(`SELECT t::text FROM "` + table + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			buf.WriteString(row + "\n")
		}
		rows.Close()
		out["table "+table] = buf.Bytes()
	}
	return out
}

// wantNothingInClear searches every raw part of the database for every
// secret, in each form it could be stored in.
func wantNothingInClear(t *testing.T, raw map[string][]byte, s *secrets, recovery []string, pepperForms [][]byte) {
	t.Helper()
	look := func(what string, needle []byte) {
		for where, b := range raw {
			if len(needle) > 0 && bytes.Contains(b, needle) {
				t.Errorf("%s holds %s", where, what)
			}
		}
	}
	for _, tok := range s.tokens {
		look("the mailed token "+tok, []byte(tok))
	}
	for _, code := range s.codes {
		re := regexp.MustCompile(`(^|[^0-9])` + code + `([^0-9]|$)`)
		for where, b := range raw {
			if re.Match(b) {
				t.Errorf("%s holds the mailed code %s", where, code)
			}
		}
	}
	for _, code := range recovery {
		bare := strings.ReplaceAll(code, "-", "")
		look("the recovery code "+code, []byte(code))
		look("the recovery code "+code+" without its dash", []byte(bare))
		sum := sha256.Sum256([]byte(bare))
		look("the plain SHA-256 of recovery code "+code, sum[:])
		look("the plain SHA-256 of recovery code "+code+" (as hex)", []byte(hex.EncodeToString(sum[:])))
	}
	for _, p := range pepperForms {
		look("the pepper", p)
	}
}

// pepperForms returns the pepper of in's database in the forms a dump could
// hold it.
func pepperForms(t *testing.T, in *servertest.Instance, database string) [][]byte {
	t.Helper()
	text := in.Config.Pepper
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		b, err := os.ReadFile(path + pepper.FileSuffix)
		if err != nil {
			t.Fatal(err)
		}
		text = strings.TrimSpace(string(b))
	}
	secret, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{[]byte(text), secret, []byte(hex.EncodeToString(secret))}
}

func wantPrivateFiles(t *testing.T, path string) {
	t.Helper()
	for _, f := range []string{path, path + "-wal", path + "-shm", path + pepper.FileSuffix} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", f, perm)
		}
	}
}

// TestNoMailedSecretIsStoredInClear is T5's test: after every
// mail-sending flow, the database holds no token or code that was mailed,
// no recovery code or its plain SHA-256, and not the pepper; SQLite's files
// are readable by their owner only, and one found readable by others is
// made private at start, with a log line.
func TestNoMailedSecretIsStoredInClear(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		box := mailtest.Start(t)
		in := servertest.Start(t, database, func(c *config.Config) { c.SMTPURLs = []string{box.URL()} })
		s, recovery := runEveryMailFlow(t, in, box)
		wantCaught(t, s, recovery)
		wantNothingInClear(t, rawDatabase(t, database), s, recovery, pepperForms(t, in, database))

		path, ok := strings.CutPrefix(database, "sqlite:")
		if !ok {
			return
		}
		wantPrivateFiles(t, path)
		// An older keyshift left them readable by everyone: the next start
		// fixes them and says so.
		for _, f := range []string{path, path + "-wal", path + "-shm", path + pepper.FileSuffix} {
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs syncBuffer
		again, err := server.New(context.Background(), in.Config, server.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		again.Close()
		wantPrivateFiles(t, path)
		for _, f := range []string{path, path + "-wal", path + "-shm", path + pepper.FileSuffix} {
			if !strings.Contains(logs.String(), f) {
				t.Errorf("no log line names %s:\n%s", f, logs.String())
			}
		}
		if n := strings.Count(logs.String(), "readable by other users"); n != 4 {
			t.Errorf("%d log lines about files readable by others, want 4:\n%s", n, logs.String())
		}
	})
}

// TestTheDevMailerKeepsNoSecretInClear: dev mode keeps sent mail for
// /dev/mail, sealed; the link and code it shows are still nowhere in the
// database in clear.
func TestTheDevMailerKeepsNoSecretInClear(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		in := servertest.Start(t, database, func(c *config.Config) { c.Dev = true })
		c := in.Client(t)
		wantStatus(t, c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "ada@example.com"}), http.StatusAccepted)
		var page string
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(page, "sent (dev)") {
			if time.Now().After(deadline) {
				t.Fatalf("/dev/mail never showed the mail as kept:\n%s", page)
			}
			time.Sleep(10 * time.Millisecond)
			page = string(c.Do(http.MethodGet, "/dev/mail", nil, nil).Body)
		}
		s := &secrets{}
		s.fromMail(t, mailtest.Decoded{Subject: page, Text: page})
		if len(s.tokens) != 1 || len(s.codes) < 1 {
			t.Fatalf("/dev/mail shows %d tokens and %d codes, want the sign-in link and code:\n%s", len(s.tokens), len(s.codes), page)
		}
		wantNothingInClear(t, rawDatabase(t, database), s, nil, pepperForms(t, in, database))
	})
}

// TestRecoveryCodesNeedThePepper is T15's test: recovery codes are
// stored under the pepper (no plain SHA-256), so a keyshift with another
// pepper cannot redeem them, one that lists the old pepper as previous
// still can, and codes stored as plain SHA-256 by an older keyshift keep
// working until used.
func TestRecoveryCodesNeedThePepper(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		first := servertest.Start(t, database, withPepper(pepperA))
		ada := first.Client(t)
		ada.Signup("ada@example.com", memberPassword)
		// Only a proven address makes recovery codes.
		if u, err := first.DB.FindUserByEmailKey(context.Background(), "ada@example.com"); err != nil {
			t.Fatal(err)
		} else if err := first.DB.VerifyUserEmail(context.Background(), u.ID, first.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		r := ada.JSON(http.MethodPost, "/api/recovery-codes", map[string]any{})
		wantStatus(t, r, http.StatusCreated)
		var rc struct{ Codes []string }
		r.JSON(t, &rc)

		raw := testdb.Raw(t, database)
		rows, err := raw.Query(`SELECT code_hash, pepper_id FROM recovery_codes`)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]string{}
		for rows.Next() {
			var h []byte
			var id string
			rows.Scan(&h, &id)
			stored[string(h)] = id
		}
		rows.Close()
		pA, _ := pepper.Parse(pepperA)
		for _, code := range rc.Codes {
			sum := sha256.Sum256([]byte(strings.ReplaceAll(code, "-", "")))
			if _, plain := stored[string(sum[:])]; plain {
				t.Errorf("recovery code %s is stored as its plain SHA-256", code)
			}
		}
		for _, id := range stored {
			if id != pA.ID() {
				t.Errorf("a code is stored under pepper id %q, want %q", id, pA.ID())
			}
		}

		// A copy of the database under another pepper opens nothing.
		thief := servertest.Start(t, database, withPepper(pepperB))
		wantStatus(t, recoverySignin(thief.Client(t), rc.Codes[0]), http.StatusUnauthorized)
		// After a rotation (B current, A previous) the codes still work.
		rotated := servertest.Start(t, database, withPepper(pepperB, pepperA))
		wantStatus(t, recoverySignin(rotated.Client(t), rc.Codes[0]), http.StatusOK)

		// A code an older keyshift stored as plain SHA-256 still redeems.
		legacy := "ABCDE12345"
		sum := sha256.Sum256([]byte(legacy))
		q := `INSERT INTO recovery_codes (user_id, code_hash, created_at) SELECT id, $1, created_at FROM users`
		if strings.HasPrefix(database, "sqlite:") {
			q = strings.Replace(q, "$1", "?", 1)
		}
		if _, err := raw.Exec(q, sum[:]); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, recoverySignin(rotated.Client(t), "abcde-12345"), http.StatusOK)
		wantStatus(t, recoverySignin(rotated.Client(t), "abcde-12345"), http.StatusUnauthorized)
	})
}

// Two peppers of 32 bytes.
var (
	pepperA = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), 32))
	pepperB = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("B"), 32))
)

func withPepper(current string, previous ...string) servertest.Option {
	return func(c *config.Config) { c.Pepper, c.PreviousPeppers = current, previous }
}

func recoverySignin(c *servertest.Client, code string) *servertest.Response {
	return c.JSON(http.MethodPost, "/api/signin/recovery-code", map[string]any{"email": "ada@example.com", "code": code})
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
