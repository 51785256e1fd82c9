package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// appOrigin is the site's app that keyshift may send members back to.
const appOrigin = "https://app.example.com"

func allowApp(c *config.Config) { c.AllowedReturnOrigins = []string{appOrigin} }

const returnCookie = "ks_return" // http origins get no __Host- prefix

// withoutTheNudge moves s's rollout to new-users, where signing in does not
// nudge an existing member, for tests of where a sign-in goes rather than of
// the nudge (TestTheNudgeKeepsTheReturnAddress covers the two together).
func withoutTheNudge(t *testing.T, s *liveSite) {
	t.Helper()
	moveRollout(t, s, rollout.Change{Phase: new(rollout.NewUsers)})
}

// askReturn opens /signin?return_to=raw on c, as an app's link does, and
// wants the sign-in page.
func askReturn(t *testing.T, c *servertest.Client, raw string) {
	t.Helper()
	wantPage(t, c.Do(http.MethodGet, "/signin?return_to="+url.QueryEscape(raw), nil, nil), http.StatusOK)
}

// pastTheNudge follows a sign-in page's redirect through the rollout's nudge,
// which a fresh install shows a member without a passkey: the nudge must
// carry the way on (?next=), and "Not now" must take it. Any other location
// is returned as it is.
func pastTheNudge(t *testing.T, c *servertest.Client, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Path != "/welcome/passkey" {
		return location
	}
	wantPage(t, c.Do(http.MethodGet, location, nil, nil), http.StatusOK)
	r := c.Form("/welcome/passkey", url.Values{"action": {"later"}, "next": {u.Query().Get("next")}})
	wantStatus(t, r, http.StatusSeeOther)
	return r.Header.Get("Location")
}

// returnTo is the returnTo of a sign-in answer ("" when absent).
func returnTo(t *testing.T, r *servertest.Response) string {
	t.Helper()
	var v struct {
		ReturnTo *string `json:"returnTo"`
	}
	r.JSON(t, &v)
	if v.ReturnTo != nil && *v.ReturnTo == "" {
		t.Errorf("returnTo is present but empty: %s", r.Body)
	}
	if v.ReturnTo == nil {
		return ""
	}
	return *v.ReturnTo
}

// Every way of signing in sends the browser where /signin?return_to= said,
// once: the next sign-in on that browser goes to the account again.
func TestEverySigninHonoursTheReturnAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startNoticeSite(t, database, allowApp)
		const want = appOrigin + "/wiki/Page?x=1&y=2"

		// Each signs in on c (fresh) and returns where the browser is sent
		// next: a redirect's Location or a JSON answer's returnTo.
		methods := []struct {
			name   string
			signin func(t *testing.T, c *servertest.Client) string
		}{
			{"the password form", func(t *testing.T, c *servertest.Client) string {
				newMemberWithoutPasskey(t, s.liveSite, "form@example.com")
				r := c.Form("/signin", url.Values{"email": {"form@example.com"}, "password": {goodPassword}})
				wantStatus(t, r, http.StatusSeeOther)
				return pastTheNudge(t, c, r.Header.Get("Location"))
			}},
			{"the password API", func(t *testing.T, c *servertest.Client) string {
				newMemberWithoutPasskey(t, s.liveSite, "api@example.com")
				r := c.Signin("api@example.com", goodPassword)
				wantStatus(t, r, http.StatusOK)
				return returnTo(t, r)
			}},
			{"a passkey", func(t *testing.T, c *servertest.Client) string {
				m := newPasskeyMember(t, s.liveSite, "passkey@example.com")
				r := m.key.signin(c, map[string]any{}, "modal")
				wantStatus(t, r, http.StatusOK)
				return returnTo(t, r)
			}},
			{"a recovery code", func(t *testing.T, c *servertest.Client) string {
				m := newMemberWithoutPasskey(t, s.liveSite, "recovery@example.com")
				s.verify(t, m.email)
				codes := newRecoveryCodes(t, m.c)
				r := recoverySignin(c, m.email, codes[0])
				wantStatus(t, r, http.StatusOK)
				return returnTo(t, r)
			}},
			{"the emailed code, on the page", func(t *testing.T, c *servertest.Client) string {
				m := newMemberWithoutPasskey(t, s.liveSite, "code@example.com")
				s.verify(t, m.email)
				page := wantPage(t, c.Form("/signin/email", url.Values{"email": {m.email}}), http.StatusOK)
				flow := valueOf(t, inputTag([]byte(page), "flowId"))
				mail := s.box.nth(t, m.email, 1)
				r := c.Form("/email/code", url.Values{"flowId": {flow}, "code": {mail.code}, "email": {m.email}})
				wantStatus(t, r, http.StatusSeeOther)
				return pastTheNudge(t, c, r.Header.Get("Location"))
			}},
			{"the emailed link, on the page", func(t *testing.T, c *servertest.Client) string {
				m := newMemberWithoutPasskey(t, s.liveSite, "link@example.com")
				s.verify(t, m.email)
				wantPage(t, c.Form("/signin/email", url.Values{"email": {m.email}}), http.StatusOK)
				mail := s.box.nth(t, m.email, 1)
				r := c.Form("/email/verify", url.Values{"token": {mail.token}})
				wantStatus(t, r, http.StatusSeeOther)
				return pastTheNudge(t, c, r.Header.Get("Location"))
			}},
			{"the emailed code, by the API", func(t *testing.T, c *servertest.Client) string {
				m := newMemberWithoutPasskey(t, s.liveSite, "codeapi@example.com")
				s.verify(t, m.email)
				r := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": m.email})
				wantStatus(t, r, http.StatusAccepted)
				var started struct {
					FlowID string `json:"flowId"`
				}
				r.JSON(t, &started)
				mail := s.box.nth(t, m.email, 1)
				r = c.JSON(http.MethodPost, "/api/email/finish", map[string]any{"flowId": started.FlowID, "code": mail.code})
				wantStatus(t, r, http.StatusOK)
				return returnTo(t, r)
			}},
			{"the sign-up form", func(t *testing.T, c *servertest.Client) string {
				r := c.Form("/signup", url.Values{"email": {"new@example.com"}, "password": {goodPassword}})
				wantStatus(t, r, http.StatusSeeOther)
				return r.Header.Get("Location")
			}},
		}
		for _, m := range methods {
			t.Run(m.name, func(t *testing.T) {
				c := s.Client(t)
				askReturn(t, c, want)
				if got := m.signin(t, c); got != want {
					t.Errorf("sent to %q, want %q", got, want)
				}
				if c.Cookie(returnCookie) != "" {
					t.Error("the return address outlived the sign-in that used it")
				}
			})
		}
	})
}

// valueOf is the value="…" of an <input> tag.
func valueOf(t *testing.T, tag string) string {
	t.Helper()
	_, v, ok := strings.Cut(tag, `value="`)
	v, _, ok2 := strings.Cut(v, `"`)
	if !ok || !ok2 || v == "" {
		t.Fatalf("no value in %q", tag)
	}
	return v
}

// A return address that is not allowed — every known open-redirect form
// among them — is forgotten without a word, and the member lands on the
// account page; a plain path on keyshift is kept.
func TestReturnAddressesOutsideThePolicyFallBackToTheAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, allowApp)
		withoutTheNudge(t, s)
		s.member("ada@example.com")
		for _, tc := range []struct{ raw, want string }{
			{"/account?tab=passkeys", "/account?tab=passkeys"},
			{"HTTPS://APP.example.com:443/x", appOrigin + "/x"},
			{"https://evil.example/", "/account"},
			{"//evil.example/", "/account"},
			{`/\evil.example/`, "/account"},
			{"https:evil.example", "/account"},
			{"https://app.example.com@evil.example/", "/account"},
			{"https://app.example.com.evil.example/", "/account"},
			{"https://app.example.com./", "/account"},
			{"https://%61pp.example.com/", "/account"},
			{"https://аpp.example.com/", "/account"}, // Cyrillic а
			{"javascript:alert(1)", "/account"},
			{"/\t/evil.example", "/account"},
			{"https://app.example.com/" + strings.Repeat("a", 2100), "/account"},
		} {
			t.Run(tc.raw[:min(len(tc.raw), 40)], func(t *testing.T) {
				c := s.client()
				askReturn(t, c, tc.raw)
				r := c.Form("/signin", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
				wantRedirect(t, r, tc.want)
			})
		}
	})
}

// The latest ask wins: a refused return_to forgets an allowed one asked
// before, and /signin without return_to ("Not you?", a reload) keeps it.
func TestTheLatestReturnAddressWins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, allowApp)
		withoutTheNudge(t, s)
		s.member("ada@example.com")
		signin := func(c *servertest.Client) *servertest.Response {
			return c.Form("/signin", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
		}

		c := s.client()
		askReturn(t, c, appOrigin+"/a")
		wantPage(t, c.Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
		wantRedirect(t, signin(c), appOrigin+"/a")

		c = s.client()
		askReturn(t, c, appOrigin+"/a")
		askReturn(t, c, "https://evil.example/")
		wantRedirect(t, signin(c), "/account")
	})
}

// The kept address is checked again when used: a cookie naming another
// site (planted, or allowed by a setting since removed) goes nowhere.
func TestAKeptReturnAddressIsCheckedAgain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, allowApp)
		withoutTheNudge(t, s)
		s.member("ada@example.com")
		for _, v := range []string{
			base64.RawURLEncoding.EncodeToString([]byte("https://evil.example/")),
			"not base64 at all!",
			"",
		} {
			c := s.client()
			c.SetCookie(returnCookie, v)
			r := c.Form("/signin", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
			wantRedirect(t, r, "/account")
		}
	})
}

// A member already signed in is sent back at once, without a new sign-in.
func TestASignedInMemberGoesBackAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database, allowApp)
		c := s.member("ada@example.com")
		r := c.Do(http.MethodGet, "/signin?return_to="+url.QueryEscape(appOrigin+"/dash"), nil, nil)
		wantRedirect(t, r, appOrigin+"/dash")
		// Refused: the sign-in page, as before.
		wantPage(t, c.Do(http.MethodGet, "/signin?return_to="+url.QueryEscape("https://evil.example/"), nil, nil), http.StatusOK)
	})
}

// The return cookie carries the usual attributes: HttpOnly, SameSite=Lax,
// short-lived.
func TestTheReturnCookie(t *testing.T) {
	s := startSite(t, "sqlite:"+testdb.SQLitePath(t), allowApp)
	r := s.client().Do(http.MethodGet, "/signin?return_to="+url.QueryEscape(appOrigin+"/"), nil, nil)
	ck := setCookie(t, r, returnCookie)
	if ck == nil {
		t.Fatal("no return cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 3600 || ck.Path != "/" {
		t.Errorf("return cookie %+v: want HttpOnly, SameSite=Lax, Path=/, at most an hour", ck)
	}
}
