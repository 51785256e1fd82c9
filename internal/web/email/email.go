// Package email serves keyshift's mailed flows over HTTP, one file per
// flow as in internal/email: sign-in by link or code (signin.go:
// /api/email/start|finish, /signin/email, /email/code, /email/verify), the
// sign-up's confirmation and "This wasn't me" (confirm.go: /email/confirm,
// /email/disown), an address change with its confirm, revert and cancel
// links (change.go: /account/email, /email/change|revert|cancel), and the
// one landing page every mailed link opens (landing.go).
package email

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/email/change"
	"github.com/keyshift/keyshift/internal/email/confirm"
	"github.com/keyshift/keyshift/internal/email/signin"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/metrics"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/rolloutpages"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// AccountPage is the account page, where the address's forms answer.
type AccountPage interface {
	// Form runs a form of the page's section for the signed-in member and
	// shows the page again, with the notice act put in d or the refusal.
	Form(w http.ResponseWriter, r *http.Request, section string, act func(sw *account.SessionWithUser, d *page.Data) error) error
	// RefusedOn shows err on the account page of sw's member, put in d by
	// put.
	RefusedOn(err error, sw *account.SessionWithUser, d page.Data, put func(d *page.Data, field, message string)) error
}

// Options wires Handlers.
type Options struct {
	Signin   *signin.Service
	Confirm  *confirm.Service
	Change   *change.Service
	Visitors *visitor.Cookies
	Respond  *respond.Responder
	Msg      *i18n.Catalog
	Metrics  *metrics.Metrics
	// Nudges decides the rollout's nudge after an email sign-in.
	Nudges  *rolloutpages.Handlers
	Account AccountPage
}

// Handlers serves the email flows.
type Handlers struct {
	signin   *signin.Service
	confirm  *confirm.Service
	change   *change.Service
	visitors *visitor.Cookies
	respond  *respond.Responder
	msg      *i18n.Catalog
	metrics  *metrics.Metrics
	nudges   *rolloutpages.Handlers
	account  AccountPage
}

// New returns the email flows' handlers.
func New(o Options) *Handlers {
	return &Handlers{signin: o.Signin, confirm: o.Confirm, change: o.Change, visitors: o.Visitors, respond: o.Respond,
		msg: o.Msg, metrics: o.Metrics, nudges: o.Nudges, account: o.Account}
}
