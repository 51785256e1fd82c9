package web_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// verifyAs asks GET /api/verify (path may add a query) as a proxy would,
// with extra header pairs; "Host" names the host asked for.
func verifyAs(c *servertest.Client, path string, pairs ...string) *servertest.Response {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Add(pairs[i], pairs[i+1])
	}
	return c.Do(http.MethodGet, "/api/verify"+path, nil, h)
}

func wantNoAuthHeaders(t *testing.T, r *servertest.Response) {
	t.Helper()
	for _, h := range []string{"X-Auth-User-Id", "X-Auth-Email", "X-Auth-Method"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s: %q on an answer that signs no one in", h, v)
		}
	}
}

func TestVerifyAnswersWhoIsSignedIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		me := currentSession(t, c)

		before := s.written()
		// The proxy asks with its own Host or the app's, passing the
		// browser's cookie on: both are answered.
		cookie := sessionCookie + "=" + c.Cookie(sessionCookie)
		for _, host := range []string{"", "wiki.example.com", "127.0.0.1:9"} {
			r := verifyAs(c, "", "Host", host, "Cookie", cookie)
			if r.Status != http.StatusOK {
				t.Fatalf("Host %q: %d %s", host, r.Status, r.Body)
			}
			if got := r.Header.Get("X-Auth-User-Id"); got != me.User.ID {
				t.Errorf("X-Auth-User-Id %q, want %q", got, me.User.ID)
			}
			if got := r.Header.Get("X-Auth-Email"); got != "ada@example.com" {
				t.Errorf("X-Auth-Email %q", got)
			}
			if got := r.Header.Get("X-Auth-Method"); got != "signup" || got != me.Session.AuthMethod {
				t.Errorf("X-Auth-Method %q, want the session's %q", got, me.Session.AuthMethod)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q: a proxy must never cache who is signed in", cc)
			}
		}
		// A session check, not a sign-in: nothing is written.
		s.unchangedSince(t, before)

		fresh := s.client()
		wantStatus(t, fresh.Signin("ada@example.com", goodPassword), http.StatusOK)
		if got := verifyAs(fresh, "").Header.Get("X-Auth-Method"); got != "password" {
			t.Errorf("X-Auth-Method after a password sign-in %q, want password", got)
		}
	})
}

func TestVerifyRefusesWithoutALiveSession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		member := s.member("ada@example.com")
		ended := member.Cookie(sessionCookie)
		wantStatus(t, member.JSON(http.MethodDelete, "/api/session", nil), http.StatusNoContent)
		// The proxy passes on whatever cookie the browser sent.
		for name, cookie := range map[string]string{
			"no cookie":        "",
			"an ended session": sessionCookie + "=" + ended,
			"a forged token":   sessionCookie + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"a malformed one":  sessionCookie + "=%%%",
		} {
			t.Run(name, func(t *testing.T) {
				r := verifyAs(s.client(), "", "Host", "wiki.example.com", "Cookie", cookie)
				wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
				wantNoAuthHeaders(t, r)
			})
		}
		wantAPIError(t, verifyAs(s.client(), "?redirect=maybe"), http.StatusBadRequest, "invalid_request")
	})
}

// With the URL the browser asked for, from a trusted proxy, an anonymous
// request learns where to sign in: X-Auth-Redirect on the 401, or a 302
// with ?redirect=1. Following it and signing in comes back to the URL.
func TestVerifySendsToSignInAndBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, allowApp, trustLoopbackProxy)
		withoutTheNudge(t, s)
		s.member("ada@example.com")
		const normalised = appOrigin + "/wiki/Main%20Page?action=edit&section=2"
		signin := s.URL + "/signin?return_to=" + url.QueryEscape(normalised)

		for _, tc := range []struct {
			name  string
			pairs []string
		}{
			{"X-Original-URL (nginx)", []string{"X-Original-URL", appOrigin + "/wiki/Main%20Page?action=edit&section=2"}},
			{"X-Forwarded-* (Traefik, Caddy)", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com", "X-Forwarded-Uri", "/wiki/Main%20Page?action=edit&section=2"}},
			{"X-Forwarded-* through two proxies", []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "app.example.com, 10.0.0.1", "X-Forwarded-Uri", "/wiki/Main%20Page?action=edit&section=2"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.client()
				r := verifyAs(c, "", tc.pairs...)
				wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
				if got := r.Header.Get("X-Auth-Redirect"); got != signin {
					t.Errorf("X-Auth-Redirect %q, want %q", got, signin)
				}
				r = verifyAs(c, "?redirect=1", tc.pairs...)
				if r.Status != http.StatusFound || r.Header.Get("Location") != signin {
					t.Fatalf("?redirect=1: %d to %q, want 302 to %q", r.Status, r.Header.Get("Location"), signin)
				}
				wantNoAuthHeaders(t, r)

				// The browser follows it, signs in, and is sent back.
				u, _ := url.Parse(r.Header.Get("Location"))
				wantPage(t, c.Do(http.MethodGet, u.RequestURI(), nil, nil), http.StatusOK)
				r = c.Form("/signin", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
				wantRedirect(t, r, normalised)
				wantStatus(t, verifyAs(c, "", tc.pairs...), http.StatusOK)
			})
		}
	})
}

// No redirect to anywhere the policy refuses, and none from headers an
// untrusted peer wrote: a plain 401 then.
func TestVerifyRedirectsOnlyToAllowedAddressesFromTrustedProxies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		trusted := startSite(t, database, allowApp, trustLoopbackProxy)
		untrusted := startSite(t, database, allowApp)
		for _, tc := range []struct {
			name  string
			site  *liveSite
			pairs []string
		}{
			{"another site", trusted, []string{"X-Original-URL", "https://evil.example/"}},
			{"userinfo", trusted, []string{"X-Original-URL", "https://app.example.com@evil.example/"}},
			{"a forwarded host of another site", trusted, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example", "X-Forwarded-Uri", "/"}},
			{"a forwarded URI that is no path", trusted, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com", "X-Forwarded-Uri", "@evil.example/"}},
			{"a forwarded URI that smuggles a host", trusted, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example", "X-Forwarded-Uri", "//app.example.com/"}},
			{"a missing forwarded host", trusted, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Uri", "/"}},
			{"a javascript: URL", trusted, []string{"X-Original-URL", "javascript:alert(1)"}},
			{"an untrusted peer", untrusted, []string{"X-Original-URL", appOrigin + "/"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := tc.site.client()
				for _, q := range []string{"", "?redirect=1"} {
					r := verifyAs(c, q, tc.pairs...)
					wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
					if v := r.Header.Get("X-Auth-Redirect"); v != "" {
						t.Errorf("X-Auth-Redirect %q", v)
					}
				}
			})
		}
	})
}

// With cookie_domain the session cookie reaches the apps' hosts: it drops
// __Host- for __Secure-, names the domain, and keeps Secure, HttpOnly and
// SameSite=Lax; a proxy on another host passing it on gets the member.
// The device cookie stays keyshift's own.
func TestCookieDomainSharesTheSessionCookie(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	servertest.StartOn(t, ln, "sqlite:"+testdb.SQLitePath(t), func(c *config.Config) {
		c.Origin, c.CookieDomain = "https://login.example.com", "example.com"
		c.Password.HashQueueTimeout = time.Minute
		c.Mail = config.MailLog
	})
	do := func(method, path, host, cookie, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, addr+path, strings.NewReader(body))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	res := do(http.MethodPost, "/api/signup", "login.example.com", "", `{"email":"ada@example.com","password":"`+goodPassword+`"}`)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", res.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		switch ck.Name {
		case "__Secure-ks_session":
			session = ck
		case "__Host-ks_device":
			if ck.Domain != "" {
				t.Errorf("the device cookie names Domain %q", ck.Domain)
			}
		case "__Host-ks_session", "ks_session":
			t.Errorf("session cookie named %s with cookie_domain set", ck.Name)
		}
	}
	if session == nil {
		t.Fatalf("no __Secure-ks_session in %q", res.Header.Values("Set-Cookie"))
	}
	if session.Domain != "example.com" || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("session cookie %+v: want Domain=example.com, Secure, HttpOnly, SameSite=Lax, Path=/", session)
	}

	// wiki.example.com's proxy passes the browser's cookie on.
	cookie := session.Name + "=" + session.Value
	if r := do(http.MethodGet, "/api/verify", "wiki.example.com", cookie, ""); r.StatusCode != http.StatusOK || r.Header.Get("X-Auth-Email") != "ada@example.com" {
		t.Errorf("verify with the shared cookie: %d %q", r.StatusCode, r.Header.Get("X-Auth-Email"))
	}

	// A step-up rotates the token; the new cookie goes where the old one
	// was, or the apps' hosts would keep sending the revoked one.
	res = do(http.MethodPost, "/api/reauth/finish", "login.example.com", cookie, `{"password":"`+goodPassword+`"}`)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("step-up: %d", res.StatusCode)
	}
	var rotated *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "__Secure-ks_session" {
			rotated = ck
		}
	}
	if rotated == nil || rotated.Domain != "example.com" || rotated.Value == session.Value {
		t.Fatalf("after a step-up: session cookie %+v, want a new token for Domain=example.com", rotated)
	}
	if r := do(http.MethodGet, "/api/verify", "wiki.example.com", cookie, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("verify with the token before the step-up: %d, want 401", r.StatusCode)
	}
	cookie = rotated.Name + "=" + rotated.Value
	if r := do(http.MethodGet, "/api/verify", "wiki.example.com", cookie, ""); r.StatusCode != http.StatusOK {
		t.Errorf("verify with the rotated cookie: %d", r.StatusCode)
	}

	// Signing out clears the shared cookie where it was set.
	res = do(http.MethodDelete, "/api/session", "login.example.com", cookie, "")
	var cleared bool
	for _, ck := range res.Cookies() {
		cleared = cleared || ck.Name == "__Secure-ks_session" && ck.Domain == "example.com" && ck.MaxAge < 0
	}
	if !cleared {
		t.Errorf("sign-out did not clear the shared cookie: %q", res.Header.Values("Set-Cookie"))
	}
	if r := do(http.MethodGet, "/api/verify", "wiki.example.com", cookie, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("verify after sign-out: %d", r.StatusCode)
	}
}
