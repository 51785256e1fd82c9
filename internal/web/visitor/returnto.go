package visitor

import (
	"encoding/base64"
	"net/http"
	"time"
)

// Where a browser goes after sign-in. /signin?return_to=URL checks URL
// against returnto.Policy (a path here, or an exact allowed origin) and keeps
// it in a cookie, so that every way of signing in honours it — the password
// and email forms, the passkey and recovery APIs, and a mailed link opened in
// the same browser — without each form carrying it. Any sign-in takes the
// cookie (SetSession); what it held is checked again when taken, because a
// setting may have changed since. Anything refused falls back to /account
// without a word: an error page would tell a phisher which addresses work.

// returnLifetime is how long a browser remembers where to go back to: an
// email sign-in (15 minutes) and the time to read the mail.
const returnLifetime = 30 * time.Minute

// maxReturn bounds a return address: it travels in a cookie, and browsers
// drop cookies over 4 KiB.
const maxReturn = 2048

func (v *Cookies) returnCookieName() string { return v.cookieName("ks_return") }

// CheckReturn returns where raw may send a browser, or "" when it may not.
func (v *Cookies) CheckReturn(raw string) string {
	if len(raw) > maxReturn {
		return ""
	}
	to, err := v.returns.Check(raw)
	if err != nil {
		return ""
	}
	return to
}

// keepReturn remembers to for the next sign-in on this browser.
func (v *Cookies) keepReturn(w http.ResponseWriter, to string) {
	v.setCookie(w, v.returnCookieName(), base64.RawURLEncoding.EncodeToString([]byte(to)), returnLifetime)
}

func (v *Cookies) dropReturn(w http.ResponseWriter) {
	v.setCookie(w, v.returnCookieName(), "", -time.Second)
}

// takeReturn returns the return address the browser carries, checked
// again, or "", and clears it: one sign-in uses it once.
func (v *Cookies) takeReturn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(v.returnCookieName())
	if err != nil {
		return ""
	}
	v.dropReturn(w)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return v.CheckReturn(string(raw))
}

// SigninReturn handles GET /signin's return_to: a member already signed in
// is sent there at once (to); otherwise an allowed address is kept for the
// sign-in to come and a refused one forgets any kept before, since the
// latest ask wins. Without return_to a kept address stays, so that "Not
// you?", a reload or the way through sign-up keep it.
func (v *Cookies) SigninReturn(w http.ResponseWriter, r *http.Request) (to string) {
	q := r.URL.Query()
	if !q.Has("return_to") {
		return ""
	}
	to = v.CheckReturn(q.Get("return_to"))
	if to == "" {
		v.dropReturn(w)
		return ""
	}
	// prompt=login asks for a sign-in even over a live session (an OpenID
	// app's prompt=login or max_age): the page is shown, and the sign-in
	// returns to the address.
	if q.Get("prompt") != "login" {
		if _, err := v.Authenticate(r); err == nil {
			return to
		}
	}
	v.keepReturn(w, to)
	return ""
}

// OrAccount is to, or /account when there is nowhere to go back to.
func OrAccount(to string) string {
	if to == "" {
		return "/account"
	}
	return to
}
