// Package page renders keyshift's HTML pages: the templates (embedded, one
// layout around each page's content), the data every page receives, and the
// static files they load. Package web decides which page to show and writes
// it; the words come from package i18n.
package page

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/web/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Set holds the parsed templates, one set per page so each page's
// "content" block is its own.
type Set struct {
	byName map[string]*template.Template
}

// Load parses every page, with msg's words.
func Load(msg *i18n.Catalog) (*Set, error) {
	funcs := template.FuncMap{
		"t":       msg.T,
		"lang":    func() string { return msg.Lang() },
		"ago":     func(t time.Time) string { return HumanTime(t) },
		"browser": account.BrowserName,
		"percent": Percent,
		"signed":  SignedPercent,
		"ms":      Millis,
		"when":    func(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 Jan 2006 15:04 MST") },
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Set{byName: map[string]*template.Template{}}
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

// Render returns page name with d, whole: nothing is half written when it
// fails.
func (p *Set) Render(name string, d Data) ([]byte, error) {
	t, ok := p.byName[name]
	if !ok {
		return nil, fmt.Errorf("no such page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Static serves the pages' static files under /static/, cached for an hour.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// HumanTime formats a time for a person, in UTC until pages learn the
// member's zone.
func HumanTime(t time.Time) string {
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// Percent writes a ratio (0.1234) as a percentage ("12.3 %").
func Percent(r float64) string { return fmt.Sprintf("%.1f %%", 100*r) }

// SignedPercent writes a change (0.5) as a signed percentage ("+50 %").
func SignedPercent(r float64) string { return fmt.Sprintf("%+.0f %%", 100*r) }

// Millis writes a time in ms, or "–" when none was measured (0).
func Millis(ms int) string {
	if ms == 0 {
		return "–"
	}
	return fmt.Sprintf("%d ms", ms)
}
