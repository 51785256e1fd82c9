package passkey

import (
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

// TestProviderPolicy: the allow list admits only what it names (an
// authenticator that reports no AAGUID included), the deny list refuses
// what it names, device-bound-only refuses what may sync; each refusal
// names the provider when the shipped table knows it.
func TestProviderPolicy(t *testing.T) {
	onePassword, _ := aaguid.Parse("bada5566-a7aa-401f-bd96-45619a55120d")
	applePasswords, _ := aaguid.Parse("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
	unknown, _ := aaguid.Parse("00000000-0000-0000-0000-0000000000aa")
	zero := make([]byte, 16)
	cred := func(id []byte, backupEligible bool) *webauthn.Credential {
		return &webauthn.Credential{Authenticator: webauthn.Authenticator{AAGUID: id}, Flags: webauthn.CredentialFlags{BackupEligible: backupEligible}}
	}
	tests := []struct {
		name       string
		policy     ProviderPolicy
		cred       *webauthn.Credential
		wantReason string // "" accepted
		wantName   string
	}{
		{"no policy accepts anything", ProviderPolicy{}, cred(zero, true), "", ""},
		{"allow list: listed", ProviderPolicy{Allow: [][]byte{onePassword}}, cred(onePassword, true), "", ""},
		{"allow list: another provider, named", ProviderPolicy{Allow: [][]byte{onePassword}}, cred(applePasswords, true), "provider_not_allowed", "Apple Passwords"},
		{"allow list: no AAGUID reported", ProviderPolicy{Allow: [][]byte{onePassword}}, cred(zero, false), "provider_not_allowed", ""},
		{"allow list: an AAGUID the table does not know", ProviderPolicy{Allow: [][]byte{onePassword}}, cred(unknown, false), "provider_not_allowed", ""},
		{"deny list: listed, named", ProviderPolicy{Deny: [][]byte{onePassword}}, cred(onePassword, true), "provider_not_allowed", "1Password"},
		{"deny list: not listed", ProviderPolicy{Deny: [][]byte{onePassword}}, cred(applePasswords, true), "", ""},
		{"deny list: no AAGUID is not a listed one", ProviderPolicy{Deny: [][]byte{onePassword}}, cred(zero, true), "", ""},
		{"device-bound only: may sync, named", ProviderPolicy{DeviceBoundOnly: true}, cred(applePasswords, true), "synced_not_allowed", "Apple Passwords"},
		{"device-bound only: a device-bound key", ProviderPolicy{DeviceBoundOnly: true}, cred(zero, false), "", ""},
		{"allowed provider but may sync", ProviderPolicy{Allow: [][]byte{onePassword}, DeviceBoundOnly: true}, cred(onePassword, true), "synced_not_allowed", "1Password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.check(tt.cred)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *account.Error
			if !errors.As(err, &e) || e.Code != account.EInvalidCredential || e.Reason != tt.wantReason || e.Name != tt.wantName {
				t.Fatalf("err = %#v, want invalid_credential/%s naming %q", err, tt.wantReason, tt.wantName)
			}
		})
	}
}

func TestParseProviders(t *testing.T) {
	ids, err := ParseProviders("passkey.aaguid_allow", []string{" BADA5566-A7AA-401F-BD96-45619A55120D "})
	if err != nil || len(ids) != 1 || aaguid.Name(ids[0]) != "1Password" {
		t.Fatalf("%v %v", ids, err)
	}
	if got := Describe(ids); len(got) != 1 || got[0] != "bada5566-a7aa-401f-bd96-45619a55120d (1Password)" {
		t.Errorf("Describe = %q", got)
	}
	if _, err := ParseProviders("passkey.aaguid_deny", []string{"1Password"}); err == nil {
		t.Error("a provider's name was taken for an AAGUID")
	}
}
