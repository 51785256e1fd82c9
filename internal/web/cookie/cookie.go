// Package cookie makes and checks the values of keyshift's signed cookies:
// the device cookie, which proves a browser signed in as a member since the
// account's device epoch, and the remember cookie, which names who signed in
// on a browser last and how. Both are HMAC-SHA256 under the device key, the
// same on every node; package web sets and reads them.
package cookie

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyshift/keyshift/internal/account"
)

// Signer signs and checks cookie values under one key. Without a key it
// signs nothing and accepts nothing.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer with key.
func NewSigner(key []byte) Signer { return Signer{key: key} }

// NewDeviceID returns a fresh device id: 128 random bits, base64url.
func NewDeviceID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Device returns "userID.epoch.deviceID.mac": the device cookie, which
// proves this browser signed in as userID since the account's device epoch
// was epoch (OWASP's device-cookie defence: strangers' failed guesses never
// throttle the member's own devices; sign-out everywhere and the like
// revoke every device at once by moving the epoch on).
func (s Signer) Device(d *account.Device) string {
	payload := d.UserID + "." + strconv.Itoa(d.Epoch) + "." + d.ID
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC("v2", payload))
}

func (s Signer) deviceMAC(version, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("keyshift device " + version + "\x00" + payload))
	return m.Sum(nil)
}

// ReadDevice returns the device a valid device cookie value proves, or nil.
// Whether it is still trusted is the account's to say (Device.Trusted).
// A cookie from before device epochs ("userID.deviceID.mac") counts as
// epoch 0, so it stays trusted until the member's first revocation.
func (s Signer) ReadDevice(value string) *account.Device {
	if len(value) > 256 || len(s.key) == 0 {
		return nil
	}
	parts := strings.Split(value, ".")
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

// Remember returns "base64url(email).step.mac", the remember cookie, signed
// so that no one can make the sign-in page greet another address; "" when
// there is no key or no address.
func (s Signer) Remember(email, step string) string {
	if len(s.key) == 0 || email == "" {
		return ""
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(email)) + "." + step
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.rememberMAC(payload))
}

func (s Signer) rememberMAC(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("keyshift remember v1\x00" + payload))
	return m.Sum(nil)
}

// ReadRemember returns the address and step a valid remember cookie value
// names; ok is false for a forged or malformed one.
func (s Signer) ReadRemember(value string) (email, step string, ok bool) {
	if len(value) > 1024 || len(s.key) == 0 {
		return "", "", false
	}
	parts := strings.Split(value, ".")
	if len(parts) != 3 {
		return "", "", false
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, s.rememberMAC(parts[0]+"."+parts[1])) {
		return "", "", false
	}
	e, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !utf8.Valid(e) || !strings.Contains(string(e), "@") {
		return "", "", false
	}
	return string(e), parts[1], true
}
