package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
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

// renderError shows err on a page of its own.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.observeError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	s.render(w, r, Status(e.Code), "error", pageData{Title: s.msg.T("errorpage.title"), FormError: s.message(e)})
}

// formFailed re-renders a form with err beside the field it concerns.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, page string, d pageData, err error) {
	e := s.observeError(r, err)
	if e.Code == account.EInternal {
		s.renderError(w, r, err)
		return
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	d.Errors = map[string]string{}
	if e.Field != "" {
		d.Errors[e.Field] = s.message(e)
	} else {
		d.FormError = s.message(e)
	}
	s.render(w, r, Status(e.Code), page, d)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err == nil {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signup", pageData{Title: s.msg.T("signup.title")})
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: s.msg.T("signup.title")}
	if err := parseForm(w, r); err != nil {
		s.formFailed(w, r, "signup", d, err)
		return
	}
	d.Email = r.PostFormValue("email")
	res, err := s.passwords.Signup(r.Context(), d.Email, r.PostFormValue("password"), s.client(r))
	if err != nil {
		s.formFailed(w, r, "signup", d, err)
		return
	}
	s.setSession(w, r, res)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", pageData{Title: s.msg.T("signin.title"), Remembered: s.readRemember(r)})
}

// forgetForm is POST /signin/forget, "Not you?": the browser forgets who
// signed in on it last, and /signin is the usual page again.
func (s *Server) forgetForm(w http.ResponseWriter, r *http.Request) {
	s.forgetRemember(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// rememberedAs returns the remembered member when email is their address,
// so that a refused sign-in keeps greeting them; else nil.
func (s *Server) rememberedAs(r *http.Request, email string) *remembered {
	m := s.readRemember(r)
	if m == nil {
		return nil
	}
	_, typed, err := account.NormalizeEmail(email)
	_, known, _ := account.NormalizeEmail(m.Email)
	if err != nil || typed != known {
		return nil
	}
	return m
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: s.msg.T("signin.title")}
	if err := parseForm(w, r); err != nil {
		s.formFailed(w, r, "signin", d, err)
		return
	}
	d.Email = r.PostFormValue("email")
	d.Remembered = s.rememberedAs(r, d.Email)
	res, err := s.passwords.SigninPassword(r.Context(), d.Email, r.PostFormValue("password"), s.client(r))
	s.countSignin(account.MethodPassword, err)
	if err != nil {
		s.formFailed(w, r, "signin", d, err)
		return
	}
	s.setSession(w, r, res)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) signoutForm(w http.ResponseWriter, r *http.Request) {
	if sw, err := s.authenticate(r); err == nil {
		if err := s.sessions.Signout(r.Context(), &sw.Session, s.client(r)); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// passkeyNotices are the confirmations the account page shows after a
// passkey ceremony in the page (?passkey=…); anything else shows none.
var passkeyNotices = map[string]string{"added": "passkeys.added_notice", "used": "passkeys.used_notice"}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	d := pageData{}
	if key, ok := passkeyNotices[r.URL.Query().Get("passkey")]; ok {
		d.Notice = s.msg.T(key)
	}
	if r.URL.Query().Get("email") == "verification_sent" && !sw.User.EmailVerified {
		d.EmailNotice = s.msg.T("account.verification_sent", sw.User.Email)
	}
	d.Cleared = s.clearedNotice(r, sw)
	s.renderAccount(w, r, http.StatusOK, sw, d)
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
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, sw *account.SessionWithUser, d pageData) {
	sessions, err := s.sessions.List(r.Context(), sw.User.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	passkeys, err := s.passkeys.List(r.Context(), sw.User.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.RecoveryLeft, err = s.recovery.Left(r.Context(), sw.User.ID); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Title, d.User, d.Session, d.Sessions, d.Passkeys = s.msg.T("account.title"), &sw.User, &sw.Session, sessions, passkeys
	s.render(w, r, status, "account", d)
}

// renamePasskeyForm is the rename form of a passkey, without JavaScript.
func (s *Server) renamePasskeyForm(w http.ResponseWriter, r *http.Request) {
	s.passkeyForm(w, r, func(sw *account.SessionWithUser, id string) error {
		_, err := s.passkeys.Rename(r.Context(), sw.User.ID, id, r.PostFormValue("name"), s.client(r))
		return err
	})
}

// deletePasskeyForm is the remove form of a passkey, without JavaScript;
// like the API, it needs a recent sign-in.
func (s *Server) deletePasskeyForm(w http.ResponseWriter, r *http.Request) {
	s.passkeyForm(w, r, func(sw *account.SessionWithUser, id string) error {
		return s.passkeys.Delete(r.Context(), sw, id, s.client(r))
	})
}

// passkeyForm runs a form post about the passkey in the path, then sends
// the member back to their passkeys; a refusal is shown beside that
// passkey's forms.
func (s *Server) passkeyForm(w http.ResponseWriter, r *http.Request, act func(sw *account.SessionWithUser, id string) error) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	id := r.PathValue("id")
	err = parseForm(w, r)
	if err == nil {
		err = act(sw, id)
	}
	if err == nil || account.IsCode(err, account.ENotFound) {
		// Gone already (another tab, another device): the list shows it.
		http.Redirect(w, r, "/account#passkeys", http.StatusSeeOther)
		return
	}
	e := s.observeError(r, err)
	if e.Code == account.EInternal {
		s.renderError(w, r, err)
		return
	}
	s.renderAccount(w, r, Status(e.Code), sw, pageData{PasskeyError: &passkeyError{ID: id, Message: s.message(e)}})
}

// toSignin sends a visitor without a session to the sign-in page.
func (s *Server) toSignin(w http.ResponseWriter, r *http.Request, err error) {
	if !account.IsCode(err, account.EUnauthenticated) {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) revokeSessionForm(w http.ResponseWriter, r *http.Request) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := s.sessions.Revoke(r.Context(), sw.User.ID, id, s.client(r)); err != nil && !account.IsCode(err, account.ENotFound) {
		s.renderError(w, r, err)
		return
	}
	if id == sw.Session.ID {
		s.clearSession(w)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) revokeAllForm(w http.ResponseWriter, r *http.Request) {
	sw, err := s.authenticate(r)
	if err != nil {
		s.toSignin(w, r, err)
		return
	}
	if _, err := s.members.RevokeAllSessions(r.Context(), sw.User.ID, s.client(r)); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.clearSession(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
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
