package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
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
	s.setDevice(w, r, &res.User)
	s.setRemember(w, res)
}

// setDevice marks the browser as a trusted device of u: it keeps its
// device id while its cookie is still trusted for u, and gets a new one
// when it carried none, another account's, or one from before u revoked
// its devices.
func (s *Server) setDevice(w http.ResponseWriter, r *http.Request, u *account.User) {
	dev := s.readDevice(r)
	if !dev.Trusted(u) {
		dev = &account.Device{UserID: u.ID, ID: newDeviceID(), Epoch: u.DeviceEpoch}
	}
	s.setCookie(w, s.deviceCookieName(), s.signDevice(dev), deviceLifetime)
}

// renewSession puts a rotated session token (account.Changed) into the
// browser's cookie and marks the browser as the member's device again: the
// change may have revoked every device but this one.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request, ch *account.Changed) {
	s.setCookie(w, s.sessionCookieName(), ch.Token, s.cfg.Session.AbsoluteTimeout)
	s.setDevice(w, r, ch.User)
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

// signDevice returns "userID.epoch.deviceID.mac": the device cookie, which
// proves this browser signed in as userID since the account's device epoch
// was epoch (OWASP's device-cookie defence: strangers' failed guesses never
// throttle the member's own devices; sign-out everywhere and the like
// revoke every device at once by moving the epoch on).
func (s *Server) signDevice(d *account.Device) string {
	payload := d.UserID + "." + strconv.Itoa(d.Epoch) + "." + d.ID
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC("v2", payload))
}

func (s *Server) deviceMAC(version, payload string) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("keyshift device " + version + "\x00" + payload))
	return m.Sum(nil)
}

// readDevice returns the device a valid device cookie proves, or nil.
// Whether it is still trusted is the account's to say (Device.Trusted).
// A cookie from before device epochs ("userID.deviceID.mac") counts as
// epoch 0, so it stays trusted until the member's first revocation.
func (s *Server) readDevice(r *http.Request) *account.Device {
	c, err := r.Cookie(s.deviceCookieName())
	if err != nil || len(c.Value) > 256 || len(s.deviceKey) == 0 {
		return nil
	}
	parts := strings.Split(c.Value, ".")
	var d account.Device
	version := "v2"
	switch len(parts) {
	case 3:
		version, d.UserID, d.ID = "v1", parts[0], parts[1]
	case 4:
		epoch, err := strconv.Atoi(parts[1])
		if err != nil || epoch < 0 || strconv.Itoa(epoch) != parts[1] {
			return nil
		}
		d.UserID, d.Epoch, d.ID = parts[0], epoch, parts[2]
	default:
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || !hmac.Equal(mac, s.deviceMAC(version, strings.Join(parts[:len(parts)-1], "."))) {
		return nil
	}
	return &d
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
func (m *remembered) Masked() string { return account.MaskEmail(m.Email) }

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
