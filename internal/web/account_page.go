package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
	"github.com/keyshift/keyshift/internal/readiness"
	"github.com/keyshift/keyshift/internal/web/apijson"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// passkeyNotices are the confirmations the account page shows after a
// passkey ceremony in the page (?passkey=…); anything else shows none.
var passkeyNotices = map[string]string{"added": "passkeys.added_notice", "used": "passkeys.used_notice", "saved": "passkeys.saved_notice"}

// accountPage is GET /account: the member's sessions, passkeys, address,
// password and recovery codes.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	d := page.Data{}
	if key, ok := passkeyNotices[r.URL.Query().Get("passkey")]; ok {
		d.Notice = s.msg.T(key)
	}
	if r.URL.Query().Get("email") == "verification_sent" && !sw.User.EmailVerified {
		d.EmailNotice = s.msg.T("account.verification_sent", sw.User.Email)
	}
	d.Cleared = s.clearedNotice(r, sw)
	// Just in by a recovery code: the next steps are a passkey and a new
	// set of codes. From the session itself, so no link can show it.
	if sw.Session.AuthMethod == account.MethodRecoveryCode && s.now().Sub(sw.Session.AuthenticatedAt) <= clearedNoticeFor {
		d.Recovered = true
	}
	return s.renderAccount(w, r, http.StatusOK, sw, d)
}

// clearedNotice returns what ?cleared=… says an email sign-in removed —
// only the words it knows, and only on the page of a member who just
// signed in by email and has neither password nor passkey, as such a
// sign-in leaves them: a link someone else made cannot raise a false
// alarm on an ordinary account page.
func (s *Server) clearedNotice(r *http.Request, sw *account.SessionWithUser) []string {
	q := r.URL.Query().Get("cleared")
	m := sw.Session.AuthMethod
	if q == "" || m != account.MethodEmailLink && m != account.MethodEmailCode || sw.User.HasPassword || sw.User.PasskeyCount > 0 ||
		s.now().Sub(sw.Session.AuthenticatedAt) > clearedNoticeFor {
		return nil
	}
	var out []string
	for _, w := range strings.Split(q, ",") {
		if slices.Contains([]string{"password", "passkeys", "recovery_codes", "sessions"}, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// clearedNoticeFor is how long after the sign-in the account page still
// says what it removed.
const clearedNoticeFor = 10 * time.Minute

// renderAccount shows the account page of sw's member with d's notices.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, sw *account.SessionWithUser, d page.Data) error {
	sessions, err := s.sessions.List(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	passkeys, err := s.passkeys.List(r.Context(), sw.User.ID)
	if err != nil {
		return err
	}
	if d.RecoveryLeft, err = s.recovery.Left(r.Context(), sw.User.ID); err != nil {
		return err
	}
	if d.Rollout, err = s.rolloutPages.Offer(r, &sw.User); err != nil {
		return err
	}
	acc, probations, err := s.passkeys.Standing(r.Context(), sw)
	if err != nil {
		return err
	}
	signals, err := json.Marshal(apijson.NewSignals(acc))
	if err != nil {
		return err
	}
	d.Signals = string(signals)
	// Every sensitive action on the page but adding a passkey counts the
	// same proofs (account.Action.Counts): one figure serves them all.
	if left := sw.FreshAt(account.ActionRemovePasskey).Add(s.cfg.Passkey.ReauthWindow).Sub(s.now()); left > 0 {
		d.FreshFor = int(left / time.Second)
	}
	if sr, err := s.pendingSupport(r, sw.User.ID); err != nil {
		return err
	} else if sr != nil {
		d.SupportRecovery = &page.SupportRecovery{To: sr.To, ReadyAt: sr.ReadyAt}
	}
	for _, p := range probations {
		d.Probations = append(d.Probations, page.Probation{PasskeyID: p.PasskeyID, Name: p.Name, Provider: p.Provider, AddedAt: p.AddedAt, Until: p.Until})
	}
	d.Readiness = readinessOf(&sw.User, passkeys, d.RecoveryLeft)
	// Only a passkey of the member's counts: any other id shows the guide
	// from its start.
	if id := r.URL.Query().Get("moved"); id != "" {
		for i := range passkeys {
			if passkeys[i].ID == id {
				d.Moved = &passkeys[i]
			}
		}
	}
	d.Title, d.User, d.Session, d.Sessions, d.Passkeys = s.msg.T("account.title"), &sw.User, &sw.Session, sessions, passkeys
	s.respond.Render(w, r, status, "account", d)
	return nil
}

// accountForm runs a form of the account page's section (email, password)
// for the signed-in member and shows the page again: with d's notice on
// success, with the refusal beside the field (or atop the section) it
// concerns otherwise. The form's values stay only on refusal.
func (s *Server) accountForm(w http.ResponseWriter, r *http.Request, section string, act func(sw *account.SessionWithUser, d *page.Data) error) error {
	sw, err := s.visitors.PageSession(r)
	if err != nil {
		return err
	}
	d := page.Data{Section: section}
	err = request.ParseForm(w, r)
	if err == nil {
		err = act(sw, &d)
	}
	if err != nil {
		return s.refusedOnAccount(err, sw, d, (*page.Data).Place)
	}
	// The page shows what is stored now (a password set, …).
	if u, ferr := s.members.Find(r.Context(), sw.User.ID); ferr == nil {
		sw.User = *u
	}
	return s.renderAccount(w, r, http.StatusOK, sw, d)
}

// refusedOnAccount shows a refusal on the account page of sw's member, put
// in d by put.
func (s *Server) refusedOnAccount(err error, sw *account.SessionWithUser, d page.Data, put func(d *page.Data, field, message string)) error {
	return respond.ShownOn(err, func(w http.ResponseWriter, r *http.Request, status int, field, message string) {
		put(&d, field, message)
		if err := s.renderAccount(w, r, status, sw, d); err != nil {
			s.respond.RenderError(w, r, err)
		}
	})
}

// accountPage is the account page as the feature packages whose forms show
// on it see it (rolloutpages.AccountPage, email.AccountPage).
type accountPage struct{ s *Server }

// Form is Server.accountForm.
func (a accountPage) Form(w http.ResponseWriter, r *http.Request, section string, act func(sw *account.SessionWithUser, d *page.Data) error) error {
	return a.s.accountForm(w, r, section, act)
}

// RefusedOn is Server.refusedOnAccount.
func (a accountPage) RefusedOn(err error, sw *account.SessionWithUser, d page.Data, put func(d *page.Data, field, message string)) error {
	return a.s.refusedOnAccount(err, sw, d, put)
}

// readinessOf is the account page's checklist for u, holding passkeys and
// codes unused recovery codes: one rule with the nudge and `keyshift audit`
// (readiness.Of, readiness.Next).
func readinessOf(u *account.User, passkeys []passkey.Passkey, codes int) *page.Readiness {
	h := readiness.Holdings{Passkeys: len(passkeys), Password: u.HasPassword, RecoveryCodes: codes}
	for _, p := range passkeys {
		h.Synced = h.Synced || p.BackupEligible
	}
	r := &page.Readiness{Class: string(readiness.Of(h)), Passkey: h.Passkeys > 0, Backup: h.Passkeys >= 2 || h.Synced, Codes: codes}
	for _, st := range readiness.Next(h) {
		r.Steps = append(r.Steps, string(st))
	}
	return r
}
