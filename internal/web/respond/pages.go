package respond

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
)

// Render writes a page. Pages with account data are never cached.
func (o *Responder) Render(w http.ResponseWriter, r *http.Request, status int, name string, d page.Data) {
	d.SignupClosed = o.signupClosed
	body, err := o.pages.Render(name, d)
	if err != nil {
		o.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// RenderEmail writes an email page, as Render does. The page's URL may hold
// a token from a mailed link: no referrer leaves it.
func (o *Responder) RenderEmail(w http.ResponseWriter, r *http.Request, status int, name string, d page.Data) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	o.Render(w, r, status, name, d)
}

// RenderError shows err on a page of its own.
func (o *Responder) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	e := o.Observe(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	o.Render(w, r, Status(e.Code), "error", page.Data{Title: o.msg.T("errorpage.title"), FormError: o.Message(e)})
}

// NotFound is the page for a path keyshift does not serve.
func (o *Responder) NotFound(w http.ResponseWriter, r *http.Request) {
	o.Observe(r, &account.Error{Code: account.ENotFound, Detail: "no such page"})
	o.Render(w, r, http.StatusNotFound, "notfound", page.Data{Title: o.msg.T("notfound.title")})
}

// Form adapts a page or form handler. It is the one way a page answers a
// refusal: a visitor without a session (ErrSigninFirst) goes to /signin; a
// refusal the handler placed on a page of its own (ShownOn and the helpers
// over it) comes back on that page with the status of its code, the
// person's words in place and Retry-After when there is one; anything else,
// and anything internal, is the error page. Each refusal is logged and
// counted once (Observe), a missing session not at all.
func (o *Responder) Form(h Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			o.formError(w, r, err)
		}
	})
}

func (o *Responder) formError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrSigninFirst) {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	p, placed := errors.AsType[*placedError](err)
	if !placed || coded(err).Code == account.EInternal {
		o.RenderError(w, r, err)
		return
	}
	e := o.Observe(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	p.show(w, r, Status(e.Code), e.Field, o.Message(e))
}

// ErrSigninFirst is a page that needs a session, asked for without one.
var ErrSigninFirst = errors.New("no session: sign in first")

// ShowFunc writes a page with a refusal in place: status, the field it
// concerns ("" for none) and the words a person reads.
type ShowFunc func(w http.ResponseWriter, r *http.Request, status int, field, message string)

// placedError is a refusal its handler shows on a page of its own.
type placedError struct {
	err  error
	show ShowFunc
}

func (p *placedError) Error() string { return p.err.Error() }
func (p *placedError) Unwrap() error { return p.err }

// ShownOn returns err, unless nil, to be shown by show.
func ShownOn(err error, show ShowFunc) error {
	if err == nil {
		return nil
	}
	return &placedError{err: err, show: show}
}

// RefusedOn shows a refused form again on page with d: the words beside
// the field they concern, or atop the form.
func (o *Responder) RefusedOn(err error, page string, d page.Data) error {
	return ShownOn(err, func(w http.ResponseWriter, r *http.Request, status int, field, message string) {
		d.Place(field, message)
		o.Render(w, r, status, page, d)
	})
}

// RefusedOnEmailPage shows a refusal atop an email page with d, whatever
// field it concerns (RenderEmail).
func (o *Responder) RefusedOnEmailPage(err error, page string, d page.Data) error {
	return ShownOn(err, func(w http.ResponseWriter, r *http.Request, status int, _, message string) {
		d.FormError = message
		o.RenderEmail(w, r, status, page, d)
	})
}
