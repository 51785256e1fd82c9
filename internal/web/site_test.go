package web_test

// The end-to-end tests of package web run a whole keyshift (servertest) on
// every storage backend (testdb.Each) and talk to it over HTTP, as browsers
// and scripts do. This file holds what they share.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
)

// Names and values the tests share.
const (
	sessionCookie = "ks_session" // http origins get no __Host- prefix
	deviceCookie  = "ks_device"
	// goodPassword passes every policy check.
	goodPassword = "plum kettle orbit 42"
)

// liveSite is a running keyshift and the test that owns it.
type liveSite struct {
	*servertest.Instance
	t *testing.T
}

// startSite runs keyshift on database for t. Hashing waits longer for a slot
// than in production, so that a loaded test machine (-race, parallel tests)
// never turns a test's sign-in into 503 server_busy.
func startSite(t *testing.T, database string, opts ...servertest.Option) *liveSite {
	t.Helper()
	opts = append([]servertest.Option{func(c *config.Config) { c.Password.HashQueueTimeout = time.Minute }}, opts...)
	return &liveSite{Instance: servertest.Start(t, database, opts...), t: t}
}

// fullEmailSessions is email_signin.passkey_accounts full: a passkey a
// thief adds through a weaker sign-in is on no probation, so tests of what
// cleans up after such a thief (revert, cancel, sign-out everywhere) can
// still set the scene; probation_test.go tests the default.
func fullEmailSessions(c *config.Config) { c.EmailSignin.PasskeyAccounts = config.PasskeyAccountsFull }

// trustLoopbackProxy makes keyshift believe X-Forwarded-For from loopback
// peers, so that one test can speak from many client addresses.
func trustLoopbackProxy(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// verify marks email's address as proven, as its confirmation link would:
// security notices go only to proven addresses, and only a proven address
// may move or make recovery codes.
func (s *liveSite) verify(t *testing.T, email string) {
	t.Helper()
	verifyAddress(t, s.Instance, email)
}

// verifyAddress marks email's address as proven on in, as its
// confirmation link would.
func verifyAddress(t *testing.T, in *servertest.Instance, email string) {
	t.Helper()
	_, key, err := account.NormalizeEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	u, err := in.DB.FindUserByEmailKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.DB.VerifyUserEmail(context.Background(), u.ID, in.Clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// client returns a new browser-like client with an empty cookie jar.
func (s *liveSite) client() *servertest.Client { return s.Client(s.t) }

// member signs up email with goodPassword from a client of its own and
// returns that client, signed in.
func (s *liveSite) member(email string) *servertest.Client {
	s.t.Helper()
	c := s.client()
	c.Signup(email, goodPassword)
	return c
}

// steppedUpByPasskey records a passkey step-up of c's session now, as POST
// /api/reauth/finish does, for a test whose passkey was seeded without a
// key to answer with, and gives c the rotated token.
func (s *liveSite) steppedUpByPasskey(c *servertest.Client) {
	s.t.Helper()
	token, _, err := s.Sessions.StepUp(context.Background(), currentSession(s.t, c).Session.ID, account.MethodPasskeyUsername, "")
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetCookie(sessionCookie, token)
}

// writes is what a request may have written: accounts and audit events.
type writes struct{ users, events int }

// written counts the rows that requests write.
func (s *liveSite) written() writes {
	s.t.Helper()
	ctx := context.Background()
	users, err := s.DB.CountUsers(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	events, err := s.DB.FindEvents(ctx, store.EventFilter{Limit: 100000})
	if err != nil {
		s.t.Fatal(err)
	}
	return writes{users: users, events: len(events)}
}

// unchangedSince fails t when anything was written since before.
func (s *liveSite) unchangedSince(t *testing.T, before writes) {
	t.Helper()
	if now := s.written(); now != before {
		t.Errorf("something was written: users %d → %d, events %d → %d", before.users, now.users, before.events, now.events)
	}
}

// jsonHeader is the header of a JSON request, plus extra pairs (name, value).
func jsonHeader(pairs ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Add(pairs[i], pairs[i+1])
	}
	return h
}

// credentials is the body of sign-up and password sign-in.
func credentials(email, password string) []byte {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return b
}

// postJSON posts body as JSON with extra header pairs.
func postJSON(c *servertest.Client, path string, body []byte, pairs ...string) *servertest.Response {
	return c.Do(http.MethodPost, path, body, jsonHeader(pairs...))
}

// apiError is the error answer of API.md.
type apiError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Reason     string `json:"reason"`
		Field      string `json:"field"`
		RetryAfter int    `json:"retryAfter"`
		Until      string `json:"until"`
	} `json:"error"`
}

// wantAPIError checks that r is an API error answer with status and code:
// JSON, of API.md's shape, with words for a person. It returns the answer.
func wantAPIError(t *testing.T, r *servertest.Response, status int, code string) apiError {
	t.Helper()
	if r.Status == http.StatusInternalServerError {
		t.Fatalf("answer is 500, never acceptable for client input: %s", r.Body)
	}
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var e apiError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body is not API.md's shape: %v\n%s", err, r.Body)
	}
	if e.Error.Code != code {
		t.Errorf("error.code %q, want %q; body %s", e.Error.Code, code, r.Body)
	}
	if len(e.Error.Message) < 10 {
		t.Errorf("error.message %q is not a sentence for a person", e.Error.Message)
	}
	return e
}

// wantStatus fails t unless r has status.
func wantStatus(t *testing.T, r *servertest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
}

// setCookie returns the Set-Cookie of r named name, or nil.
func setCookie(t *testing.T, r *servertest.Response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sessionView is the answer of GET /api/session.
type sessionView struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	Session struct {
		ID         string `json:"id"`
		AuthMethod string `json:"authMethod"`
	} `json:"session"`
}

// currentSession returns c's session, failing t unless c is signed in.
func currentSession(t *testing.T, c *servertest.Client) sessionView {
	t.Helper()
	r := c.JSON(http.MethodGet, "/api/session", nil)
	wantStatus(t, r, http.StatusOK)
	var v sessionView
	r.JSON(t, &v)
	return v
}

// wantSignedOut fails t unless c's session cookie is refused.
func wantSignedOut(t *testing.T, c *servertest.Client) {
	t.Helper()
	wantAPIError(t, c.JSON(http.MethodGet, "/api/session", nil), http.StatusUnauthorized, "unauthenticated")
}

// retryAfter returns r's Retry-After in seconds, failing t unless it is a
// whole number of at least one.
func retryAfter(t *testing.T, r *servertest.Response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q, want a whole number of seconds ≥ 1", r.Header.Get("Retry-After"))
	}
	return n
}

// inputTag returns the <input> tag of the named field in page, or "".
func inputTag(page []byte, name string) string {
	re := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`)
	return string(re.Find(page))
}

// wantPage fails t unless r is an HTML page with status.
func wantPage(t *testing.T, r *servertest.Response, status int) string {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want HTML", ct)
	}
	return string(r.Body)
}

// wantRedirect fails t unless r is a 303 to location.
func wantRedirect(t *testing.T, r *servertest.Response, location string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Fatalf("%d to %q, want 303 to %q; body %s", r.Status, r.Header.Get("Location"), location, r.Body)
	}
}
