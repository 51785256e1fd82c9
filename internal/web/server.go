// Package web is keyshift's HTTP face: the JSON API of API.md, the pages
// members see, and the operational endpoints. routes.go lists every route;
// the features every sign-in touches live here, the others in packages of
// their own below (email, rolloutpages, forwardauth, admin), over shared
// parts (request, respond, visitor). Handlers are thin: they decode, call
// the domain, and answer; every error goes through one adapter (package
// respond) that picks the status, the words and the log line.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/export"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/web/admin"
	"github.com/keyshift/keyshift/internal/web/email"
	"github.com/keyshift/keyshift/internal/web/forwardauth"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/metrics"
	"github.com/keyshift/keyshift/internal/web/oidclogin"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/rolloutpages"
	"github.com/keyshift/keyshift/internal/web/visitor"
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
	// DeviceKey signs device cookies (package visitor); the same on every node.
	DeviceKey []byte
	Log       *slog.Logger
	// Registry receives keyshift's metrics; nil makes a fresh one.
	Registry *prometheus.Registry
	HashGate metrics.Gauges
	// Mail lists recent mail for the dev mailer page (devmail.go); nil hides it.
	Mail DevMail
	// Signin runs email sign-in (package web/email, and a passkey-first sign-up's code).
	Signin *signin.Service
	// Confirm confirms addresses after sign-up (package web/email).
	Confirm *confirm.Service
	// Change moves accounts to another address and back (package web/email).
	Change *change.Service
	// StepUp confirms members who have only their mailbox by a mailed code
	// (reauth.go).
	StepUp *stepup.Service
	// Export gathers members' own data (export.go).
	Export *export.Service
	// Support is support recovery's side that members see (support.go).
	Support *support.Service
	// Rollout is the staged rollout (package admin, package rolloutpages).
	Rollout *rollout.Service
	// AdminTokens authenticates the admin API (package admin) and /metrics.
	AdminTokens *admintoken.Tokens
	// Telemetry gives the metrics document (package admin) and takes the
	// pages' notes.
	Telemetry *telemetry.Service
	// AdminRoles says which members may open the /admin dashboard.
	AdminRoles *adminrole.Roles
	// OIDC is the OpenID Provider apps sign members in through
	// (docs/integrate.md); nil serves none of its routes.
	OIDC *oidcprovider.Provider
}

// Server serves keyshift over HTTP.
type Server struct {
	cfg          config.Config
	sessions     *session.Service
	members      *member.Service
	passwords    *passwordauth.Service
	recovery     *recovery.Service
	passkeys     *passkey.Service
	now          func() time.Time
	health       Health
	log          *slog.Logger
	metrics      *metrics.Metrics
	mail         DevMail
	signin       *signin.Service
	stepUp       *stepup.Service
	exports      *export.Service
	support      *support.Service
	rollout      *rollout.Service
	tokens       *admintoken.Tokens
	msg          *i18n.Catalog
	respond      *respond.Responder
	visitors     *visitor.Cookies
	forward      *forwardauth.Handler
	admin        *admin.API
	dashboard    *admin.Dashboard
	telemetry    *telemetry.Service
	rolloutPages *rolloutpages.Handlers
	email        *email.Handlers
	oidc         *oidcprovider.Provider
	oidcLogin    *oidclogin.Handler
	handler      http.Handler
	build        buildinfo.Info // /healthz
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
		cfg: o.Config, sessions: o.Sessions, members: o.Members, passwords: o.Passwords, recovery: o.Recovery, passkeys: o.Passkeys, now: o.Now, health: o.Health,
		log: o.Log, msg: msg, mail: o.Mail, signin: o.Signin, stepUp: o.StepUp, exports: o.Export, support: o.Support,
		rollout: o.Rollout, tokens: o.AdminTokens,
		metrics: metrics.New(o.Registry, o.HashGate, metrics.Build{Version: o.Build.Version, Commit: o.Build.Commit, GoVersion: o.Build.GoVersion}),
		build:   o.Build,
	}
	s.respond = respond.New(msg, pg, o.Log, s.metrics, !o.Config.Signup.Open)
	if err := s.features(o); err != nil {
		return nil, err
	}
	s.handler = s.routes(o.Registry)
	return s, nil
}

// features builds the feature packages that routes registers: each gets
// the shared parts (visitor, respond) and the domain services it serves.
func (s *Server) features(o Options) error {
	var err error
	if s.visitors, err = visitor.New(o.Config, o.Sessions, o.Rollout, o.DeviceKey, o.Log, o.Now); err != nil {
		return err
	}
	s.forward = forwardauth.New(o.Config, s.visitors)
	s.admin = admin.New(o.AdminTokens, o.Rollout, o.Telemetry, o.Log)
	s.dashboard = admin.NewDashboard(s.admin, o.AdminRoles, s.visitors, s.respond, s.msg, o.Now)
	s.telemetry = o.Telemetry
	if o.OIDC != nil {
		s.oidc, s.oidcLogin = o.OIDC, oidclogin.New(o.OIDC, s.visitors, o.Sessions)
	}
	s.rolloutPages = rolloutpages.New(o.Rollout, s.visitors, s.respond, s.msg, o.Log, accountPage{s})
	s.email = email.New(email.Options{Signin: o.Signin, Confirm: o.Confirm, Change: o.Change, Visitors: s.visitors, Respond: s.respond,
		Msg: s.msg, Metrics: s.metrics, Nudges: s.rolloutPages, Account: accountPage{s}})
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
