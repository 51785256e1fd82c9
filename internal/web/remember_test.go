package web_test

// "Remember the device": after any sign-in /signin greets the member by a
// masked address and offers the way they signed in last.

import (
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

const rememberCookie = "ks_remember" // http origins get no __Host- prefix

// signinView is what /signin shows a browser: the step it offers first
// ("none" for the usual page) and the page itself.
type signinView struct {
	step, page string
}

var stepAttr = regexp.MustCompile(`data-step="([^"]*)"`)

// openSignin loads /signin on c.
func openSignin(t *testing.T, c *servertest.Client) signinView {
	t.Helper()
	page := wantPage(t, c.Do(http.MethodGet, "/signin", nil, nil), http.StatusOK)
	m := stepAttr.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("/signin has no data-step:\n%s", page)
	}
	return signinView{step: m[1], page: page}
}

// visibleText is the page's text without its tags and attribute values.
func visibleText(page string) string {
	page = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>`).ReplaceAllString(page, " ")
	text := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " "))
	return strings.Join(strings.Fields(text), " ")
}

// wantWelcome fails t unless v greets masked, offers step first, and never
// shows email (the full address) as text.
func wantWelcome(t *testing.T, v signinView, masked, email, step string) {
	t.Helper()
	text := visibleText(v.page)
	if !strings.Contains(text, "Welcome back, "+masked) {
		t.Errorf("/signin does not greet %q:\n%s", masked, text)
	}
	if !strings.Contains(text, "Not you?") || !strings.Contains(v.page, `action="/signin/forget"`) {
		t.Errorf(`/signin has no "Not you?" form`)
	}
	if strings.Contains(strings.ToLower(text), strings.ToLower(email)) {
		t.Errorf("/signin shows the full address %q as text:\n%s", email, text)
	}
	if v.step != step {
		t.Errorf("/signin offers %q first, want %q", v.step, step)
	}
	if tag := inputTag([]byte(v.page), "email"); !strings.Contains(tag, `value="`+email+`"`) || !strings.Contains(tag, " hidden") {
		t.Errorf("the remembered address is not a hidden field: %s", tag)
	}
	if keys := regexp.MustCompile(`\bsignin\.[a-z_]+`).FindAllString(text, -1); keys != nil {
		t.Errorf("/signin shows catalog keys %q", keys)
	}
}

// wantPlainSignin fails t unless v is the usual sign-in page.
func wantPlainSignin(t *testing.T, v signinView) {
	t.Helper()
	if v.step != "none" || strings.Contains(v.page, "Welcome back,") || strings.Contains(v.page, "/signin/forget") {
		t.Errorf("/signin greets someone (step %q):\n%s", v.step, visibleText(v.page))
	}
	if tag := inputTag([]byte(v.page), "email"); strings.Contains(tag, " hidden") || !strings.Contains(tag, `value=""`) {
		t.Errorf("the usual page's email field: %s", tag)
	}
}

// order is the position of each of the page's sign-in controls.
func order(page string, ids ...string) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = strings.Index(page, `id="`+id+`"`)
	}
	return out
}

func wantFirst(t *testing.T, page, first string, rest ...string) {
	t.Helper()
	pos := order(page, append([]string{first}, rest...)...)
	for i, p := range pos[1:] {
		if pos[0] < 0 || p < 0 || pos[0] > p {
			t.Errorf("%s is not before %s (%v)", first, rest[i], pos)
		}
	}
}

// tagOf returns the opening tag of the element with id.
func tagOf(page, id string) string {
	return regexp.MustCompile(`<[a-z]+[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(page)
}

func TestRememberedAfterAPasswordSignin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		s.member("ada.lovelace@example.com")
		c := s.client()
		wantPlainSignin(t, openSignin(t, c))

		r := c.Form("/signin", formValues("Ada.Lovelace@Example.com", goodPassword))
		wantRedirect(t, r, "/welcome/passkey") // the rollout's nudge: no passkey yet
		ck := wantSafeCookie(t, r, rememberCookie)
		if ck.MaxAge != int((365 * 24 * time.Hour).Seconds()) {
			t.Errorf("remember cookie Max-Age %d, want a year", ck.MaxAge)
		}
		if strings.Contains(ck.Value, "lovelace") {
			t.Errorf("the remember cookie holds the address in clear: %q", ck.Value)
		}

		v := openSignin(t, c)
		wantWelcome(t, v, "a…@example.com", "ada.lovelace@example.com", "password")
		wantFirst(t, v.page, "password", "passkey-button", "email-signin-submit")
		if tag := tagOf(v.page, "password"); !strings.Contains(tag, "autofocus") {
			t.Errorf("the password field is not focused: %s", tag)
		}
		if tag := tagOf(v.page, "password-submit"); !strings.Contains(tag, `class="primary"`) {
			t.Errorf("the password button is not the primary one: %s", tag)
		}

		// A wrong password keeps the greeting and says what happened.
		page := wantPage(t, c.Form("/signin", formValues("ada.lovelace@example.com", "not it")), http.StatusUnauthorized)
		if !strings.Contains(visibleText(page), "Welcome back, a…@example.com") || !strings.Contains(page, `role="alert"`) {
			t.Errorf("a refused remembered sign-in:\n%s", visibleText(page))
		}

		// Signing out, here or everywhere, keeps it: the next sign-in is
		// one step.
		wantRedirect(t, c.Form("/signout", nil), "/signin")
		wantWelcome(t, openSignin(t, c), "a…@example.com", "ada.lovelace@example.com", "password")
		wantRedirect(t, c.Form("/signin", formValues("ada.lovelace@example.com", goodPassword)), "/welcome/passkey")
		r = c.Form("/account/sessions/revoke-all", nil)
		wantRedirect(t, r, "/signin")
		if ck := setCookie(t, r, rememberCookie); ck != nil {
			t.Errorf("signing out everywhere touched the remember cookie: %v", ck)
		}
		wantWelcome(t, openSignin(t, c), "a…@example.com", "ada.lovelace@example.com", "password")
	})
}

func TestRememberedAfterAPasskeySignin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		m := newPasskeyMember(t, s, "grace@example.com")
		c := s.client()
		wantStatus(t, m.key.signin(c, map[string]any{}, "modal"), http.StatusOK)

		v := openSignin(t, c)
		wantWelcome(t, v, "g…@example.com", "grace@example.com", "passkey")
		wantFirst(t, v.page, "passkey-button", "password", "email-signin-submit")
		if tag := tagOf(v.page, "passkey-button"); !strings.Contains(tag, `class="passkey primary"`) {
			t.Errorf("the passkey button is not the primary one: %s", tag)
		}
		// The button asks for this member's passkeys (username-first); the
		// email field still offers passkeys in its autofill.
		if tag := tagOf(v.page, "passkey-signin"); !strings.Contains(tag, `data-email="grace@example.com"`) {
			t.Errorf("the passkey button does not know the address: %s", tag)
		}
		if tag := inputTag([]byte(v.page), "email"); !strings.Contains(tag, `autocomplete="username webauthn"`) {
			t.Errorf("no passkey autofill on the remembered page: %s", tag)
		}
		if tag := tagOf(v.page, "password-submit"); strings.Contains(tag, `"primary"`) {
			t.Errorf("two primary buttons: %s", tag)
		}
	})
}

func TestRememberedAfterAnEmailSignin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startEmailSite(t, database)
		s.Client(t).Signup("ada@example.com", emailPassword)
		c := s.Client(t)
		flow := s.start(t, c, "ada@example.com")
		mail := s.box.nth(t, "ada@example.com", 1)
		if r, _ := finishEmail(t, c, map[string]any{"flowId": flow, "code": mail.code}); r.Status != http.StatusOK {
			t.Fatalf("finish: %d %s", r.Status, r.Body)
		}

		v := openSignin(t, c)
		wantWelcome(t, v, "a…@example.com", "ada@example.com", "email")
		wantFirst(t, v.page, "email-signin-submit", "passkey-button", "password")
		if tag := tagOf(v.page, "email-signin-submit"); !strings.Contains(tag, `class="primary"`) {
			t.Errorf(`"Email me a sign-in link" is not the primary button: %s`, tag)
		}
		if tag := inputTag([]byte(v.page), "email"); !strings.Contains(tag, `value="ada@example.com"`) {
			t.Errorf("the link form does not carry the address: %s", tag)
		}
	})
}

func TestNotYouForgetsTheDevice(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		wantWelcome(t, openSignin(t, c), "a…@example.com", "ada@example.com", "password")

		r := c.Form("/signin/forget", nil)
		wantRedirect(t, r, "/signin")
		if ck := setCookie(t, r, rememberCookie); ck == nil || ck.MaxAge >= 0 || !ck.HttpOnly {
			t.Errorf("Not you? did not clear the remember cookie: %v", ck)
		}
		wantPlainSignin(t, openSignin(t, c))
	})
}

func TestAForgedRememberCookieIsIgnored(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		valid := s.member("ada@example.com").Cookie(rememberCookie)
		parts := strings.Split(valid, ".")
		if len(parts) != 3 {
			t.Fatalf("remember cookie %q", valid)
		}
		enc := base64.RawURLEncoding.EncodeToString
		flip := []byte(parts[2])
		flip[0] ^= 1
		for _, tc := range []struct{ name, value string }{
			{"another address", enc([]byte("eve@example.com")) + "." + parts[1] + "." + parts[2]},
			{"another method", parts[0] + ".passkey." + parts[2]},
			{"a bad MAC", parts[0] + "." + parts[1] + "." + string(flip)},
			{"no MAC", parts[0] + "." + parts[1] + "."},
			{"the MAC not base64", parts[0] + "." + parts[1] + ".!!!"},
			{"too many parts", valid + ".x"},
			{"garbage", "hello"},
			{"too long", strings.Repeat("a", 5000)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := s.client()
				c.SetCookie(rememberCookie, tc.value)
				wantPlainSignin(t, openSignin(t, c))
			})
		}
	})
}
