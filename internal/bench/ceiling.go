package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// CeilingServer is the passkey sign-in API with nothing behind it but
// go-webauthn: login/begin makes discoverable options and keeps the session
// data in memory, login/finish verifies the assertion and answers with a
// session cookie. No database, no audit, no keyshift. Driven by the same
// client over the same loopback HTTP as keyshift (Target.PasskeySignin), it
// measures what the two-request harness itself allows: the ceiling of any
// server's end-to-end figure here.
type CeilingServer struct {
	wa    *webauthn.WebAuthn
	users map[string]*bareUser // by user handle
	flows sync.Map             // flowId → webauthn.SessionData
}

// NewCeilingServer returns the server for origin (RP ID: its host, as
// keyshift) and n software passkeys registered with it.
func NewCeilingServer(origin string, n int) (*CeilingServer, []*Passkey, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, nil, err
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "ceiling", RPOrigins: []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	s := &CeilingServer{wa: wa, users: map[string]*bareUser{}}
	var keys []*Passkey
	for range n {
		p, err := NewPasskey(origin)
		if err != nil {
			return nil, nil, err
		}
		u := &bareUser{id: make([]byte, 16)}
		rand.Read(u.id)
		creation, sd, err := wa.BeginRegistration(u)
		if err != nil {
			return nil, nil, err
		}
		att, err := p.Create(mustJSON(creation.Response))
		if err != nil {
			return nil, nil, err
		}
		parsed, err := protocol.ParseCredentialCreationResponseBytes(att)
		if err != nil {
			return nil, nil, err
		}
		cred, err := wa.CreateCredential(u, *sd, parsed)
		if err != nil {
			return nil, nil, err
		}
		u.cred = *cred
		s.users[string(u.id)] = u
		keys = append(keys, p)
	}
	return s, keys, nil
}

func (s *CeilingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/api/passkeys/login/begin":
		opts, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		id := make([]byte, 16)
		rand.Read(id)
		flowID := base64.RawURLEncoding.EncodeToString(id)
		s.flows.Store(flowID, *sd)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"flowId": flowID, "publicKey": opts.Response})
	case "/api/passkeys/login/finish":
		var in struct {
			FlowID     string          `json:"flowId"`
			Credential json.RawMessage `json:"credential"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sd, ok := s.flows.LoadAndDelete(in.FlowID)
		if !ok {
			http.Error(w, "unknown flow", http.StatusUnauthorized)
			return
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, err = s.wa.ValidateDiscoverableLogin(func(_, handle []byte) (webauthn.User, error) {
			return s.users[string(handle)], nil
		}, sd.(webauthn.SessionData), parsed)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		token := make([]byte, 32)
		rand.Read(token)
		http.SetCookie(w, &http.Cookie{Name: "ks_session", Value: base64.RawURLEncoding.EncodeToString(token), HttpOnly: true, Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"user":{}}` + "\n"))
	default:
		http.NotFound(w, r)
	}
}
