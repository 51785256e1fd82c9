package cookie

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
)

func TestDeviceCookie(t *testing.T) {
	s := NewSigner([]byte("device key of the test"))
	d := &account.Device{UserID: "user-1", Epoch: 3, ID: NewDeviceID()}
	v := s.Device(d)
	if got := s.ReadDevice(v); got == nil || *got != *d {
		t.Fatalf("ReadDevice(Device(%+v)) = %+v", d, got)
	}
	// A cookie from before device epochs: userID.deviceID.mac, epoch 0.
	v1 := "user-1.dev." + b64(s.deviceMAC("v1", "user-1.dev"))
	if got := s.ReadDevice(v1); got == nil || got.UserID != "user-1" || got.ID != "dev" || got.Epoch != 0 {
		t.Errorf("a v1 cookie reads as %+v, want user-1's device dev at epoch 0", got)
	}
	parts := strings.Split(v, ".")
	for _, tt := range []struct{ name, value string }{
		{"refuses another account's id", "user-2." + strings.Join(parts[1:], ".")},
		{"refuses another epoch", parts[0] + ".4." + strings.Join(parts[2:], ".")},
		{"refuses a negative epoch", parts[0] + ".-1." + strings.Join(parts[2:], ".")},
		{"refuses an epoch written another way", parts[0] + ".03." + strings.Join(parts[2:], ".")},
		{"refuses a v2 MAC read as v1", parts[0] + "." + parts[2] + "." + parts[3]},
		{"refuses a MAC that is not base64url", strings.Join(parts[:3], ".") + ".%%%"},
		{"refuses too few parts", parts[0] + "." + parts[3]},
		{"refuses too many parts", v + ".x"},
		{"refuses an empty value", ""},
		{"refuses a value over 256 bytes", strings.Repeat("a", 257)},
		{"refuses another key's cookie", NewSigner([]byte("another key")).Device(d)},
	} {
		if got := s.ReadDevice(tt.value); got != nil {
			t.Errorf("%s: ReadDevice(%q) = %+v", tt.name, tt.value, got)
		}
	}
	if got := NewSigner(nil).ReadDevice(NewSigner(nil).Device(d)); got != nil {
		t.Errorf("without a key a device cookie reads as %+v", got)
	}
}

func TestRememberCookie(t *testing.T) {
	s := NewSigner([]byte("device key of the test"))
	v := s.Remember("ada@example.com", "passkey")
	if email, step, ok := s.ReadRemember(v); !ok || email != "ada@example.com" || step != "passkey" {
		t.Fatalf("ReadRemember(Remember(...)) = %q, %q, %v", email, step, ok)
	}
	parts := strings.Split(v, ".")
	for _, tt := range []struct{ name, value string }{
		{"refuses another address", b64([]byte("bob@example.com")) + "." + parts[1] + "." + parts[2]},
		{"refuses another step", parts[0] + ".password." + parts[2]},
		{"refuses another key's cookie", NewSigner([]byte("another key")).Remember("ada@example.com", "passkey")},
		{"refuses too few parts", parts[0] + "." + parts[2]},
		{"refuses a value over 1024 bytes", strings.Repeat("a", 1025)},
		{"refuses an address without @", signed(s, b64([]byte("ada"))+".email")},
		{"refuses an address that is not UTF-8", signed(s, b64([]byte("ada\xff@example.com"))+".email")},
		{"refuses an address that is not base64url", signed(s, "%%%.email")},
	} {
		if email, step, ok := s.ReadRemember(tt.value); ok {
			t.Errorf("%s: ReadRemember(%q) = %q, %q", tt.name, tt.value, email, step)
		}
	}
	if v := NewSigner(nil).Remember("ada@example.com", "passkey"); v != "" {
		t.Errorf("without a key Remember = %q, want none", v)
	}
	if v := s.Remember("", "passkey"); v != "" {
		t.Errorf("without an address Remember = %q, want none", v)
	}
}

func TestNewDeviceID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewDeviceID()
		if len(id) != 22 || seen[id] {
			t.Fatalf("NewDeviceID() = %q (seen: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// signed is payload with a valid remember MAC, for payloads Remember would
// not make.
func signed(s Signer, payload string) string { return payload + "." + b64(s.rememberMAC(payload)) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
