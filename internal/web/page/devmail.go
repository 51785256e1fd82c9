package page

import (
	_ "embed"
	"html/template"
	"io"

	"github.com/keyshift/keyshift/internal/email/outbox"
)

//go:embed devmail.html
var devMailHTML string

// The dev mailer's page stands alone, without the layout. It shows the
// plain-text body only: the HTML part would need its own sandbox, and the
// text holds every link and code.
var devMailPage = template.Must(template.New("devmail").Parse(devMailHTML))

// DevMail writes the dev mailer's page: the mails, newest first, opened.
func DevMail(w io.Writer, mails []outbox.Mail) error {
	return devMailPage.Execute(w, mails)
}
