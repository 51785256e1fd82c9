package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
)

// deviceLifetime is how long a browser stays a trusted device after its
// last successful sign-in.
const deviceLifetime = 365 * 24 * time.Hour

// cookieName returns name, with the __Host- prefix on https origins: the
// browser then refuses the cookie unless it is Secure, host-only and for
// path /, so a sibling subdomain cannot plant or shadow it.
func (s *Server) cookieName(name string) string {
	if s.cfg.SecureCookies() {
		return "__Host-" + name
	}
	return name
}

func (s *Server) sessionCookieName() string { return s.cookieName("ks_session") }
func (s *Server) deviceCookieName() string  { return s.cookieName("ks_device") }

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

// setSession sets the session cookie of a sign-in, marks the browser as
// the member's trusted device and remembers who signed in, and how.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, res *account.SigninResult) {
	s.setCookie(w, s.sessionCookieName(), res.Token, s.cfg.Session.AbsoluteTimeout)
	dev := s.readDevice(r)
	if dev == nil || dev.UserID != res.User.ID {
		dev = &account.Device{UserID: res.User.ID, ID: newDeviceID()}
	}
	s.setCookie(w, s.deviceCookieName(), s.signDevice(dev), deviceLifetime)
	s.setRemember(w, res)
}

func (s *Server) clearSession(w http.ResponseWriter) {
	s.setCookie(w, s.sessionCookieName(), "", -time.Second)
}

func (s *Server) sessionToken(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

func newDeviceID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signDevice returns "userID.deviceID.mac": the device cookie, which proves
// this browser signed in as userID before (OWASP's device-cookie defence:
// strangers' failed guesses never throttle the member's own devices).
func (s *Server) signDevice(d *account.Device) string {
	payload := d.UserID + "." + d.ID
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC(payload))
}

func (s *Server) deviceMAC(payload string) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("keyshift device v1\x00" + payload))
	return m.Sum(nil)
}

// readDevice returns the device a valid device cookie proves, or nil.
func (s *Server) readDevice(r *http.Request) *account.Device {
	c, err := r.Cookie(s.deviceCookieName())
	if err != nil || len(c.Value) > 256 || len(s.deviceKey) == 0 {
		return nil
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, s.deviceMAC(parts[0]+"."+parts[1])) {
		return nil
	}
	return &account.Device{UserID: parts[0], ID: parts[1]}
}

// rememberLifetime is how long a browser remembers who signed in on it last.
const rememberLifetime = 365 * 24 * time.Hour

func (s *Server) rememberCookieName() string { return s.cookieName("ks_remember") }

// The sign-in methods a remembered device offers first: the families of
// account.AuthMethod.
const (
	stepPasskey  = "passkey"
	stepPassword = "password"
	stepEmail    = "email"
)

// remembered is who last signed in on this browser, and how: /signin greets
// them and offers that way first.
type remembered struct {
	Email  string // normalised, as stored; only ever in a hidden field's value
	Method string // stepPasskey, stepPassword or stepEmail
}

// Masked is the address as the page shows it, "a…@example.com": enough for
// the member to recognise, little for the next person at a shared computer.
func (m *remembered) Masked() string {
	local, domain, ok := strings.Cut(m.Email, "@")
	if !ok || local == "" {
		return "…"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "…@" + domain
}

// methodStep returns the step a sign-in by m is remembered as.
func methodStep(m account.AuthMethod) string {
	switch {
	case m.IsPasskey():
		return stepPasskey
	case m == account.MethodEmailLink || m == account.MethodEmailCode:
		return stepEmail
	}
	return stepPassword // password and sign-up
}

// setRemember renews the remember cookie after a sign-in:
// "base64url(email).method.mac", signed with the device key so that no one
// can make the page greet another address.
func (s *Server) setRemember(w http.ResponseWriter, res *account.SigninResult) {
	s.writeRemember(w, res.User.Email, methodStep(res.Session.AuthMethod))
}

// rememberPasskey makes a passkey just added on this browser the way
// /signin offers first next time.
func (s *Server) rememberPasskey(w http.ResponseWriter, u *account.User) {
	s.writeRemember(w, u.Email, stepPasskey)
}

func (s *Server) writeRemember(w http.ResponseWriter, email, step string) {
	if len(s.deviceKey) == 0 || email == "" {
		return
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(email)) + "." + step
	s.setCookie(w, s.rememberCookieName(), payload+"."+base64.RawURLEncoding.EncodeToString(s.rememberMAC(payload)), rememberLifetime)
}

// forgetRemember clears the remember cookie ("Not you?").
func (s *Server) forgetRemember(w http.ResponseWriter) {
	s.setCookie(w, s.rememberCookieName(), "", -time.Second)
}

func (s *Server) rememberMAC(payload string) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("keyshift remember v1\x00" + payload))
	return m.Sum(nil)
}

// readRemember returns who a valid remember cookie names, or nil: a forged
// or malformed cookie is ignored.
func (s *Server) readRemember(r *http.Request) *remembered {
	c, err := r.Cookie(s.rememberCookieName())
	if err != nil || len(c.Value) > 1024 || len(s.deviceKey) == 0 {
		return nil
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, s.rememberMAC(parts[0]+"."+parts[1])) {
		return nil
	}
	email, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !utf8.Valid(email) || !strings.Contains(string(email), "@") {
		return nil
	}
	switch parts[1] {
	case stepPasskey, stepPassword, stepEmail:
		return &remembered{Email: string(email), Method: parts[1]}
	}
	return nil
}
