// Package web is keyshift's HTTP face: the JSON API of API.md, the pages
// members see, and the operational endpoints. Handlers are thin: they decode,
// call package account, and answer; every error goes through one adapter
// (errors.go) that picks the status, the words and the log line.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/returnto"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/web/cookie"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/metrics"
	"github.com/keyshift/keyshift/internal/web/page"
)

// Health is what readiness checks ask of the database.
type Health interface {
	Ping(ctx context.Context) error
	// CheckReady fails while a migration this binary knows is pending. A
	// schema newer than the binary passes (see ops.go, readyz).
	CheckReady(ctx context.Context) error
}

// Options wires a Server.
type Options struct {
	Config config.Config
	// Sessions proves and ends members' sessions.
	Sessions *session.Service
	// Members signs members out everywhere and reads their accounts.
	Members *member.Service
	// Passwords signs up and in with a password, and changes it.
	Passwords *passwordauth.Service
	// Recovery makes recovery codes and signs in with them.
	Recovery *recovery.Service
	Passkeys *passkey.Service
	Health   Health
	// Build is the running build, for /healthz and keyshift_build_info
	// (zero: read from the binary, version "dev").
	Build buildinfo.Info
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// DeviceKey signs device cookies (see cookies.go); the same on every node.
	DeviceKey []byte
	Log       *slog.Logger
	// Registry receives keyshift's metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	HashGate metrics.Gauges
	// Mail lists recent mail for the dev mailer page (devmail.go); nil hides it.
	Mail DevMail
	// Signin runs email sign-in (email_signin.go).
	Signin *signin.Service
	// Confirm confirms addresses after sign-up (email_confirm.go).
	Confirm *confirm.Service
	// Change moves accounts to another address and back (email_change.go).
	Change *change.Service
	// Rollout is the staged rollout (admin.go).
	Rollout *rollout.Service
	// AdminTokens authenticates the admin API (admin.go).
	AdminTokens *admintoken.Tokens
	// Telemetry gives the metrics document and takes the pages' notes.
	Telemetry *telemetry.Service
}

// Server serves keyshift over HTTP.
type Server struct {
	cfg       config.Config
	sessions  *session.Service
	members   *member.Service
	passwords *passwordauth.Service
	recovery  *recovery.Service
	passkeys  *passkey.Service
	now       func() time.Time
	health    Health
	cookies   cookie.Signer
	log       *slog.Logger
	metrics   *metrics.Metrics
	mail      DevMail
	signin    *signin.Service
	confirm   *confirm.Service
	change    *change.Service
	rollout   *rollout.Service
	tokens    *admintoken.Tokens
	telemetry *telemetry.Service
	msg       *i18n.Catalog
	pages     *page.Set
	returns   *returnto.Policy
	handler   http.Handler
	build     buildinfo.Info // /healthz
	badHop    sync.Once      // logs the first X-Forwarded-For hop that is no address (request.go)
}

// New builds a Server and its routes.
func New(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Build.Version == "" {
		o.Build = buildinfo.Read("")
	}
	msg, err := i18n.Load("en")
	if err != nil {
		return nil, err
	}
	pg, err := page.Load(msg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: o.Config, sessions: o.Sessions, members: o.Members, passwords: o.Passwords, recovery: o.Recovery, passkeys: o.Passkeys, now: o.Now, health: o.Health, cookies: cookie.NewSigner(o.DeviceKey),
		log: o.Log, msg: msg, pages: pg, mail: o.Mail, signin: o.Signin, confirm: o.Confirm,
		change: o.Change, rollout: o.Rollout, tokens: o.AdminTokens, telemetry: o.Telemetry,
		metrics: metrics.New(o.Registry, o.HashGate, metrics.Build{Version: o.Build.Version, Commit: o.Build.Commit, GoVersion: o.Build.GoVersion}),
		build:   o.Build,
	}
	if s.returns, err = returnto.New(o.Config.Origin, o.Config.AllowedReturnOrigins); err != nil {
		return nil, err
	}
	s.handler = s.routes(o.Registry)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// client describes the requester for the account service. Header values are
// bytes, not text: a User-Agent that is not UTF-8 is repaired here, or
// PostgreSQL would refuse the session and event rows that record it.
func (s *Server) client(r *http.Request) account.Client {
	ua := strings.ToValidUTF8(r.UserAgent(), "\uFFFD")
	return account.Client{IP: s.clientIP(r), UserAgent: ua, Device: s.readDevice(r),
		SigninMs: signinMs(r), Began: s.now()}
}

// SigninMsHeader carries the page's own time to sign in (page load to the
// finishing request, in whole milliseconds) on the requests that finish a
// sign-in: one header for every method, read here, so no handler decodes it.
// Telemetry bounds it (telemetry.ClientMs); anything unparsable is none.
const SigninMsHeader = "Keyshift-Signin-Ms"

// signinMsField is the same for the sign-in forms.
const signinMsField = "signin_ms"

func signinMs(r *http.Request) int {
	v := r.Header.Get(SigninMsHeader)
	if v == "" && r.PostForm != nil {
		// A sign-in form sends it as a field (the page's script adds it);
		// read only when the handler has parsed the form already.
		v = r.PostForm.Get(signinMsField)
	}
	if v == "" || len(v) > 9 {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}
