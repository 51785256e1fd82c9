// Package rolloutpages is what members see of the staged rollout: the
// nudge after a sign-in (the sign-in answer's "next", the /welcome/passkey
// page), its answers, the member's own opt-ins (passkey beta, going
// passwordless) by API and on the account page, and the account page's
// rollout section.
package rolloutpages

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// AccountPage is the account page, where the rollout's forms answer.
type AccountPage interface {
	// Form runs a form of the page's section for the signed-in member and
	// shows the page again, with the notice act put in d or the refusal.
	Form(w http.ResponseWriter, r *http.Request, section string, act func(sw *account.SessionWithUser, d *page.Data) error) error
}

// Handlers serves the rollout's pages and member API.
type Handlers struct {
	rollout  *rollout.Service
	visitors *visitor.Cookies
	respond  *respond.Responder
	msg      *i18n.Catalog
	log      *slog.Logger
	account  AccountPage
}

// New returns the rollout's handlers over ro, answering with out in msg's
// words; their forms show on acct.
func New(ro *rollout.Service, visitors *visitor.Cookies, out *respond.Responder, msg *i18n.Catalog, log *slog.Logger, acct AccountPage) *Handlers {
	return &Handlers{rollout: ro, visitors: visitors, respond: out, msg: msg, log: log, account: acct}
}

// SigninAnswer is the API's sign-in (or, when signup, sign-up) answer for
// res: "next" is "enroll_passkey" when the rollout nudges this session
// (rollout.Service.Nudge, which also records the impression). The session
// stands already, so a failure to decide the nudge only drops it: it is
// logged, and the member is signed in without being Nudged.
func (h *Handlers) SigninAnswer(r *http.Request, res *account.SigninResult, signup bool) apijson.Signin {
	return apijson.NewSignin(res.User, h.Nudged(r, res, signup))
}

// Nudged reports whether the rollout nudges the session res just started
// (see SigninAnswer).
func (h *Handlers) Nudged(r *http.Request, res *account.SigninResult, signup bool) bool {
	ok, err := h.rollout.Nudge(r.Context(), res, signup, h.visitors.Client(r))
	if err != nil {
		h.log.WarnContext(r.Context(), "deciding the enrollment nudge", "user", res.User.ID, "err", err)
		return false
	}
	return ok
}

// nudgeBody is POST /api/nudge.
type nudgeBody struct {
	Action string `json:"action"`
}

// AnswerNudge is POST /api/nudge {"action": "later"|"never"|"ask_again"}:
// 204, or 403 not_in_rollout for a member the rollout does not let add a
// passkey.
func (h *Handlers) AnswerNudge(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body nudgeBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := h.rollout.AnswerNudge(r.Context(), &sw.User, body.Action, h.visitors.Client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// preferencesJSON is GET/PUT /api/account/preferences's answer.
type preferencesJSON struct {
	PasskeyBeta  bool `json:"passkeyBeta"`
	Passwordless bool `json:"passwordless"`
}

func newPreferences(a rollout.Answers) preferencesJSON {
	return preferencesJSON{PasskeyBeta: a.Beta, Passwordless: a.Passwordless}
}

// GetPreferences is GET /api/account/preferences.
func (h *Handlers) GetPreferences(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	a, err := h.rollout.Answers(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, newPreferences(a))
	return nil
}

// PutPreferences is PUT /api/account/preferences: either field, or both;
// refusals as rollout.Service.SetPreferences says.
func (h *Handlers) PutPreferences(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body rollout.Preferences
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.PasskeyBeta == nil && body.Passwordless == nil {
		return request.BadRequest(`send "passkeyBeta", "passwordless" or both`)
	}
	a, err := h.rollout.SetPreferences(r.Context(), sw, body, h.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, newPreferences(a))
	return nil
}

// WelcomePath is the nudge's page.
const WelcomePath = "/welcome/passkey"

// AfterPageSignin is where a page's sign-in (or sign-up) res goes: the
// nudge's page when the rollout nudges this session, which then continues
// to to; else to itself.
func (h *Handlers) AfterPageSignin(r *http.Request, res *account.SigninResult, signup bool, to string) string {
	if !h.Nudged(r, res, signup) {
		return to
	}
	return WelcomeThen(to)
}

// WelcomeThen is the nudge's page going on to to.
func WelcomeThen(to string) string {
	if to == "/account" {
		return WelcomePath
	}
	return WelcomePath + "?next=" + url.QueryEscape(to)
}

// welcomeNext is where the nudge's page continues: the account page, the
// account page with what AfterPageSignin passed on (?cleared=…), or a
// return address the policy allows (/signin?return_to=, checked again
// here) — never anywhere else, so the parameter opens no redirect.
func (h *Handlers) welcomeNext(r *http.Request) string {
	next := r.FormValue("next")
	if strings.HasPrefix(next, "/account?") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return visitor.OrAccount(h.visitors.CheckReturn(next))
}

// WelcomePage is GET /welcome/passkey, the nudge: "Create a passkey",
// "Not now", "Don't ask again". A member who has a passkey, or whom the
// rollout does not let add one, goes on to their account. The page's
// script skips it in a browser without WebAuthn; without JavaScript the
// two answers still post.
func (h *Handlers) WelcomePage(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.PageSession(r)
	if err != nil {
		return err
	}
	next := h.welcomeNext(r)
	if sw.User.PasskeyCount > 0 || h.rollout.CanAddPasskey(r.Context(), &sw.User) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	// Right after a passkey-first sign-up the page asks for the passkey at
	// once (its script presses "Create a passkey").
	autostart := r.URL.Query().Get("signup") == "1"
	h.respond.Render(w, r, http.StatusOK, "welcome", page.Data{Title: h.msg.T("welcome.title"), User: &sw.User, Next: next, Autostart: autostart})
	return nil
}

// WelcomeForm is POST /welcome/passkey: "Not now" (action=later) or
// "Don't ask again" (action=never), then on to the account. A member the
// rollout has left meanwhile has nothing to answer and goes on too.
func (h *Handlers) WelcomeForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := h.visitors.PageSession(r)
	if err != nil {
		return err
	}
	if err := request.ParseForm(w, r); err != nil {
		return err
	}
	action := r.PostFormValue("action")
	if action != rollout.NudgeLater && action != rollout.NudgeNever {
		return request.BadRequest(`action must be "later" or "never"`)
	}
	if err := h.rollout.AnswerNudge(r.Context(), &sw.User, action, h.visitors.Client(r)); err != nil && !account.IsCode(err, account.ENotInRollout) {
		return err
	}
	http.Redirect(w, r, h.welcomeNext(r), http.StatusSeeOther)
	return nil
}

// PreferencesForm is POST /account/preferences: "Try passkeys"
// (passkeyBeta=1|0) and "Go passwordless" (passwordless=1|0) from the
// account page; refusals show in its rollout section.
func (h *Handlers) PreferencesForm(w http.ResponseWriter, r *http.Request) error {
	return h.account.Form(w, r, "rollout", func(sw *account.SessionWithUser, d *page.Data) error {
		var p rollout.Preferences
		for name, field := range map[string]**bool{"passkeyBeta": &p.PasskeyBeta, "passwordless": &p.Passwordless} {
			switch r.PostFormValue(name) {
			case "1":
				*field = new(true)
			case "0":
				*field = new(false)
			case "":
			default:
				return &account.Error{Code: account.EInvalidRequest, Field: name, Detail: name + " must be 1 or 0"}
			}
		}
		if p.PasskeyBeta == nil && p.Passwordless == nil {
			return request.BadRequest("nothing to change")
		}
		a, err := h.rollout.SetPreferences(r.Context(), sw, p, h.visitors.Client(r))
		if err != nil {
			return err
		}
		switch {
		case p.PasskeyBeta != nil && a.Beta:
			d.Notice = h.msg.T("rollout.beta_on_notice")
		case p.PasskeyBeta != nil:
			d.Notice = h.msg.T("rollout.beta_off_notice")
		case a.Passwordless:
			d.Notice = h.msg.T("rollout.passwordless_on_notice")
		default:
			d.Notice = h.msg.T("rollout.passwordless_off_notice")
		}
		return nil
	})
}

// NudgeForm is POST /account/nudge: "Ask me again" (action=ask_again)
// undoes "Don't ask again".
func (h *Handlers) NudgeForm(w http.ResponseWriter, r *http.Request) error {
	return h.account.Form(w, r, "", func(sw *account.SessionWithUser, d *page.Data) error {
		if err := h.rollout.AnswerNudge(r.Context(), &sw.User, r.PostFormValue("action"), h.visitors.Client(r)); err != nil {
			return err
		}
		d.Notice = h.msg.T("rollout.ask_again_notice")
		return nil
	})
}

// Offer is what the account page shows of the rollout to sw's
// member.
func (h *Handlers) Offer(r *http.Request, u *account.User) (*page.RolloutOffer, error) {
	o, a, err := h.rollout.For(r.Context(), u)
	if err != nil {
		return nil, err
	}
	v := &page.RolloutOffer{AddPasskey: o.AddPasskey, BetaToggle: o.BetaToggle, BetaOn: a.Beta,
		Passwordless: o.Passwordless || a.Passwordless, PasswordlessOn: a.Passwordless,
		AskAgain: a.Nudge.Never && o.AddPasskey && u.PasskeyCount == 0}
	if v.Passwordless && !a.Passwordless {
		why, err := h.rollout.PasswordlessBlocker(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		if why != nil {
			v.NotReady = h.msg.T("error.not_ready." + why.Reason)
		}
	}
	return v, nil
}
