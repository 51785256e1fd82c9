package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/keyshift/keyshift/internal/testdb"
)

// SQL metacharacters, as attackers type them into every field.
const (
	sqlTautology = `' OR '1'='1`
	sqlDropTable = `"; DROP TABLE users; --`
)

// existingEmail has an account in TestBadInput; bad requests must not reach it.
const existingEmail = "existing@example.com"

// badRequest is a request keyshift must refuse with a documented code, never
// 500, having written nothing.
type badRequest struct {
	name        string
	path        string
	contentType string // "" sends none
	body        string
	status      int
	code        string
	reason      string // checked when set
}

// badBodies are refused alike by sign-up and sign-in: they never reach the
// account service.
func badBodies(path string) []badRequest {
	const ct = "application/json"
	valid := string(credentials("new@example.com", goodPassword))
	big := `{"email":"new@example.com","password":"` + strings.Repeat("a", 70<<10) + `"}`
	return []badRequest{
		{"refuses malformed JSON", path, ct, `{"email":"new@example.com",`, 400, "invalid_request", ""},
		{"refuses an empty body", path, ct, ``, 400, "invalid_request", ""},
		{"refuses a JSON array", path, ct, `[` + valid + `]`, 400, "invalid_request", ""},
		{"refuses a JSON string", path, ct, `"new@example.com"`, 400, "invalid_request", ""},
		{"refuses a number where the email belongs", path, ct, `{"email":1,"password":"` + goodPassword + `"}`, 400, "invalid_request", ""},
		{"refuses an object where the password belongs", path, ct, `{"email":"new@example.com","password":{"$ne":null}}`, 400, "invalid_request", ""},
		{"refuses an array where the email belongs", path, ct, `{"email":["new@example.com"],"password":"` + goodPassword + `"}`, 400, "invalid_request", ""},
		{"refuses a second object after the first", path, ct, valid + valid, 400, "invalid_request", ""},
		{"refuses trailing garbage after the object", path, ct, valid + ` x`, 400, "invalid_request", ""},
		{"refuses a text/plain body", path, "text/plain", valid, 400, "invalid_request", ""},
		{"refuses a form-encoded body", path, "application/x-www-form-urlencoded", "email=new%40example.com&password=x", 400, "invalid_request", ""},
		{"refuses a body without a content type", path, "", valid, 400, "invalid_request", ""},
		{"refuses an unparseable content type", path, "application/json; charset", valid, 400, "invalid_request", ""},
		{"refuses a body over 64 KiB", path, ct, big, 413, "body_too_large", ""},
		{"refuses invalid UTF-8 in the email", path, ct, "{\"email\":\"\xffnew@example.com\",\"password\":\"" + goodPassword + "\"}", 400, "invalid_request", ""},
		{"refuses invalid UTF-8 in the password", path, ct, "{\"email\":\"new@example.com\",\"password\":\"pass\xc3\x28word1234\"}", 400, "invalid_request", ""},
		{"refuses invalid UTF-8 outside any string", path, ct, "{\"email\":\"new@example.com\",\"password\":\"" + goodPassword + "\"}\xff", 400, "invalid_request", ""},
		{"refuses JSON null as an empty request", path, ct, `null`, 400, "invalid_email", "empty"},
		{"refuses an empty email", path, ct, string(credentials("", goodPassword)), 400, "invalid_email", "empty"},
		{"refuses a 10,000-character email", path, ct, string(credentials(strings.Repeat("a", 10000-len("@example.com"))+"@example.com", goodPassword)), 400, "invalid_email", "too_long"},
		{"refuses a NUL byte in the email", path, ct, `{"email":"new\u0000@example.com","password":"` + goodPassword + `"}`, 400, "invalid_email", ""},
		{"refuses an SQL tautology as the email", path, ct, string(credentials(sqlTautology, goodPassword)), 400, "invalid_email", ""},
		{"refuses an SQL statement as the email", path, ct, string(credentials(sqlDropTable, goodPassword)), 400, "invalid_email", ""},
		{"refuses an SQL tautology tacked onto a real address", path, ct, string(credentials(existingEmail+sqlTautology, goodPassword)), 400, "invalid_email", ""},
	}
}

func TestBadInputIsRefusedWithADocumentedCodeAndWritesNothing(t *testing.T) {
	t.Parallel()
	var cases []badRequest
	cases = append(cases, badBodies("/api/signup")...)
	cases = append(cases, badBodies("/api/signin/password")...)
	cases = append(cases,
		badRequest{"refuses an empty password at sign-up", "/api/signup", "application/json", string(credentials("new@example.com", "")), 400, "weak_password", "empty"},
		badRequest{"refuses a 10,000-character password at sign-up", "/api/signup", "application/json", string(credentials("new@example.com", strings.Repeat("correct horse ", 10000/14+1)[:10000])), 400, "weak_password", "too_long"},
		badRequest{"refuses a short password at sign-up", "/api/signup", "application/json", string(credentials("new@example.com", "k3!x")), 400, "weak_password", "too_short"},
		badRequest{"refuses a common password at sign-up", "/api/signup", "application/json", string(credentials("new@example.com", "iloveyou")), 400, "weak_password", "common"},
		badRequest{"refuses an email differently cased from an existing one", "/api/signup", "application/json", string(credentials("EXISTING@Example.com", goodPassword)), 409, "email_taken", ""},
		badRequest{"refuses an email with spaces around an existing one", "/api/signup", "application/json", string(credentials("  existing@example.com\t", goodPassword)), 409, "email_taken", ""},
		badRequest{"answers an empty password at sign-in as wrong credentials", "/api/signin/password", "application/json", string(credentials(existingEmail, "")), 401, "invalid_credentials", ""},
		badRequest{"answers a 10,000-character password at sign-in as wrong credentials", "/api/signin/password", "application/json", string(credentials(existingEmail, strings.Repeat("x", 10000))), 401, "invalid_credentials", ""},
	)
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member(existingEmail)
		before := s.written()
		for _, tc := range cases {
			t.Run(strings.TrimPrefix(tc.path, "/api/")+" "+tc.name, func(t *testing.T) {
				h := http.Header{}
				if tc.contentType != "" {
					h.Set("Content-Type", tc.contentType)
				}
				r := s.client().Do(http.MethodPost, tc.path, []byte(tc.body), h)
				e := wantAPIError(t, r, tc.status, tc.code)
				if tc.reason != "" && e.Error.Reason != tc.reason {
					t.Errorf("reason %q, want %q", e.Error.Reason, tc.reason)
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
					t.Errorf("a refused request set cookies: %q", sc)
				}
				s.unchangedSince(t, before)
			})
		}
		// The account the requests aimed at is untouched.
		wantStatus(t, s.client().Signin(existingEmail, goodPassword), http.StatusOK)
	})
}

func TestSQLMetacharactersAreOnlyText(t *testing.T) {
	t.Parallel()
	accounts := []struct{ name, email, password string }{
		{"takes an SQL tautology as a password", "tautology@example.com", sqlTautology},
		{"takes an SQL statement as a password", "drop@example.com", sqlDropTable},
		{"takes a quote and a comment in the local part of an email", "o'brien--@example.com", goodPassword},
		{"takes SQL-looking atoms in the local part of an email", "x'or'1'='1@example.com", sqlTautology + " again"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		for i, a := range accounts {
			t.Run(a.name, func(t *testing.T) {
				r := postJSON(s.client(), "/api/signup", credentials(a.email, a.password))
				wantSigninAnswer(t, r, http.StatusCreated, a.email)
				wantSigninAnswer(t, s.client().Signin(a.email, a.password), http.StatusOK, a.email)
				wantAPIError(t, s.client().Signin(a.email, a.password+"x"), http.StatusUnauthorized, "invalid_credentials")
				if w := s.written(); w.users != i+1 {
					t.Errorf("%d users, want %d", w.users, i+1)
				}
			})
		}
		// Metacharacters in a password at sign-in are a wrong password, for
		// every account, not a way in.
		for _, pw := range []string{sqlTautology, sqlDropTable, `' OR 1=1 --`, `\'; --`} {
			wantAPIError(t, s.client().Signin("tautology@example.com", pw+"!"), http.StatusUnauthorized, "invalid_credentials")
		}
	})
}

func TestHostileBytesNeverReachTheDatabaseAsText(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)

		// Header values are bytes; PostgreSQL text columns take UTF-8 only.
		ua := "Mozilla/5.0 \xff\xfe (X11; Linux) \xc3\x28"
		c := s.client()
		wantSigninAnswer(t, postJSON(c, "/api/signup", credentials("ua@example.com", goodPassword), "User-Agent", ua), http.StatusCreated, "ua@example.com")
		wantAPIError(t, postJSON(s.client(), "/api/signin/password", credentials("ua@example.com", "wrong password!"), "User-Agent", ua), http.StatusUnauthorized, "invalid_credentials")
		wantSigninAnswer(t, postJSON(s.client(), "/api/signin/password", credentials("ua@example.com", goodPassword), "User-Agent", ua), http.StatusOK, "ua@example.com")
		wantStatus(t, c.Do(http.MethodGet, "/account", nil, nil), http.StatusOK)

		// Session ids come from the URL path, percent-decoded.
		for _, id := range []string{"%FF", "%00", "x%C3%28", "%27%20OR%20%271%27%3D%271", strings.Repeat("a", 5000)} {
			t.Run("refuses the session id "+id[:min(len(id), 30)], func(t *testing.T) {
				wantAPIError(t, c.Do(http.MethodDelete, "/api/sessions/"+id, nil, nil), http.StatusNotFound, "not_found")
				r := c.Form("/account/sessions/"+id+"/revoke", nil)
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
					t.Errorf("revoke form: %d to %q, want 303 to /account", r.Status, r.Header.Get("Location"))
				}
			})
		}
		currentSession(t, c)
	})
}

func TestSignupRaceMakesOneAccount(t *testing.T) {
	t.Parallel()
	const racers = 20
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		// Every racer speaks from an address of its own, so per-address
		// sign-up limits stay out of the race.
		s := startSite(t, database, trustLoopbackProxy)
		statuses := make([]int, racers)
		codes := make([]string, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			c := s.client()
			wg.Go(func() {
				<-start
				// Half of them type the address in other case.
				body := credentials("Racer@Example.com", goodPassword)
				if i%2 == 1 {
					body = credentials("racer@example.COM", goodPassword)
				}
				status, code, err := rawPost(c.HTTP, s.URL+"/api/signup", body, fmt.Sprintf("198.51.100.%d", i+1))
				if err != nil {
					t.Errorf("racer %d: %v", i, err)
				}
				statuses[i], codes[i] = status, code
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, st := range statuses {
			switch {
			case st == http.StatusCreated:
				created++
			case st == http.StatusConflict && codes[i] == "email_taken":
			default:
				t.Errorf("racer %d: %d %s, want 201 or 409 email_taken", i, st, codes[i])
			}
		}
		if created != 1 {
			t.Errorf("%d sign-ups succeeded, want exactly 1 (statuses %v)", created, statuses)
		}
		if w := s.written(); w.users != 1 {
			t.Errorf("%d users in the database, want 1", w.users)
		}
	})
}

// rawPost posts a JSON body as from address (through a trusted proxy) and
// returns the status and error code; it is safe to call from any goroutine.
func rawPost(c *http.Client, u string, body []byte, from string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", from)
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var e apiError
	json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error.Code, nil
}

func TestWrongMethodsAndUnknownAPIPathsAnswerJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"refuses GET on sign-up with the methods it allows", http.MethodGet, "/api/signup", 405, "method_not_allowed", "POST"},
		{"refuses PUT on sign-in with the methods it allows", http.MethodPut, "/api/signin/password", 405, "method_not_allowed", "POST"},
		{"refuses POST on the session with the methods it allows", http.MethodPost, "/api/session", 405, "method_not_allowed", "GET, DELETE"},
		{"refuses PATCH on one session with the methods it allows", http.MethodPatch, "/api/sessions/abc", 405, "method_not_allowed", "DELETE"},
		{"refuses POST on the session list with the methods it allows", http.MethodPost, "/api/sessions", 405, "method_not_allowed", "GET, DELETE"},
		{"answers an unknown API path with 404", http.MethodGet, "/api/nope", 404, "not_found", ""},
		{"answers an unknown API path under a known one with 404", http.MethodPost, "/api/signin/carrier-pigeon", 404, "not_found", ""},
		{"answers the bare API root with 404", http.MethodGet, "/api/", 404, "not_found", ""},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		before := s.written()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.client().Do(tc.method, tc.path, []byte(`{}`), jsonHeader())
				wantAPIError(t, r, tc.status, tc.code)
				if got := r.Header.Get("Allow"); got != tc.allow {
					t.Errorf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
		s.unchangedSince(t, before)
	})
}

// formValues is a sign-up or sign-in form.
func formValues(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}
