package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// softKey is a software authenticator (descope/virtualwebauthn) holding
// passkeys for one keyshift.
type softKey struct {
	t    *testing.T
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newSoftKey(t *testing.T, s *liveSite) *softKey {
	rp := virtualwebauthn.RelyingParty{ID: "localhost", Name: "keyshift", Origin: s.URL}
	auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
		BackupEligible: true, BackupState: true,
	})
	return &softKey{t: t, rp: rp, auth: auth, cred: virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)}
}

// ceremony is a begin answer.
type ceremony struct {
	FlowID    string          `json:"flowId"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func begin(t *testing.T, c *servertest.Client, path string, body any) ceremony {
	t.Helper()
	r := c.JSON(http.MethodPost, path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	var cer ceremony
	r.JSON(t, &cer)
	return cer
}

// register adds k's credential to the member signed in on c.
func (k *softKey) register(c *servertest.Client) *servertest.Response {
	k.t.Helper()
	cer := begin(k.t, c, "/api/passkeys/register/begin", map[string]any{})
	opts, err := virtualwebauthn.ParseAttestationOptions(string(cer.PublicKey))
	if err != nil {
		k.t.Fatal(err)
	}
	k.auth.Options.UserHandle = []byte(opts.UserID)
	cred := virtualwebauthn.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts)
	k.auth.AddCredential(k.cred)
	return c.JSON(http.MethodPost, "/api/passkeys/register/finish", map[string]any{"flowId": cer.FlowID, "credential": json.RawMessage(cred)})
}

// signin runs a passkey sign-in on c; body is the begin body ({} or email).
func (k *softKey) signin(c *servertest.Client, body any, mediation string) *servertest.Response {
	k.t.Helper()
	cer := begin(k.t, c, "/api/passkeys/login/begin", body)
	opts, err := virtualwebauthn.ParseAssertionOptions(string(cer.PublicKey))
	if err != nil {
		k.t.Fatal(err)
	}
	cred := virtualwebauthn.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts)
	return c.JSON(http.MethodPost, "/api/passkeys/login/finish", map[string]any{
		"flowId": cer.FlowID, "credential": json.RawMessage(cred), "mediation": mediation})
}

func TestPasskeyRegisterThenSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startSite(t, database)
		c := s.member("ada@example.com")
		k := newSoftKey(t, s)
		r := k.register(c)
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		var reg struct {
			Passkey map[string]any `json:"passkey"`
		}
		r.JSON(t, &reg)
		if reg.Passkey["synced"] != true || reg.Passkey["provider"] != "Unknown provider" || reg.Passkey["lastUsedAt"] != nil {
			t.Errorf("passkey %v", reg.Passkey)
		}

		for _, tt := range []struct {
			name      string
			body      any
			mediation string
			method    string
		}{
			{"discoverable, modal", map[string]any{}, "modal", "passkey_modal"},
			{"discoverable, conditional", map[string]any{}, "conditional", "passkey_conditional"},
			{"username-first", map[string]any{"email": "ADA@example.com"}, "modal", "passkey_username"},
		} {
			fresh := s.client()
			r := k.signin(fresh, tt.body, tt.mediation)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", tt.name, r.Status, r.Body)
			}
			var sess struct {
				User    struct{ PasskeyCount int }  `json:"user"`
				Session struct{ AuthMethod string } `json:"session"`
			}
			fresh.JSON(http.MethodGet, "/api/session", nil).JSON(t, &sess)
			if sess.Session.AuthMethod != tt.method || sess.User.PasskeyCount != 1 {
				t.Errorf("%s: session %+v", tt.name, sess)
			}
		}
	})
}
