package email

import (
	"net/http"

	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/request"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// LandingPage is GET of l's path, the page a mailed link opens (page.Landing):
// it changes nothing — mail scanners follow links — but shows a button that
// posts the token; like every email page it sends no referrer.
func (h *Handlers) LandingPage(l *page.Landing) respond.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.respond.RenderEmail(w, r, http.StatusOK, "email_landing", page.Data{Title: h.msg.T(l.Title), Landing: l, Token: r.URL.Query().Get("token")})
		return nil
	}
}

// TakeFunc does what a mailed link does with its token, fills in the page
// that says so and returns that page's name.
type TakeFunc func(w http.ResponseWriter, r *http.Request, token string, d *page.Data) (string, error)

// LandingForm is POST of l's path: the button.
func (h *Handlers) LandingForm(l *page.Landing, take TakeFunc) respond.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		d := page.Data{Title: h.msg.T(l.Title), Landing: l}
		if err := request.ParseForm(w, r); err != nil {
			return h.respond.RefusedOnEmailPage(err, "email_landing", d)
		}
		page, err := take(w, r, r.PostFormValue("token"), &d)
		if err != nil {
			return h.respond.RefusedOnEmailPage(err, "email_landing", d)
		}
		h.respond.RenderEmail(w, r, http.StatusOK, page, d)
		return nil
	}
}
