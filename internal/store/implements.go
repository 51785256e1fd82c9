package store

import (
	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/emailauth"
	"github.com/keyshift/keyshift/internal/emailchange"
	"github.com/keyshift/keyshift/internal/emailverify"
	"github.com/keyshift/keyshift/internal/importer"
	"github.com/keyshift/keyshift/internal/mail"
	"github.com/keyshift/keyshift/internal/notice"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/throttle"
)

// Every storage interface a domain package declares, and that *DB serves,
// is listed here: a change to one of them fails to compile in this package,
// next to the SQL that must follow it, and not first in the server that
// happens to pass a *DB where the interface is wanted.
var (
	_ account.Store     = (*DB)(nil)
	_ admintoken.Store  = (*DB)(nil)
	_ emailauth.Store   = (*DB)(nil)
	_ emailchange.Store = (*DB)(nil)
	_ emailverify.Store = (*DB)(nil)
	_ importer.Store    = (*DB)(nil)
	_ mail.Store        = (*DB)(nil)
	_ notice.Store      = (*DB)(nil)
	_ passkey.Store     = (*DB)(nil)
	_ rollout.Store     = (*DB)(nil)
	_ rollout.Retirer   = (*DB)(nil)
	_ throttle.Store    = (*DB)(nil)
)
