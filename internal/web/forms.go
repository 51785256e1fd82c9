package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
)

// formFunc is a page or form handler: like apiFunc, it returns an error and
// the adapter answers it.
type formFunc func(w http.ResponseWriter, r *http.Request) error

// form adapts a page or form handler. It is the one way a page answers a
// refusal: a visitor without a session (errSigninFirst) goes to /signin; a
// refusal the handler placed on a page of its own (shownOn and the helpers
// over it) comes back on that page with the status of its code, the
// person's words in place and Retry-After when there is one; anything else,
// and anything internal, is the error page. Each refusal is logged and
// counted once (observeError), a missing session not at all.
func (s *Server) form(h formFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.formError(w, r, err)
		}
	})
}

func (s *Server) formError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errSigninFirst) {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	p, placed := errors.AsType[*placedError](err)
	if !placed || coded(err).Code == account.EInternal {
		s.renderError(w, r, err)
		return
	}
	e := s.observeError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	p.show(w, r, Status(e.Code), e.Field, s.message(e))
}

// errSigninFirst is a page that needs a session, asked for without one.
var errSigninFirst = errors.New("no session: sign in first")

// pageSession returns the session of a page's request; without one, the
// adapter sends the visitor to /signin.
func (s *Server) pageSession(r *http.Request) (*account.SessionWithUser, error) {
	sw, err := s.authenticate(r)
	if account.IsCode(err, account.EUnauthenticated) {
		return nil, errSigninFirst
	}
	return sw, err
}

// placedError is a refusal its handler shows on a page of its own.
type placedError struct {
	err error
	// show writes the page with the refusal in place: status, the field
	// it concerns ("" for none) and the words a person reads.
	show func(w http.ResponseWriter, r *http.Request, status int, field, message string)
}

func (p *placedError) Error() string { return p.err.Error() }
func (p *placedError) Unwrap() error { return p.err }

// shownOn returns err, unless nil, to be shown by show.
func shownOn(err error, show func(w http.ResponseWriter, r *http.Request, status int, field, message string)) error {
	if err == nil {
		return nil
	}
	return &placedError{err: err, show: show}
}

// refusedOn shows a refused form again on page with d: the words beside
// the field they concern, or atop the form.
func (s *Server) refusedOn(err error, page string, d page.Data) error {
	return shownOn(err, func(w http.ResponseWriter, r *http.Request, status int, field, message string) {
		d.Place(field, message)
		s.render(w, r, status, page, d)
	})
}

// refusedOnEmailPage shows a refusal atop an email page with d, whatever
// field it concerns (renderEmail).
func (s *Server) refusedOnEmailPage(err error, page string, d page.Data) error {
	return shownOn(err, func(w http.ResponseWriter, r *http.Request, status int, _, message string) {
		d.FormError = message
		s.renderEmail(w, r, status, page, d)
	})
}

// refusedOnAccount shows a refusal on the account page of sw's member, put
// in d by put.
func (s *Server) refusedOnAccount(err error, sw *account.SessionWithUser, d page.Data, put func(d *page.Data, field, message string)) error {
	return shownOn(err, func(w http.ResponseWriter, r *http.Request, status int, field, message string) {
		put(&d, field, message)
		if err := s.renderAccount(w, r, status, sw, d); err != nil {
			s.renderError(w, r, err)
		}
	})
}
