package importer_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
	"github.com/keyshift/keyshift/internal/userfile"
)

// TestImportedPasskeySignsIn is the promise of the import: a member whose
// passkey was made for the old system (same RP ID) signs in with it, in
// every kind of passkey sign-in, without registering anything. The
// credential is made outside keyshift by a software authenticator; only its
// id, COSE public key and user handle reach keyshift, through the file.
func TestImportedPasskeySignsIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		site := servertest.Start(t, database)
		handle := randBytes(24) // the old system's user handle, not one keyshift would make
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		cred.Counter = 41 // the old system saw 41 uses
		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
			UserHandle: handle, BackupEligible: true, BackupState: true})
		auth.AddCredential(cred)
		rp := virtualwebauthn.RelyingParty{ID: "localhost", Name: "old site", Origin: site.URL}

		used := time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)
		row := userfile.Row{Email: "ada@example.com", ExternalID: "passage-ada", Passkeys: []userfile.Passkey{{
			CredentialID: b64(cred.ID), PublicKey: b64(cred.Key.AttestationData()), SignCount: 41,
			AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", Transports: []string{"internal", "hybrid"},
			UserHandle: b64(handle), BackupEligible: true, BackupState: true, LastUsedAt: &used,
		}}}
		line, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "passage.jsonl")
		if err := os.WriteFile(path, append(line, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		if sum := run(t, site.DB, importer.Options{Path: path}); sum.Counts.Imported != 1 || sum.Counts.Passkeys != 1 {
			t.Fatalf("import: %+v", sum.Counts)
		}

		for _, tt := range []struct {
			name   string
			body   any
			method string
		}{
			{"discoverable", map[string]any{}, "passkey_modal"},
			{"username-first", map[string]any{"email": "Ada@example.com"}, "passkey_username"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c := site.Client(t)
				r := c.JSON(http.MethodPost, "/api/passkeys/login/begin", tt.body)
				if r.Status != http.StatusOK {
					t.Fatalf("begin: %d %s", r.Status, r.Body)
				}
				var cer struct {
					FlowID    string          `json:"flowId"`
					PublicKey json.RawMessage `json:"publicKey"`
				}
				r.JSON(t, &cer)
				opts, err := virtualwebauthn.ParseAssertionOptions(string(cer.PublicKey))
				if err != nil {
					t.Fatal(err)
				}
				auth.Credentials[0].Counter++ // an authenticator counts every assertion
				resp := virtualwebauthn.CreateAssertionResponse(rp, auth, auth.Credentials[0], *opts)
				r = c.JSON(http.MethodPost, "/api/passkeys/login/finish", map[string]any{
					"flowId": cer.FlowID, "credential": json.RawMessage(resp), "mediation": "modal"})
				if r.Status != http.StatusOK {
					t.Fatalf("finish: %d %s", r.Status, r.Body)
				}
				var sess struct {
					User struct {
						Email        string `json:"email"`
						PasskeyCount int
					} `json:"user"`
					Session struct{ AuthMethod string } `json:"session"`
				}
				c.JSON(http.MethodGet, "/api/session", nil).JSON(t, &sess)
				if sess.User.Email != "ada@example.com" || sess.Session.AuthMethod != tt.method || sess.User.PasskeyCount != 1 {
					t.Errorf("session %+v", sess)
				}
			})
		}
	})
}
