package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestAttestedPasskeysOnly: with attestation direct and a metadata blob, a
// security key of a listed model registers over the API; a synced passkey,
// which gives no attestation, is refused in words the member can act on and
// nothing is stored; the automatic upgrade is not offered.
func TestAttestedPasskeysOnly(t *testing.T) {
	authority := passkeytest.NewAuthority(t)
	model := [16]byte{0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8}
	vendor := passkeytest.NewVendor(t, model)
	blob := authority.Blob(passkeytest.Entry{Vendor: vendor, Status: "FIDO_CERTIFIED_L2"})
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(root, authority.RootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database, func(c *config.Config) {
			c.Passkey.Attestation, c.Passkey.MetadataFile, c.Passkey.MetadataRoot = config.AttestationDirect, blob, root
		})
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")

		synced := newSoftKey(t, s)
		cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		state := s.stateOf(t, ada)
		e := wantRefused(t, finishRegister(ada.c, cer.FlowID, synced.attestationFor(cer).None().JSON(), ""), 400, "invalid_credential", "attestation_unverified")
		if !strings.Contains(e.Error.Message, "couldn’t be verified") {
			t.Errorf("message %q does not say the passkey could not be verified", e.Error.Message)
		}
		s.wantStateUnchanged(t, state, ada)

		key := newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{})
		key.Auth.Aaguid = model
		cer = begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		wantStatus(t, finishRegister(ada.c, cer.FlowID, key.attestationFor(cer).SignWith(vendor).JSON(), ""), http.StatusCreated)
		key.Auth.AddCredential(key.Cred)
		wantStatus(t, key.signin(s.client(), map[string]any{}, "modal"), http.StatusOK)

		bob := newMemberWithoutPasskey(t, s, "bob@example.com")
		wantStatus(t, bob.c.Signin(bob.email, goodPassword), http.StatusOK)
		e = wantAPIError(t, bob.c.JSON(http.MethodPost, "/api/passkeys/upgrade/begin", map[string]any{}), http.StatusBadRequest, "invalid_request")
		if e.Error.Reason != "attestation_required" {
			t.Errorf("the automatic upgrade: reason %q, want attestation_required", e.Error.Reason)
		}
	})
}
