// Command oidc-app is a small web app that lets keyshift sign its users in
// through OpenID Connect, with the client libraries most Go apps use:
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2. It is the code an
// integrator copies (docs/integrate.md); its test runs it against a real
// keyshift.
//
//	keyshift admin client create --name example --redirect-uri http://127.0.0.1:9090/callback
//	KEYSHIFT_ISSUER=http://localhost:8080 CLIENT_ID=… CLIENT_SECRET=… APP_URL=http://127.0.0.1:9090 go run ./examples/oidc-app
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is what the app needs to know about keyshift and itself.
type Config struct {
	Issuer       string // keyshift's origin
	ClientID     string
	ClientSecret string
	AppURL       string // the app's own origin; its callback is AppURL + "/callback"
}

// Member is who keyshift said signed in, as the app keeps it.
type Member struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
}

// App is the example app.
type App struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	key      []byte // signs the app's own cookies
	secure   bool
}

// New discovers keyshift and returns the app.
func New(ctx context.Context, c Config) (*App, error) {
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", c.Issuer, err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &App{
		oauth: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: strings.TrimSuffix(c.AppURL, "/") + "/callback", Scopes: []string{oidc.ScopeOpenID, "email"}},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
		key:      key,
		secure:   strings.HasPrefix(c.AppURL, "https://"),
	}, nil
}

// Handler serves the app: / shows who is signed in, /login goes to
// keyshift, /callback comes back from it.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	return mux
}

var page = template.Must(template.New("home").Parse(`<!doctype html>
<title>Example app</title>
{{if .}}<p>Signed in as <b id="email">{{.Email}}</b> (member {{.Subject}}), by {{range .AMR}}{{.}} {{end}}(acr {{.ACR}}).</p>
{{else}}<p><a href="/login">Sign in with keyshift</a></p>{{end}}`))

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	var m *Member
	if v, ok := a.readCookie(r, "member"); ok {
		m = new(Member)
		if json.Unmarshal(v, m) != nil {
			m = nil
		}
	}
	page.Execute(w, m)
}

// flow is what the app remembers between /login and /callback, in a
// signed cookie: the state it sent, the nonce, and the PKCE verifier.
type flow struct {
	State, Nonce, Verifier string
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	f := flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	b, _ := json.Marshal(f)
	a.setCookie(w, "flow", b, 10*time.Minute)
	http.Redirect(w, r, a.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	m, err := a.finish(r)
	if err != nil {
		http.Error(w, "sign-in failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := json.Marshal(m)
	a.setCookie(w, "member", b, time.Hour)
	a.setCookie(w, "flow", nil, -time.Second)
	http.Redirect(w, r, "/", http.StatusFound)
}

// finish checks keyshift's answer against the flow the app started and
// verifies the ID token: signature, issuer, audience, expiry and nonce.
func (a *App) finish(r *http.Request) (*Member, error) {
	raw, ok := a.readCookie(r, "flow")
	var f flow
	if !ok || json.Unmarshal(raw, &f) != nil {
		return nil, errors.New("no sign-in in progress")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("keyshift answered %s: %s", e, q.Get("error_description"))
	}
	if !hmac.Equal([]byte(q.Get("state")), []byte(f.State)) {
		return nil, errors.New("state does not match")
	}
	tok, err := a.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, err
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(r.Context(), rawID)
	if err != nil {
		return nil, err
	}
	if idt.Nonce != f.Nonce {
		return nil, errors.New("nonce does not match")
	}
	var m Member
	if err := idt.Claims(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCookie and readCookie keep a value in a cookie signed with the app's
// key (a real app would use its session store).
func (a *App) setCookie(w http.ResponseWriter, name string, v []byte, ttl time.Duration) {
	val := base64.RawURLEncoding.EncodeToString(v)
	http.SetCookie(w, &http.Cookie{Name: name, Value: val + "." + a.sign(name, val), Path: "/", HttpOnly: true,
		Secure: a.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(ttl / time.Second)})
}

func (a *App) readCookie(r *http.Request, name string) ([]byte, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return nil, false
	}
	val, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign(name, val))) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(val)
	return b, err == nil
}

func (a *App) sign(name, val string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(name + "=" + val))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func main() {
	c := Config{Issuer: os.Getenv("KEYSHIFT_ISSUER"), ClientID: os.Getenv("CLIENT_ID"), ClientSecret: os.Getenv("CLIENT_SECRET"), AppURL: os.Getenv("APP_URL")}
	if c.Issuer == "" || c.ClientID == "" || c.AppURL == "" {
		log.Fatal("set KEYSHIFT_ISSUER, CLIENT_ID, CLIENT_SECRET and APP_URL")
	}
	app, err := New(context.Background(), c)
	if err != nil {
		log.Fatal(err)
	}
	u, err := url.Parse(c.AppURL)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("example app on %s", c.AppURL)
	log.Fatal(http.ListenAndServe(u.Host, app.Handler()))
}
