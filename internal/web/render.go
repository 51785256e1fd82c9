package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds the parsed templates, one set per page so each page's
// "content" block is its own.
type pages struct {
	byName map[string]*template.Template
}

func loadPages(msg *catalog) (*pages, error) {
	funcs := template.FuncMap{
		"t":       msg.T,
		"lang":    func() string { return msg.lang },
		"ago":     func(t time.Time) string { return humanTime(t) },
		"browser": account.BrowserName,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		if strings.HasSuffix(n, "/layout.html") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		p.byName[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return p, nil
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// pageData is what every template receives.
type pageData struct {
	Title     string
	Email     string            // the address typed, to refill a form
	Errors    map[string]string // field → message
	FormError string            // an error that concerns no one field
	User      *account.User
	Session   *account.Session
	Sessions  []account.Session
	Passkeys  []passkey.Passkey
	// Notice confirms what just happened, in the section it concerns.
	Notice string
	// EmailNotice and EmailError are the email section's own: a
	// confirmation mail sent again, or why it was not.
	EmailNotice, EmailError string
	// Section is the account-page section ("email", "password") that
	// Notice, FormError and Errors concern; "" for the passkeys.
	Section string
	// PasskeyError is a refused rename or removal, shown in the form of
	// the passkey it concerns.
	PasskeyError *passkeyError
	// Remembered is who last signed in on this browser: /signin greets
	// them and offers their last way of signing in first.
	Remembered *remembered
	// SignupClosed hides sign-up links and the sign-up form (signup.open);
	// render sets it for every page.
	SignupClosed bool
	// RecoveryLeft is how many unused recovery codes the member has;
	// RecoveryCodes is a set just made, shown on this page only.
	RecoveryLeft  int
	RecoveryCodes []string
	// Cleared is what an email sign-in just removed from the account,
	// the first proof of its mailbox (account.Removed.Cleared): the
	// account page says why, and offers a passkey first.
	Cleared []string

	// The email pages'.
	Token  string // a mailed link's token, posted back by the page's button
	FlowID string // the email sign-in the code form finishes
	// Target is the masked address a sign-in link signs in to ("Continue
	// as a…@example.com"); SignedInAs is the masked address of another
	// member signed in on this browser, whose session the link would end.
	Target, SignedInAs string
	// Removed is what a revert or "This wasn't me" removed.
	Removed *account.Removed
	// Landing is the mailed link whose landing page this is (landing.go).
	Landing *landing
}

// Step is the sign-in method /signin offers first: the remembered one, or
// "" for the usual page (passkey, then password, then email).
func (d pageData) Step() string {
	if d.Remembered == nil {
		return ""
	}
	return d.Remembered.Method
}

// passkeyError is a refusal beside one passkey's forms.
type passkeyError struct {
	ID, Message string
}

// render writes a page. Pages with account data are never cached.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("no such page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.SignupClosed = !s.cfg.Signup.Open
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderEmail writes an email page, as render does. The page's URL may hold
// a token from a mailed link: no referrer leaves it.
func (s *Server) renderEmail(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, status, name, d)
}

// renderError shows err on a page of its own.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.observeError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	s.render(w, r, Status(e.Code), "error", pageData{Title: s.msg.T("errorpage.title"), FormError: s.message(e)})
}

func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.observeError(r, &account.Error{Code: account.ENotFound, Detail: "no such page"})
	s.render(w, r, http.StatusNotFound, "notfound", pageData{Title: s.msg.T("notfound.title")})
}

// humanTime formats a time for a person, in UTC until pages learn the
// member's zone.
func humanTime(t time.Time) string {
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}
