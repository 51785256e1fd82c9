package passkey_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// model is an authenticator model's AAGUID for the attestation tests:
// Yubico's YubiKey 5 NFC, so the refusals can name it.
var model = [16]byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}

// TestAttestationAgainstMetadata: with a metadata blob, registration asks
// for direct attestation and keeps only passkeys whose attestation chains
// to the roots the blob lists for their model, while the model's status is
// good. Everything else is attestation_unverified and nothing is stored.
func TestAttestationAgainstMetadata(t *testing.T) {
	authority := passkeytest.NewAuthority(t)
	vendor := passkeytest.NewVendor(t, model)
	revokedModel := model
	revokedModel[15] ^= 1
	revoked := passkeytest.NewVendor(t, revokedModel)
	unlisted := model
	unlisted[15] ^= 2
	md, err := passkey.LoadMetadata(authority.Blob(
		passkeytest.Entry{Vendor: vendor, Status: "FIDO_CERTIFIED_L1"},
		passkeytest.Entry{Vendor: revoked, Status: "REVOKED"},
	), authority.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	if md.Entries != 2 || md.Number != 7 || md.Stale(time.Now()) {
		t.Fatalf("metadata read as %+v", md)
	}
	// A vendor the blob lists, but whose certificate another root issued.
	impostor := passkeytest.NewVendor(t, model)

	tests := []struct {
		name   string
		answer func(a *passkeytest.Attestation) *passkeytest.Attestation
		stored bool
	}{
		{"a listed model's attestation", func(a *passkeytest.Attestation) *passkeytest.Attestation { return a.SignWith(vendor) }, true},
		{"no attestation (a synced passkey)", func(a *passkeytest.Attestation) *passkeytest.Attestation { return a.None() }, false},
		{"self attestation", func(a *passkeytest.Attestation) *passkeytest.Attestation { return a.Sign() }, false},
		{"a certificate from another root", func(a *passkeytest.Attestation) *passkeytest.Attestation { return a.SignWith(impostor) }, false},
		{"a revoked model", func(a *passkeytest.Attestation) *passkeytest.Attestation { return a.SignWith(revoked) }, false},
		{"a model the blob does not list", func(a *passkeytest.Attestation) *passkeytest.Attestation {
			return a.SignWith(passkeytest.NewVendor(t, unlisted))
		}, false},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		r := newRigWith(t, database, func(c *passkey.Config) { c.Attestation = md })
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				u := r.newUser(t, "m"+string(rune('a'+i))+"@example.com")
				c, err := r.svc.BeginRegistration(ctx, &account.SessionWithUser{User: *u, Session: account.Session{AuthenticatedAt: r.clock.Now()}})
				if err != nil {
					t.Fatal(err)
				}
				if c.Options.Attestation != "direct" {
					t.Errorf("registration asks for attestation %q, want direct", c.Options.Attestation)
				}
				key := passkeytest.NewWith(t, origin, virtualwebauthn.AuthenticatorOptions{})
				key.Auth.Aaguid = model // the listed model claimed; only the attestation tells
				answer := tt.answer(key.Attestation(mustJSON(t, c.Options)))
				_, err = r.svc.FinishRegistration(ctx, u, "", c.FlowID, answer.JSON(), "", account.Client{})
				var e *account.Error
				if err != nil {
					t.Logf("refused: %v", err)
				}
				switch {
				case tt.stored && err != nil:
					t.Fatalf("refused: %v", err)
				case !tt.stored && (!errors.As(err, &e) || e.Code != account.EInvalidCredential || e.Reason != "attestation_unverified"):
					t.Fatalf("err = %v, want invalid_credential/attestation_unverified", err)
				}
				keys, err := r.db.ListPasskeys(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if (len(keys) == 1) != tt.stored {
					t.Errorf("%d passkeys stored", len(keys))
				}
			})
		}
	})
}

// TestWithoutMetadataNoAttestationIsAsked: the default asks for none, and a
// passkey without attestation registers.
func TestWithoutMetadataNoAttestationIsAsked(t *testing.T) {
	r := newRig(t, "sqlite:"+testdb.SQLitePath(t))
	u := r.newUser(t, "ada@example.com")
	c, err := r.svc.BeginRegistration(context.Background(), &account.SessionWithUser{User: *u, Session: account.Session{AuthenticatedAt: r.clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Options.Attestation != "none" {
		t.Errorf("attestation %q, want none", c.Options.Attestation)
	}
	answer := passkeytest.New(t, origin).Attestation(mustJSON(t, c.Options)).None()
	if _, err := r.svc.FinishRegistration(context.Background(), u, "", c.FlowID, answer.JSON(), "", account.Client{}); err != nil {
		t.Fatal(err)
	}
}

// TestLoadMetadataRefuses: a blob that does not verify against the
// configured root, or is not a blob at all, stops the start with the reason.
func TestLoadMetadataRefuses(t *testing.T) {
	authority := passkeytest.NewAuthority(t)
	entry := passkeytest.Entry{Vendor: passkeytest.NewVendor(t, model), Status: "FIDO_CERTIFIED"}
	garbage := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(garbage, []byte("not a jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		root []byte
	}{
		{"signed under another root", authority.ForgedBlob(entry), authority.RootPEM},
		{"checked against FIDO's root", authority.Blob(entry), nil},
		{"not a blob", garbage, authority.RootPEM},
		{"no file", filepath.Join(t.TempDir(), "missing"), authority.RootPEM},
		{"a root that is no certificate", authority.Blob(entry), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if md, err := passkey.LoadMetadata(tt.path, tt.root); err == nil {
				t.Fatalf("loaded: %+v", md)
			}
		})
	}
}
