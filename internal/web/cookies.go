package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

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

// setSession sets the session cookie of a sign-in and marks the browser as
// the member's trusted device.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, res *account.SigninResult) {
	s.setCookie(w, s.sessionCookieName(), res.Token, s.cfg.Session.AbsoluteTimeout)
	dev := s.readDevice(r)
	if dev == nil || dev.UserID != res.User.ID {
		dev = &account.Device{UserID: res.User.ID, ID: newDeviceID()}
	}
	s.setCookie(w, s.deviceCookieName(), s.signDevice(dev), deviceLifetime)
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
