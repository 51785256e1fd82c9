package store

import (
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/audit"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/notice"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/email/stepup"
	"github.com/keyshift/keyshift/internal/export"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/member"
	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/passwordauth"
	"github.com/keyshift/keyshift/internal/recovery"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/session"
	"github.com/keyshift/keyshift/internal/support"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Every storage interface a domain package declares, and that *DB serves,
// is listed here: a change to one of them fails to compile in this package,
// next to the SQL that must follow it, and not first in the server that
// happens to pass a *DB where the interface is wanted.
var (
	_ account.AuditStore        = (*DB)(nil)
	_ adminrole.Store           = (*DB)(nil)
	_ admintoken.Store          = (*DB)(nil)
	_ audit.Store               = (*DB)(nil)
	_ change.Accounts           = (*DB)(nil)
	_ change.Store              = (*DB)(nil)
	_ confirm.Store             = (*DB)(nil)
	_ export.Store              = (*DB)(nil)
	_ importer.Store            = (*DB)(nil)
	_ member.Credentials        = (*DB)(nil)
	_ member.Store              = (*DB)(nil)
	_ notice.Store              = (*DB)(nil)
	_ oidcprovider.ClientStore  = (*DB)(nil)
	_ oidcprovider.GrantStore   = (*DB)(nil)
	_ oidcprovider.KeyStore     = (*DB)(nil)
	_ oidcprovider.RequestStore = (*DB)(nil)
	_ oidcprovider.Secrets      = (*DB)(nil)
	_ oidcprovider.Users        = (*DB)(nil)
	_ outbox.Store              = (*DB)(nil)
	_ passkey.Ceremonies        = (*DB)(nil)
	_ passkey.Store             = (*DB)(nil)
	_ passkey.Disowns           = (*DB)(nil)
	_ passwordauth.Store        = (*DB)(nil)
	_ passwordauth.Users        = (*DB)(nil)
	_ recovery.Store            = (*DB)(nil)
	_ recovery.Users            = (*DB)(nil)
	_ rollout.Retirer           = (*DB)(nil)
	_ rollout.Store             = (*DB)(nil)
	_ session.Store             = (*DB)(nil)
	_ support.Store             = (*DB)(nil)
	_ support.Accounts          = (*DB)(nil)
	_ signin.Store              = (*DB)(nil)
	_ signin.Users              = (*DB)(nil)
	_ stepup.Store              = (*DB)(nil)
	_ telemetry.FigureStore     = (*DB)(nil)
	_ telemetry.FoldStore       = (*DB)(nil)
	_ telemetry.Store           = (*DB)(nil)
	_ throttle.Store            = (*DB)(nil)
)
