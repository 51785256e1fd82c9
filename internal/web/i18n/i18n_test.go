package i18n

import (
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	c, err := Load("en")
	if err != nil {
		t.Fatal(err)
	}
	if c.Lang() != "en" {
		t.Errorf("Lang() = %q", c.Lang())
	}
	if got := c.T("signin.title"); got != "Sign in" {
		t.Errorf("T(signin.title) = %q", got)
	}
	if got := c.T("email.continue_as", "a…@example.com"); got != "Continue as a…@example.com" {
		t.Errorf("T with an argument = %q", got)
	}
	if got := c.T("no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key shows %q, want the key itself", got)
	}
	if _, ok := c.Lookup("no.such.key"); ok {
		t.Error("Lookup finds a missing key")
	}
	if m, ok := c.Lookup("error.internal"); !ok || m == "" {
		t.Errorf("Lookup(error.internal) = %q, %v", m, ok)
	}
	for _, lang := range []string{"xx", "../en", ""} {
		if _, err := Load(lang); err == nil || !strings.Contains(err.Error(), "message catalog") {
			t.Errorf("Load(%q) = %v, want an error naming the catalog", lang, err)
		}
	}
}
