package page

import (
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/web/i18n"
)

func load(t *testing.T) *Set {
	t.Helper()
	msg, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(msg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderRefusesAnUnknownPage(t *testing.T) {
	if b, err := load(t).Render("no_such_page", Data{}); err == nil || b != nil {
		t.Errorf("Render(no_such_page) = %d bytes, %v; want an error and nothing", len(b), err)
	}
}

// TestEveryLandingPostsItsTokenToItsPath: each mailed link's page is the
// one template, with its own words, button and form, and the token escaped.
func TestEveryLandingPostsItsTokenToItsPath(t *testing.T) {
	p := load(t)
	for _, l := range []*Landing{ConfirmLanding, DisownLanding, ChangeLanding, RevertLanding, CancelLanding} {
		t.Run(l.Path, func(t *testing.T) {
			b, err := p.Render("email_landing", Data{Title: "t", Landing: l, Token: `a"b<c`})
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			for _, want := range []string{
				`action="` + l.Path + `" id="` + l.ID + `-form"`,
				`id="` + l.ID + `"`,
				`value="a&#34;b&lt;c"`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %s:\n%s", want, page)
				}
			}
			if strings.Contains(page, l.Title) || strings.Contains(page, l.Button) {
				t.Errorf("page shows a catalog key instead of its words:\n%s", page)
			}
			refused, err := p.Render("email_landing", Data{Title: "t", Landing: l, FormError: "That link has expired."})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(refused), "That link has expired.") || !strings.Contains(string(refused), `href="`+l.Back+`"`) ||
				strings.Contains(string(refused), "<form") {
				t.Errorf("refused page:\n%s", refused)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	var d Data
	d.Place("email", "Enter your email address.")
	if d.Errors["email"] != "Enter your email address." || d.FormError != "" {
		t.Errorf("a field's refusal: %+v", d)
	}
	d = Data{}
	d.Place("", "Too many attempts.")
	if d.FormError != "Too many attempts." || len(d.Errors) != 0 || d.Errors == nil {
		t.Errorf("a form's refusal: %+v", d)
	}
}

func TestStepAndHumanTime(t *testing.T) {
	if (Data{}).Step() != "" || (Data{Remembered: &Remembered{Method: "passkey"}}).Step() != "passkey" {
		t.Error("Step does not follow the remembered method")
	}
	at := time.Date(2026, 12, 5, 14, 3, 0, 0, time.FixedZone("CET", 3600))
	if got := HumanTime(at); got != "5 Dec 2026, 13:03 UTC" {
		t.Errorf("HumanTime = %q", got)
	}
}
