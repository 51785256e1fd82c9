package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/password"
	"github.com/keyshift/keyshift/internal/userfile"
)

// CeilingServer is the passkey sign-in API with nothing behind it but
// go-webauthn: login/begin makes discoverable options and keeps the session
// data in memory, login/finish verifies the assertion and answers with a
// session cookie. No database, no audit, no keyshift. Driven by the same
// client over the same loopback HTTP as keyshift (Target.PasskeySignin), it
// measures what the two-request harness itself allows: the ceiling of any
// server's end-to-end figure here.
//
// Made with NewCeilingServerFor it also answers the rest of what `keyshift
// bench --target` asks — password sign-in (Argon2id alone, through the same
// hashing gate as keyshift) and the session check (GET /api/session and
// /api/verify: one map lookup) — so that the floor of every scenario can be
// measured from another process on the same machine (`keyshift bench
// ceiling`). Sessions live in memory, at most maxCeilingSessions of them.
type CeilingServer struct {
	wa    *webauthn.WebAuthn
	users map[string]*bareUser // by user handle
	flows sync.Map             // flowId → webauthn.SessionData

	hasher    *password.Hasher
	passwords map[string]string // Argon2id PHC strings by email
	sessions  sync.Map          // session token → email ("" for a passkey sign-in's)
	nSessions atomic.Int64
}

// maxCeilingSessions bounds the ceiling's session map: past it the map is
// emptied (its checked sessions sign in again only at setup, so a run
// keeps the map far below this).
const maxCeilingSessions = 1 << 20

// NewCeilingServerFor returns the ceiling server for origin with the
// generated members rows (GenMembers): their synced passkeys, as
// GenPasskeys gives them to a load client, and their Argon2id passwords.
func NewCeilingServerFor(origin string, rows []userfile.Row) (*CeilingServer, error) {
	wa, err := ceilingRP(origin)
	if err != nil {
		return nil, err
	}
	s := &CeilingServer{wa: wa, users: map[string]*bareUser{}, passwords: map[string]string{},
		hasher: password.NewHasher(password.DefaultParams(), password.NewGate(runtime.NumCPU(), 2*time.Second))}
	for _, r := range rows {
		if r.PasswordFormat == "argon2id" {
			s.passwords[r.Email] = r.PasswordHash
		}
		for _, p := range r.Passkeys {
			id, err1 := base64.RawURLEncoding.DecodeString(p.CredentialID)
			handle, err2 := base64.RawURLEncoding.DecodeString(p.UserHandle)
			key, err3 := base64.RawURLEncoding.DecodeString(p.PublicKey)
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, fmt.Errorf("bench: passkey of %s: %w", r.Email, err)
			}
			u := s.users[string(handle)]
			if u == nil {
				u = &bareUser{id: handle}
				s.users[string(handle)] = u
			}
			u.creds = append(u.creds, webauthn.Credential{ID: id, PublicKey: key, AttestationType: "none",
				Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
				Authenticator: webauthn.Authenticator{SignCount: p.SignCount}})
		}
	}
	return s, nil
}

// ceilingRP is go-webauthn configured for origin as keyshift configures it
// for a discoverable sign-in (RP ID: the origin's host).
func ceilingRP(origin string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	return webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "ceiling", RPOrigins: []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
}

// NewCeilingServer returns the server for origin (RP ID: its host, as
// keyshift) and n software passkeys registered with it.
func NewCeilingServer(origin string, n int) (*CeilingServer, []*Passkey, error) {
	wa, err := ceilingRP(origin)
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
		u.creds = []webauthn.Credential{*cred}
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
		s.loginBegin(w)
	case "/api/passkeys/login/finish":
		s.loginFinish(w, body)
	case "/api/signin/password":
		s.passwordSignin(w, r, body)
	case "/api/session", "/api/verify":
		s.session(w, r)
	default:
		http.NotFound(w, r)
	}
}

// loginBegin makes a discoverable ceremony and keeps its session data.
func (s *CeilingServer) loginBegin(w http.ResponseWriter) {
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
}

// loginFinish verifies the assertion of a ceremony begun here, once.
func (s *CeilingServer) loginFinish(w http.ResponseWriter, body []byte) {
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
	s.startSession(w, "")
}

// passwordSignin checks a generated member's Argon2id password through the
// hashing gate, as keyshift does (a full gate answers 503 + Retry-After).
func (s *CeilingServer) passwordSignin(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct{ Email, Password string }
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	hash, known := s.passwords[in.Email]
	if !known || s.hasher == nil {
		http.Error(w, "unknown member", http.StatusUnauthorized)
		return
	}
	ok, _, err := s.hasher.Verify(r.Context(), in.Password, hash, "argon2id")
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case !ok:
		http.Error(w, "wrong password", http.StatusUnauthorized)
	default:
		s.startSession(w, in.Email)
	}
}

// session answers a session check: one map lookup.
func (s *CeilingServer) session(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("ks_session")
	if err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	email, ok := s.sessions.Load(c.Value)
	if !ok {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"user": map[string]string{"email": email.(string)}})
}

// startSession answers a sign-in with a new session cookie and keeps the
// session for the checks.
func (s *CeilingServer) startSession(w http.ResponseWriter, email string) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	if s.nSessions.Add(1) > maxCeilingSessions {
		s.sessions.Clear()
		s.nSessions.Store(1)
	}
	s.sessions.Store(token, email)
	http.SetCookie(w, &http.Cookie{Name: "ks_session", Value: token, HttpOnly: true, Path: "/"})
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"user":{}}` + "\n"))
}
