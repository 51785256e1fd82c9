package outbox

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	"sync"
	texttemplate "text/template"
)

// Every mail keyshift sends is rendered from templates/: NAME.txt (the
// subject in a {{define "subject"}} block, then the plain-text body) and
// NAME.html (a {{define "content"}} block placed in layout.html). Edit them
// there and nowhere else.
//
//go:embed templates
var templateFS embed.FS

type tmpl struct {
	text *texttemplate.Template
	html *htmltemplate.Template // nil when there is no NAME.html
}

var templates = sync.OnceValues(func() (map[string]tmpl, error) {
	names, err := fs.Glob(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	out := map[string]tmpl{}
	for _, p := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".txt")
		t := tmpl{}
		if t.text, err = texttemplate.New(name+".txt").Option("missingkey=error").ParseFS(templateFS, p); err != nil {
			return nil, err
		}
		if t.text.Lookup("subject") == nil {
			return nil, fmt.Errorf("mail template %s.txt has no subject block", name)
		}
		if _, err := fs.Stat(templateFS, "templates/"+name+".html"); err == nil {
			if t.html, err = htmltemplate.New("layout.html").Option("missingkey=error").ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"); err != nil {
				return nil, err
			}
		}
		out[name] = t
	}
	return out, nil
})

// Render builds the mail name for to from its templates. data is what the
// templates see as "."; site names the sender in the HTML footer.
func Render(name, kind, to, site string, data any) (Message, error) {
	all, err := templates()
	if err != nil {
		return Message{}, err
	}
	t, ok := all[name]
	if !ok {
		return Message{}, fmt.Errorf("mail: no template %q", name)
	}
	var subject, body bytes.Buffer
	if err := t.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail template %s: %w", name, err)
	}
	if err := t.text.Execute(&body, data); err != nil {
		return Message{}, fmt.Errorf("mail template %s: %w", name, err)
	}
	msg := Message{To: to, Kind: kind, Subject: strings.TrimSpace(subject.String()), Text: strings.TrimLeft(body.String(), "\n")}
	if t.html != nil {
		var h bytes.Buffer
		if err := t.html.Execute(&h, map[string]any{"Subject": msg.Subject, "Site": site, "Data": data}); err != nil {
			return Message{}, fmt.Errorf("mail template %s.html: %w", name, err)
		}
		msg.HTML = h.String()
	}
	return msg, nil
}
