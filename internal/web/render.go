package web

import (
	"net/http"
	"strconv"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/page"
)

// render writes a page. Pages with account data are never cached.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d page.Data) {
	d.SignupClosed = !s.cfg.Signup.Open
	body, err := s.pages.Render(name, d)
	if err != nil {
		s.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// renderEmail writes an email page, as render does. The page's URL may hold
// a token from a mailed link: no referrer leaves it.
func (s *Server) renderEmail(w http.ResponseWriter, r *http.Request, status int, name string, d page.Data) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, status, name, d)
}

// renderError shows err on a page of its own.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.observeError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	s.render(w, r, Status(e.Code), "error", page.Data{Title: s.msg.T("errorpage.title"), FormError: s.message(e)})
}

func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.observeError(r, &account.Error{Code: account.ENotFound, Detail: "no such page"})
	s.render(w, r, http.StatusNotFound, "notfound", page.Data{Title: s.msg.T("notfound.title")})
}
