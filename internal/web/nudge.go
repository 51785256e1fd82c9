package web

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/web/apijson"
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
	ok, err := s.rollout.Nudge(r.Context(), res, signup, s.client(r))
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
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var body nudgeBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.rollout.AnswerNudge(r.Context(), &sw.User, body.Action, s.client(r)); err != nil {
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
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	a, err := s.rollout.Answers(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newPreferences(a))
	return nil
}

// putPreferences is PUT /api/account/preferences: either field, or both;
// refusals as rollout.Service.SetPreferences says.
func (s *Server) putPreferences(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var body rollout.Preferences
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.PasskeyBeta == nil && body.Passwordless == nil {
		return badRequest(`send "passkeyBeta", "passwordless" or both`)
	}
	a, err := s.rollout.SetPreferences(r.Context(), sw, body, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newPreferences(a))
	return nil
}
