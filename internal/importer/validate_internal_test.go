package importer

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/password/legacy"
	"github.com/keyshift/keyshift/internal/userfile"
)

func TestValidateRefusesEachBadField(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	cose := b64(virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2).Key.AttestationData())
	good := func() userfile.Passkey {
		return userfile.Passkey{CredentialID: "AQIDBA", PublicKey: cose, UserHandle: "dXNlcg"}
	}
	tests := []struct {
		name   string
		edit   func(r *userfile.Row)
		reason string
	}{
		{"a good row passes", func(r *userfile.Row) {}, ""},
		{"an empty email", func(r *userfile.Row) { r.Email = "" }, ReasonInvalidEmail},
		{"an email without a domain", func(r *userfile.Row) { r.Email = "ada@localhost" }, ReasonInvalidEmail},
		{"a 256-byte external_id", func(r *userfile.Row) { r.ExternalID = strings.Repeat("x", 256) }, ReasonInvalidField},
		{"a name with a line break", func(r *userfile.Row) { r.Name = "Ada\nBcc: x@y.z" }, ReasonInvalidField},
		{"a name of 201 characters", func(r *userfile.Row) { r.Name = strings.Repeat("é", 201) }, ReasonInvalidField},
		{"an external_id that is not UTF-8", func(r *userfile.Row) { r.ExternalID = "\xff" }, ReasonInvalidField},
		{"a hash format nobody knows", func(r *userfile.Row) { r.PasswordHash, r.PasswordFormat = "abc", "rot13" }, ReasonUnknownHashFormat},
		{"a hash whose prefix tells nothing", func(r *userfile.Row) { r.PasswordHash = "hunter2" }, ReasonUnknownHashFormat},
		{"a bcrypt hash cut short", func(r *userfile.Row) { r.PasswordHash = "$2b$10$abc" }, ReasonInvalidHash},
		{"a salt without a hash", func(r *userfile.Row) { r.PasswordSalt = "s" }, ReasonInvalidHash},
		{"a salt with a NUL byte", func(r *userfile.Row) {
			r.PasswordHash, r.PasswordFormat, r.PasswordSalt = "5f4dcc3b5aa765d61d8327deb882cf99", "md5-salt-prefix", "a\x00b"
		}, ReasonInvalidHash},
		{"a salt that is not UTF-8", func(r *userfile.Row) {
			r.PasswordHash, r.PasswordFormat, r.PasswordSalt = "5f4dcc3b5aa765d61d8327deb882cf99", "md5-salt-prefix", "\xff"
		}, ReasonInvalidHash},
		{"a salt on a format that carries its own", func(r *userfile.Row) {
			r.PasswordHash, r.PasswordSalt = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "s"
		}, ReasonInvalidHash},
		{"Firebase scrypt without the project's parameters", func(r *userfile.Row) {
			r.PasswordHash, r.PasswordFormat, r.PasswordSalt = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "firebase", "42xEC+ixf3L2lw=="
		}, ReasonInvalidHash},
		{"a credential id that is not base64url", func(r *userfile.Row) { r.Passkeys[0].CredentialID = "a+b/" }, ReasonInvalidPasskey},
		{"a credential id of 1024 bytes", func(r *userfile.Row) { r.Passkeys[0].CredentialID = b64(make([]byte, 1024)) }, ReasonInvalidPasskey},
		{"a public key that is not COSE", func(r *userfile.Row) { r.Passkeys[0].PublicKey = "AQID" }, ReasonInvalidPasskey},
		{"an AAGUID that is not a UUID", func(r *userfile.Row) { r.Passkeys[0].AAGUID = "yubikey" }, ReasonInvalidPasskey},
		{"a transport WebAuthn does not define", func(r *userfile.Row) { r.Passkeys[0].Transports = []string{"cable"} }, ReasonInvalidPasskey},
		{"a user handle of 65 bytes", func(r *userfile.Row) { r.Passkeys[0].UserHandle = b64(make([]byte, 65)) }, ReasonInvalidPasskey},
		{"backed up but not backup eligible", func(r *userfile.Row) { r.Passkeys[0].BackupState = true }, ReasonInvalidPasskey},
		{"an attachment WebAuthn does not define", func(r *userfile.Row) { r.Passkeys[0].Attachment = "internal" }, ReasonInvalidPasskey},
		{"a passkey name of 65 characters", func(r *userfile.Row) { r.Passkeys[0].Name = strings.Repeat("n", 65) }, ReasonInvalidPasskey},
		{"one credential id twice in a row", func(r *userfile.Row) { r.Passkeys = append(r.Passkeys, r.Passkeys[0]) }, ReasonInvalidPasskey},
		{"101 passkeys", func(r *userfile.Row) {
			for range 100 {
				r.Passkeys = append(r.Passkeys, r.Passkeys[0])
			}
		}, ReasonInvalidPasskey},
		{"two user handles", func(r *userfile.Row) {
			p := good()
			p.CredentialID, p.UserHandle = "BQYHCA", "b3RoZXI"
			r.Passkeys = append(r.Passkeys, p)
		}, ReasonUserHandleMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := userfile.Row{Email: "Ada@Example.com", ExternalID: "1", Name: "Ada", Passkeys: []userfile.Passkey{good()}}
			tt.edit(&row)
			m, err := validate(&row, legacy.Options{}, time.Now())
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.reason == "":
				if m.user.Email != "Ada@example.com" || m.user.EmailKey != "ada@example.com" || string(m.user.WebAuthnID) != "user" ||
					!m.handleGiven || m.passkeys[0].Name != "Passkey" {
					t.Errorf("member %+v", m)
				}
			case err == nil || err.reason != tt.reason:
				t.Errorf("err = %v, want reason %s", err, tt.reason)
			case err.msg == "":
				t.Error("no message")
			}
		})
	}
}

func TestAMemberWithoutAHandleGetsATimeOrderedOne(t *testing.T) {
	row := userfile.Row{Email: "ada@example.com", Passkeys: []userfile.Passkey{{
		CredentialID: "AQIDBA",
		PublicKey:    base64.RawURLEncoding.EncodeToString(virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2).Key.AttestationData()),
	}}}
	var prev []byte
	seen := map[string]bool{}
	for range 200 {
		m, err := validate(&row, legacy.Options{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if m.user.WebAuthnID != nil || m.handleGiven {
			t.Fatalf("validate made handle %x: the reader's assignIDs makes it, in file order", m.user.WebAuthnID)
		}
		m.assignIDs()
		h := m.user.WebAuthnID
		if len(h) != 32 || !bytes.Equal(m.passkeys[0].UserHandle, h) {
			t.Fatalf("handle %x, passkey's %x: want the same 32 bytes", h, m.passkeys[0].UserHandle)
		}
		if seen[string(h)] {
			t.Fatalf("handle %x made twice", h)
		}
		seen[string(h)] = true
		// Ordered by their first 6 bytes (the millisecond), random after.
		if prev != nil && bytes.Compare(h[:6], prev[:6]) < 0 {
			t.Fatalf("handle %x made after %x sorts before it", h, prev)
		}
		prev = h
	}
	if ms := int64(binary.BigEndian.Uint64(append([]byte{0, 0}, prev[:6]...))); time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
		t.Errorf("handle %x: its first 6 bytes are not now's milliseconds", prev)
	}
}
