package visitor

import (
	"net/http"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/cookie"
	"github.com/keyshift/keyshift/internal/web/page"
)

// deviceLifetime is how long a browser stays a trusted device after its
// last successful sign-in.
const deviceLifetime = 365 * 24 * time.Hour

// cookieName returns name, with the __Host- prefix on https origins: the
// browser then refuses the cookie unless it is Secure, host-only and for
// path /, so a sibling subdomain cannot plant or shadow it.
func (v *Cookies) cookieName(name string) string {
	if v.cfg.SecureCookies() {
		return "__Host-" + name
	}
	return name
}

// sessionCookieName is the session cookie's name. With cookie_domain the
// cookie is shared with the hosts under that domain (forward-auth), which
// __Host- forbids; __Secure- still makes browsers refuse it from plain http,
// so a network attacker cannot plant one through an http page of a sibling
// host (docs/security.md, "Sharing the session cookie").
func (v *Cookies) sessionCookieName() string {
	switch {
	case v.cfg.CookieDomain == "":
		return v.cookieName("ks_session")
	case v.cfg.SecureCookies():
		return "__Secure-ks_session"
	}
	return "ks_session"
}

func (v *Cookies) deviceCookieName() string { return v.cookieName("ks_device") }

func (v *Cookies) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	v.writeCookie(w, name, value, "", maxAge)
}

// setSessionCookie sets the session cookie, for cookie_domain's hosts too
// when it is set. The device and remember cookies stay keyshift's alone:
// no app needs them.
func (v *Cookies) setSessionCookie(w http.ResponseWriter, value string, maxAge time.Duration) {
	v.writeCookie(w, v.sessionCookieName(), value, v.cfg.CookieDomain, maxAge)
}

func (v *Cookies) writeCookie(w http.ResponseWriter, name, value, domain string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Domain: domain, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: v.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

// SetSession sets the session cookie of a sign-in, marks the browser as
// the member's trusted device and remembers who signed in, and how. It
// returns where the browser asked to go back to (takeReturn), or "": every
// sign-in, whichever way, answers with it.
func (v *Cookies) SetSession(w http.ResponseWriter, r *http.Request, res *account.SigninResult) (returnTo string) {
	v.setSessionCookie(w, res.Token, v.sessionLifetime(res.Session))
	v.setDevice(w, r, &res.User)
	v.setRemember(w, r, res)
	return v.takeReturn(w, r)
}

// sessionLifetime is how long the cookie of a session just started lives:
// until the session's own absolute end, which is sooner than
// session.absolute_timeout for a restricted email sign-in of a passkey
// member (1 hour; email_signin.passkey_accounts).
func (v *Cookies) sessionLifetime(s account.Session) time.Duration {
	if s.ExpiresAt.IsZero() {
		return v.cfg.Session.AbsoluteTimeout
	}
	return min(v.cfg.Session.AbsoluteTimeout, max(time.Second, s.ExpiresAt.Sub(v.now())))
}

// setDevice marks the browser as a trusted device of u: it keeps its
// device id while its cookie is still trusted for u, and gets a new one
// when it carried none, another account's, or one from before u revoked
// its devices.
func (v *Cookies) setDevice(w http.ResponseWriter, r *http.Request, u *account.User) {
	dev := v.readDevice(r)
	if !dev.Trusted(u) {
		dev = &account.Device{UserID: u.ID, ID: cookie.NewDeviceID(), Epoch: u.DeviceEpoch}
	}
	v.setCookie(w, v.deviceCookieName(), v.cookies.Device(dev), deviceLifetime)
}

// RenewSession puts a rotated session token (account.Changed) into the
// browser's cookie and marks the browser as the member's device again: the
// change may have revoked every device but this one.
func (v *Cookies) RenewSession(w http.ResponseWriter, r *http.Request, ch *account.Changed) {
	v.setSessionCookie(w, ch.Token, v.cfg.Session.AbsoluteTimeout)
	v.setDevice(w, r, ch.User)
}

func (v *Cookies) ClearSession(w http.ResponseWriter) {
	v.setSessionCookie(w, "", -time.Second)
}

func (v *Cookies) sessionToken(r *http.Request) string {
	c, err := r.Cookie(v.sessionCookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

// readDevice returns the device a valid device cookie proves, or nil
// (cookie.Signer.ReadDevice).
func (v *Cookies) readDevice(r *http.Request) *account.Device {
	c, err := r.Cookie(v.deviceCookieName())
	if err != nil {
		return nil
	}
	return v.cookies.ReadDevice(c.Value)
}

// rememberLifetime is how long a browser remembers who signed in on it last.
const rememberLifetime = 365 * 24 * time.Hour

func (v *Cookies) rememberCookieName() string { return v.cookieName("ks_remember") }

// The sign-in methods a remembered device offers first: the families of
// account.AuthMethod.
const (
	stepPasskey  = "passkey"
	stepPassword = "password"
	stepEmail    = "email"
	// stepPasskeyFirst: an account with a passkey whose password the
	// rollout deprecates (password-deprecation): the passkey leads
	// whatever the last way in was, the password waits behind "Use a
	// password instead". Decided at sign-in, from the member's own
	// account: /signin never looks an address up.
	stepPasskeyFirst = "passkey_first"
)

// methodStep returns the step a sign-in by m of u is remembered as. A
// recovery code is for emergencies, never the way to offer first: after
// one, the browser remembers the best way u still has — a passkey, the
// password, else email.
func methodStep(m account.AuthMethod, u *account.User) string {
	switch {
	case m.IsPasskey():
		return stepPasskey
	case m == account.MethodEmailLink || m == account.MethodEmailCode || m == account.MethodSupportRecovery:
		return stepEmail
	case m == account.MethodRecoveryCode && u.PasskeyCount > 0:
		return stepPasskey
	case m == account.MethodRecoveryCode && !u.HasPassword:
		return stepEmail
	}
	return stepPassword // password, sign-up, and a recovery code of a password member
}

// setRemember renews the remember cookie after a sign-in
// (cookie.Signer.Remember).
func (v *Cookies) setRemember(w http.ResponseWriter, r *http.Request, res *account.SigninResult) {
	step := methodStep(res.Session.AuthMethod, &res.User)
	if v.passkeyFirst(r, &res.User) {
		step = stepPasskeyFirst
	}
	v.writeRemember(w, res.User.Email, step)
}

// RememberPasskey makes a passkey just added on this browser the way
// /signin offers first next time; u is the member before the passkey.
func (v *Cookies) RememberPasskey(w http.ResponseWriter, r *http.Request, u *account.User) {
	with := *u
	with.PasskeyCount++
	step := stepPasskey
	if v.passkeyFirst(r, &with) {
		step = stepPasskeyFirst
	}
	v.writeRemember(w, u.Email, step)
}

// passkeyFirst reports whether the rollout leads /signin with the passkey
// for u (rollout.Offer.PasskeyFirst). Unknown is no: the usual page.
func (v *Cookies) passkeyFirst(r *http.Request, u *account.User) bool {
	if u.PasskeyCount == 0 {
		return false
	}
	// The phase first, from this node's copy: before password-deprecation
	// nobody is offered it, and every sign-in is spared reading the
	// member's answers (one round trip fewer on the passkey sign-in path).
	if st, err := v.rollout.Current(r.Context()); err != nil || st.Phase < rollout.PasswordDeprecation {
		return false
	}
	o, _, err := v.rollout.For(r.Context(), u)
	if err != nil {
		v.log.WarnContext(r.Context(), "reading the rollout for the remember cookie", "err", err)
		return false
	}
	return o.PasskeyFirst
}

func (v *Cookies) writeRemember(w http.ResponseWriter, email, step string) {
	if val := v.cookies.Remember(email, step); val != "" {
		v.setCookie(w, v.rememberCookieName(), val, rememberLifetime)
	}
}

// ForgetRemember clears the remember cookie ("Not you?").
func (v *Cookies) ForgetRemember(w http.ResponseWriter) {
	v.setCookie(w, v.rememberCookieName(), "", -time.Second)
}

// ReadRemember returns who a valid remember cookie names, or nil: a forged
// or malformed cookie is ignored.
func (v *Cookies) ReadRemember(r *http.Request) *page.Remembered {
	c, err := r.Cookie(v.rememberCookieName())
	if err != nil {
		return nil
	}
	email, step, ok := v.cookies.ReadRemember(c.Value)
	if !ok {
		return nil
	}
	switch step {
	case stepPasskey, stepPassword, stepEmail:
		return &page.Remembered{Email: email, Method: step}
	case stepPasskeyFirst:
		// The phase may have moved back since: then the password is
		// beside the passkey again, as for any passkey step.
		st, err := v.rollout.Current(r.Context())
		return &page.Remembered{Email: email, Method: stepPasskey, PasswordBehind: err == nil && st.Phase >= rollout.PasswordDeprecation}
	}
	return nil
}

// RotateSessionToken puts a session's rotated token (a step-up, a passkey
// just added) into the browser's cookie, where every sign-in puts it: for
// cookie_domain when it is set. Written for keyshift's host alone, it
// would sit beside the shared cookie, and the apps' hosts would go on
// sending the revoked token.
func (v *Cookies) RotateSessionToken(w http.ResponseWriter, token string) {
	v.setSessionCookie(w, token, v.cfg.Session.AbsoluteTimeout)
}
