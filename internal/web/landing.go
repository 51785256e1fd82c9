package web

import (
	"net/http"
)

// landing is the page a mailed link opens (GET /email/…?token=…). It changes
// nothing — mail scanners follow links — but shows a button that posts the
// token to the same path; like every email page it sends no referrer. A
// refused button shows the same page again, with the refusal and a way back.
// The sign-in link has a page of its own (emailVerifyPage): it also says
// whom it signs in.
type landing struct {
	Path                string // the link's path, where the button posts
	Title, Lead, Button string // catalog keys
	ID                  string // the button's id; its form's is ID + "-form"
	Danger              bool   // the button undoes something
	// Back is the way back after a refusal, and BackWords its catalog key;
	// BackAlways shows it under the button too.
	Back, BackWords string
	BackAlways      bool
	// Hint is said under a refusal (a catalog key, "" for nothing).
	Hint string
	// CleanedUp heads what a refused button removed all the same
	// (pageData.Removed).
	CleanedUp string
}

// The mailed links' landing pages.
var (
	confirmLanding = &landing{Path: "/email/confirm", Title: "confirm.title", Lead: "confirm.lead", Button: "confirm.button",
		ID: "email-confirm", Back: "/account", BackWords: "confirm.account"}
	disownLanding = &landing{Path: "/email/disown", Title: "disown.title", Lead: "disown.lead", Button: "disown.button",
		ID: "email-disown", Danger: true, Back: "/signin", BackWords: "email.back", BackAlways: true}
	changeLanding = &landing{Path: "/email/change", Title: "change.title", Lead: "change.lead", Button: "change.button",
		ID: "email-change-confirm", Back: "/account", BackWords: "confirm.account"}
	revertLanding = &landing{Path: "/email/revert", Title: "revert.title", Lead: "revert.lead", Button: "revert.button",
		ID: "email-revert", Danger: true, Back: "/signin", BackWords: "email.back", CleanedUp: "revert.cleaned_up"}
	cancelLanding = &landing{Path: "/email/cancel", Title: "cancel.title", Lead: "cancel.lead", Button: "cancel.button",
		ID: "email-cancel", Danger: true, Back: "/signin", BackWords: "email.back", Hint: "cancel.too_late"}
)

// landingPage is GET of l's path: the page with the button.
func (s *Server) landingPage(l *landing) formFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s.renderEmail(w, r, http.StatusOK, "email_landing", pageData{Title: s.msg.T(l.Title), Landing: l, Token: r.URL.Query().Get("token")})
		return nil
	}
}

// takeFunc does what a mailed link does with its token, fills in the page
// that says so and returns that page's name.
type takeFunc func(w http.ResponseWriter, r *http.Request, token string, d *pageData) (string, error)

// landingForm is POST of l's path: the button.
func (s *Server) landingForm(l *landing, take takeFunc) formFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		d := pageData{Title: s.msg.T(l.Title), Landing: l}
		if err := parseForm(w, r); err != nil {
			return s.refusedOnEmailPage(err, "email_landing", d)
		}
		page, err := take(w, r, r.PostFormValue("token"), &d)
		if err != nil {
			return s.refusedOnEmailPage(err, "email_landing", d)
		}
		s.renderEmail(w, r, http.StatusOK, page, d)
		return nil
	}
}
