package userfile_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/userfile"
)

var (
	created = time.Date(2024, 2, 29, 23, 30, 0, 123_000_000, time.FixedZone("UTC-5", -5*3600))
	used    = time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)
)

func member() (account.User, *account.Credential, []account.Credential) {
	u := account.User{ID: "u1", Email: "Ada@example.com", EmailKey: "ada@example.com", EmailVerified: true,
		Name: "Ada <Lovelace> & co", ExternalID: "legacy-42", WebAuthnID: []byte{0xfb, 0xff, 0x01}, CreatedAt: created}
	pw := &account.Credential{Type: account.CredentialPassword, PasswordHash: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", PasswordFormat: "bcrypt"}
	pks := []account.Credential{
		{Type: account.CredentialWebAuthn, CredentialID: []byte{1, 2, 3, 0xfe}, PublicKey: []byte{0xa5, 0x01, 0x02},
			SignCount: 17, AAGUID: []byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd},
			Transports: []string{"internal", "hybrid"}, Attachment: "platform", BackupEligible: true, BackupState: true,
			Name: "iPhone", CreatedAt: created, LastUsedAt: used},
		{Type: account.CredentialWebAuthn, CredentialID: []byte{9}, PublicKey: []byte{8}, UserHandle: []byte("old-provider-handle"),
			CreatedAt: used},
	}
	return u, pw, pks
}

func TestWriterWritesTheDocumentedJSONLine(t *testing.T) {
	u, pw, pks := member()
	r, err := userfile.FromAccount(u, pw, pks)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := userfile.NewWriter(&b, userfile.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&r); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&userfile.Row{Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"email":"Ada@example.com","email_verified":true,"external_id":"legacy-42","name":"Ada <Lovelace> & co",` +
		`"created_at":"2024-03-01T04:30:00.123Z","password_hash":"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy","password_format":"bcrypt",` +
		`"passkeys":[{"credential_id":"AQID_g","public_key":"pQEC","sign_count":17,"aaguid":"fbfc3007-154e-4ecc-8c0b-6e020557d7bd",` +
		`"transports":["internal","hybrid"],"user_handle":"-_8B","backup_eligible":true,"backup_state":true,"name":"iPhone","attachment":"platform",` +
		`"created_at":"2024-03-01T04:30:00.123Z","last_used_at":"2026-01-15T08:00:00Z"},` +
		`{"credential_id":"CQ","public_key":"CA","sign_count":0,"user_handle":"b2xkLXByb3ZpZGVyLWhhbmRsZQ","backup_eligible":false,"backup_state":false,` +
		`"created_at":"2026-01-15T08:00:00Z"}]}` + "\n" +
		`{"email":"bob@example.com","email_verified":false}` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if w.Rows() != 2 {
		t.Errorf("Rows() = %d, want 2", w.Rows())
	}
	// What is written reads back into the same row.
	var back userfile.Row
	if err := json.Unmarshal([]byte(strings.SplitN(b.String(), "\n", 2)[0]), &back); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(back)
	o, _ := json.Marshal(r)
	if string(g) != string(o) {
		t.Errorf("read back\n%s\nwrote\n%s", g, o)
	}
}

func TestFromAccount(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(u *account.User, pw **account.Credential, pks []account.Credential)
		check   func(t *testing.T, r userfile.Row)
		wantErr string
	}{
		{"a member without password has no hash nor format", func(u *account.User, pw **account.Credential, pks []account.Credential) { *pw = nil },
			func(t *testing.T, r userfile.Row) {
				if r.PasswordHash != "" || r.PasswordFormat != "" {
					t.Errorf("hash %q format %q", r.PasswordHash, r.PasswordFormat)
				}
			}, ""},
		{"a hash whose format was never recorded goes out without one", func(u *account.User, pw **account.Credential, pks []account.Credential) { (*pw).PasswordFormat = "" },
			func(t *testing.T, r userfile.Row) {
				if r.PasswordHash == "" || r.PasswordFormat != "" {
					t.Errorf("hash %q format %q", r.PasswordHash, r.PasswordFormat)
				}
			}, ""},
		{"a passkey registered here carries the member's WebAuthn id as user handle", func(*account.User, **account.Credential, []account.Credential) {},
			func(t *testing.T, r userfile.Row) {
				if r.Passkeys[0].UserHandle != "-_8B" {
					t.Errorf("user handle %q", r.Passkeys[0].UserHandle)
				}
			}, ""},
		{"a zero AAGUID is written, not dropped", func(u *account.User, pw **account.Credential, pks []account.Credential) {
			pks[0].AAGUID = make([]byte, 16)
		},
			func(t *testing.T, r userfile.Row) {
				if r.Passkeys[0].AAGUID != "00000000-0000-0000-0000-000000000000" {
					t.Errorf("aaguid %q", r.Passkeys[0].AAGUID)
				}
			}, ""},
		{"a never-used passkey has no last_used_at", func(*account.User, **account.Credential, []account.Credential) {},
			func(t *testing.T, r userfile.Row) {
				if r.Passkeys[1].LastUsedAt != nil {
					t.Errorf("last_used_at %v", r.Passkeys[1].LastUsedAt)
				}
			}, ""},
		{"a stored AAGUID of the wrong length is an error, not a silent loss", func(u *account.User, pw **account.Credential, pks []account.Credential) { pks[1].AAGUID = []byte{1, 2} },
			nil, "AAGUID has 2 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, pw, pks := member()
			tt.edit(&u, &pw, pks)
			r, err := userfile.FromAccount(u, pw, pks)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestNewWriterRefusesAnUnknownFormat(t *testing.T) {
	if _, err := userfile.NewWriter(&bytes.Buffer{}, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestWriterWritesCSVWithPasskeysAsJSON(t *testing.T) {
	u, pw, pks := member()
	r, err := userfile.FromAccount(u, pw, pks[1:])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := userfile.NewWriter(&b, userfile.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []*userfile.Row{&r, {Email: "bob@example.com", Name: `Bob "the, builder"`}} {
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "email,email_verified,external_id,name,created_at,password_hash,password_format,passkeys\n" +
		`Ada@example.com,true,legacy-42,Ada <Lovelace> & co,2024-03-01T04:30:00.123Z,$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy,bcrypt,` +
		`"[{""credential_id"":""CQ"",""public_key"":""CA"",""sign_count"":0,""user_handle"":""b2xkLXByb3ZpZGVyLWhhbmRsZQ"",""backup_eligible"":false,""backup_state"":false,""created_at"":""2026-01-15T08:00:00Z""}]"` + "\n" +
		`bob@example.com,false,,"Bob ""the, builder""",,,,` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriterRefusesALineBreakInACSVField(t *testing.T) {
	w, err := userfile.NewWriter(&bytes.Buffer{}, userfile.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&userfile.Row{Email: "a@example.com", Name: "Ada\nLovelace"}); err == nil || !strings.Contains(err.Error(), "jsonl") {
		t.Fatalf("err = %v, want a refusal that points to jsonl", err)
	}
	if w.Rows() != 0 {
		t.Errorf("Rows() = %d after a refused row", w.Rows())
	}
}
