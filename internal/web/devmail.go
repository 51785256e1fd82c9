package web

import (
	"context"
	"net/http"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox"
	"github.com/keyshift/keyshift/internal/web/page"
)

// DevMail lists the newest mails in the outbox, for the dev mailer page.
type DevMail interface {
	Recent(ctx context.Context, n int) ([]outbox.Mail, error)
}

// devMailShown is how many mails /dev/mail lists.
const devMailShown = 50

// devMailAllowed reports whether /dev/mail may be served: only with the dev
// mailer, which runs in dev mode (dev: true, set explicitly) without SMTP,
// because the page shows every sign-in link keyshift mails. A loopback
// origin alone is not enough (docs/security.md, T6): DNS rebinding reached it from any
// web page, and with SMTP configured the page showed real members' links.
func (s *Server) devMailAllowed() bool {
	return s.mail != nil && s.cfg.MailTransport() == config.MailDev
}

// devMail is GET /dev/mail: the mails the outbox holds, opened, newest
// first. In dev mode without SMTP they were "delivered" to the dev mailer and
// this is where to read them.
func (s *Server) devMail(w http.ResponseWriter, r *http.Request) {
	if !s.devMailAllowed() {
		s.respond.NotFound(w, r)
		return
	}
	mails, err := s.mail.Recent(r.Context(), devMailShown)
	if err != nil {
		s.respond.RenderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := page.DevMail(w, mails); err != nil {
		s.log.Warn("rendering /dev/mail", "err", err)
	}
}
