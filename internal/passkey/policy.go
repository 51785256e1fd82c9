package passkey

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

// ProviderPolicy is which authenticators may register a passkey, judged by
// the AAGUID the authenticator reports and its flags. It governs only new
// passkeys: a passkey registered or imported before a change of policy
// keeps signing in (a member is never locked out by a filter).
//
// With attestation "none" (keyshift's default) the AAGUID is what the
// authenticator claims, unverified: the lists are a convenience filter that
// steers honest authenticators, not a security boundary.
type ProviderPolicy struct {
	// Allow, when not empty, is the only AAGUIDs accepted (16 bytes each).
	// An authenticator that reports none (all zeros) is then refused.
	Allow [][]byte
	// Deny is AAGUIDs refused; mutually exclusive with Allow.
	Deny [][]byte
	// DeviceBoundOnly refuses backup-eligible credentials — those a
	// password manager or platform keychain may sync to other devices —
	// for deployments that need the key to stay on one device.
	DeviceBoundOnly bool
}

// ParseProviders reads AAGUIDs in the canonical 8-4-4-4-12 form, naming
// the setting in the error.
func ParseProviders(setting string, ids []string) ([][]byte, error) {
	var out [][]byte
	for _, s := range ids {
		b, err := aaguid.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an AAGUID like ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4: %w", setting, s, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Describe lists AAGUIDs with their providers' names from the shipped
// table, for logs and doctor: "ea9b8d66-… (Google Password Manager)".
func Describe(ids [][]byte) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%s (%s)", aaguid.Format(id), aaguid.Name(id)))
	}
	return out
}

// check refuses cred when the policy does not accept it, saying why in
// words that name the provider when the table knows it.
func (p ProviderPolicy) check(cred *webauthn.Credential) error {
	id := cred.Authenticator.AAGUID
	name, known := aaguid.Lookup(id)
	refuse := func(reason, detail string) error {
		e := &account.Error{Code: account.EInvalidCredential, Reason: reason, Detail: detail}
		if known {
			e.Name = name
		}
		return e
	}
	listed := func(ids [][]byte) bool {
		for _, x := range ids {
			if bytes.Equal(x, id) {
				return true
			}
		}
		return false
	}
	switch {
	case len(p.Allow) > 0 && !listed(p.Allow):
		return refuse("provider_not_allowed", fmt.Sprintf("the authenticator %s (%s) is not on the allow list", aaguid.Format(id), aaguid.Name(id)))
	case listed(p.Deny):
		return refuse("provider_not_allowed", fmt.Sprintf("the authenticator %s (%s) is on the deny list", aaguid.Format(id), aaguid.Name(id)))
	case p.DeviceBoundOnly && cred.Flags.BackupEligible:
		return refuse("synced_not_allowed", "the credential is backup eligible (it may sync), and only device-bound passkeys are accepted")
	}
	return nil
}

// roaming refuses a cross-platform (security key) credential where the
// operator allows only platform and synced passkeys.
func roaming(allow bool, cred *webauthn.Credential) error {
	if !allow && cred.Authenticator.Attachment == protocol.CrossPlatform {
		return &account.Error{Code: account.EInvalidCredential, Reason: "roaming_not_allowed", Detail: "security keys are not allowed here"}
	}
	return nil
}
