package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
	"github.com/keyshift/keyshift/internal/web/visitor"
)

// signinAnswer is the API's sign-in (or, when signup, sign-up) answer for
// res: "next" is "enroll_passkey" when the rollout nudges this session
// (rollout.Service.Nudge, which also records the impression). The session
// stands already, so a failure to decide the nudge only drops it: it is
// logged, and the member is signed in without being nudged.
func (s *Server) signinAnswer(r *http.Request, res *account.SigninResult, signup bool) apijson.Signin {
	return apijson.NewSignin(res.User, s.nudged(r, res, signup))
}

// nudged reports whether the rollout nudges the session res just started
// (see signinAnswer).
func (s *Server) nudged(r *http.Request, res *account.SigninResult, signup bool) bool {
	ok, err := s.rollout.Nudge(r.Context(), res, signup, s.visitors.Client(r))
	if err != nil {
		s.log.WarnContext(r.Context(), "deciding the enrollment nudge", "user", res.User.ID, "err", err)
		return false
	}
	return ok
}

// nudgeBody is POST /api/nudge.
type nudgeBody struct {
	Action string `json:"action"`
}

// answerNudge is POST /api/nudge {"action": "later"|"never"|"ask_again"}:
// 204, or 403 not_in_rollout for a member the rollout does not let add a
// passkey.
func (s *Server) answerNudge(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	var body nudgeBody
	if err := request.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.rollout.AnswerNudge(r.Context(), &sw.User, body.Action, s.visitors.Client(r)); err != nil {
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

// getPreferences is GET /api/account/preferences.
func (s *Server) getPreferences(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
	if err != nil {
		return err
	}
	a, err := s.rollout.Answers(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, newPreferences(a))
	return nil
}

// putPreferences is PUT /api/account/preferences: either field, or both;
// refusals as rollout.Service.SetPreferences says.
func (s *Server) putPreferences(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.Authenticate(r)
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
	a, err := s.rollout.SetPreferences(r.Context(), sw, body, s.visitors.Client(r))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, newPreferences(a))
	return nil
}

// welcomePath is the nudge's page.
const welcomePath = "/welcome/passkey"

// afterPageSignin is where a page's sign-in (or sign-up) res goes: the
// nudge's page when the rollout nudges this session, which then continues
// to to; else to itself.
func (s *Server) afterPageSignin(r *http.Request, res *account.SigninResult, signup bool, to string) string {
	if !s.nudged(r, res, signup) {
		return to
	}
	return welcomeThen(to)
}

// welcomeThen is the nudge's page going on to to.
func welcomeThen(to string) string {
	if to == "/account" {
		return welcomePath
	}
	return welcomePath + "?next=" + url.QueryEscape(to)
}

// welcomeNext is where the nudge's page continues: the account page, the
// account page with what afterPageSignin passed on (?cleared=…), or a
// return address the policy allows (/signin?return_to=, checked again
// here) — never anywhere else, so the parameter opens no redirect.
func (s *Server) welcomeNext(r *http.Request) string {
	next := r.FormValue("next")
	if strings.HasPrefix(next, "/account?") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return visitor.OrAccount(s.visitors.CheckReturn(next))
}

// welcomePage is GET /welcome/passkey, the nudge: "Create a passkey",
// "Not now", "Don't ask again". A member who has a passkey, or whom the
// rollout does not let add one, goes on to their account. The page's
// script skips it in a browser without WebAuthn; without JavaScript the
// two answers still post.
func (s *Server) welcomePage(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	next := s.welcomeNext(r)
	if sw.User.PasskeyCount > 0 || s.rollout.CanAddPasskey(r.Context(), &sw.User) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	// Right after a passkey-first sign-up the page asks for the passkey at
	// once (its script presses "Create a passkey").
	autostart := r.URL.Query().Get("signup") == "1"
	s.respond.Render(w, r, http.StatusOK, "welcome", page.Data{Title: s.msg.T("welcome.title"), User: &sw.User, Next: next, Autostart: autostart})
	return nil
}

// welcomeForm is POST /welcome/passkey: "Not now" (action=later) or
// "Don't ask again" (action=never), then on to the account. A member the
// rollout has left meanwhile has nothing to answer and goes on too.
func (s *Server) welcomeForm(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
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
	if err := s.rollout.AnswerNudge(r.Context(), &sw.User, action, s.visitors.Client(r)); err != nil && !account.IsCode(err, account.ENotInRollout) {
		return err
	}
	http.Redirect(w, r, s.welcomeNext(r), http.StatusSeeOther)
	return nil
}

// preferencesForm is POST /account/preferences: "Try passkeys"
// (passkeyBeta=1|0) and "Go passwordless" (passwordless=1|0) from the
// account page; refusals show in its rollout section.
func (s *Server) preferencesForm(w http.ResponseWriter, r *http.Request) error {
	return s.accountForm(w, r, "rollout", func(sw *account.SessionWithUser, d *page.Data) error {
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
		a, err := s.rollout.SetPreferences(r.Context(), sw, p, s.visitors.Client(r))
		if err != nil {
			return err
		}
		switch {
		case p.PasskeyBeta != nil && a.Beta:
			d.Notice = s.msg.T("rollout.beta_on_notice")
		case p.PasskeyBeta != nil:
			d.Notice = s.msg.T("rollout.beta_off_notice")
		case a.Passwordless:
			d.Notice = s.msg.T("rollout.passwordless_on_notice")
		default:
			d.Notice = s.msg.T("rollout.passwordless_off_notice")
		}
		return nil
	})
}

// nudgeForm is POST /account/nudge: "Ask me again" (action=ask_again)
// undoes "Don't ask again".
func (s *Server) nudgeForm(w http.ResponseWriter, r *http.Request) error {
	return s.accountForm(w, r, "", func(sw *account.SessionWithUser, d *page.Data) error {
		if err := s.rollout.AnswerNudge(r.Context(), &sw.User, r.PostFormValue("action"), s.visitors.Client(r)); err != nil {
			return err
		}
		d.Notice = s.msg.T("rollout.ask_again_notice")
		return nil
	})
}

// rolloutOffer is what the account page shows of the rollout to sw's
// member.
func (s *Server) rolloutOffer(r *http.Request, u *account.User) (*page.RolloutOffer, error) {
	o, a, err := s.rollout.For(r.Context(), u)
	if err != nil {
		return nil, err
	}
	v := &page.RolloutOffer{AddPasskey: o.AddPasskey, BetaToggle: o.BetaToggle, BetaOn: a.Beta,
		Passwordless: o.Passwordless || a.Passwordless, PasswordlessOn: a.Passwordless,
		AskAgain: a.Nudge.Never && o.AddPasskey && u.PasskeyCount == 0}
	if v.Passwordless && !a.Passwordless {
		why, err := s.rollout.PasswordlessBlocker(r.Context(), u.ID)
		if err != nil {
			return nil, err
		}
		if why != nil {
			v.NotReady = s.msg.T("error.not_ready." + why.Reason)
		}
	}
	return v, nil
}
