package returnto

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	p, err := New("https://login.example.com", []string{"https://app.example.com", "http://localhost:3000/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw, want string // want "" means refused
	}{
		// Accepted.
		{"/account", "/account"},
		{"/account?tab=keys#passkeys", "/account?tab=keys#passkeys"},
		{"/%2F%2Fevil.com", "/%2F%2Fevil.com"}, // a path on keyshift, kept escaped
		{"https://app.example.com/inbox?x=1", "https://app.example.com/inbox?x=1"},
		{"https://login.example.com/account", "https://login.example.com/account"},
		{"HTTPS://APP.Example.COM/Inbox", "https://app.example.com/Inbox"}, // browsers lower-case the host
		{"https://app.example.com:443/", "https://app.example.com/"},
		{"http://localhost:3000/cb", "http://localhost:3000/cb"},

		// Refused: the known open-redirect bypasses.
		{"", ""},
		{"//evil.com", ""},
		{"///evil.com", ""},
		{"/\\evil.com", ""},
		{"\\/evil.com", ""},
		{"/\t/evil.com", ""},
		{"/\n/evil.com", ""},
		{" /account", ""},
		{"https:evil.com", ""},
		{"https:/evil.com", ""},
		{"https://login.example.com@evil.com/", ""},
		{"https://evil.com@login.example.com/", ""}, // user information at all
		{"https://app.example.com.evil.com/", ""},
		{"https://app.example.com./", ""},
		{"https://%61pp.example.com/", ""},
		{"https://аpp.example.com/", ""}, // Cyrillic а
		{"https://xn--pp-8cd.example.com/", ""},
		{"https://app.example.com:8443/", ""}, // another port is another origin
		{"http://app.example.com/", ""},       // another scheme too
		{"javascript:alert(1)", ""},
		{"data:text/html,hi", ""},
		{"evil.com", ""},
		{"app.example.com/inbox", ""},
		{"https://app.example.com\\@evil.com/", ""},
		{"https://evil.com#@app.example.com", ""},
		{"https://evil.com?@app.example.com", ""},
		{"http://localhost:3001/", ""},
	}
	for _, tt := range tests {
		got, err := p.Check(tt.raw)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("Check(%q) = %q, want refused", tt.raw, got)
		case tt.want == "" && !errors.Is(err, ErrRefused):
			t.Errorf("Check(%q): %v does not wrap ErrRefused", tt.raw, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("Check(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}

func TestNewRefusesWhatIsNotAnOrigin(t *testing.T) {
	for _, bad := range []string{"https://app.example.com/path", "https://*.example.com", "app.example.com", "https://app.example.com?x", "ftp://x.example.com"} {
		if _, err := New("https://login.example.com", []string{bad}); err == nil {
			t.Errorf("New accepted %q", bad)
		}
	}
}

func TestExact(t *testing.T) {
	reg := []string{"https://app.example.com/callback", "http://127.0.0.1:8765/cb"}
	for raw, want := range map[string]bool{
		"https://app.example.com/callback":    true,
		"http://127.0.0.1:8765/cb":            true,
		"https://app.example.com/callback/":   false,
		"https://app.example.com/callback?x":  false,
		"https://APP.example.com/callback":    false, // exact, as RFC 9700 asks
		"https://app.example.com/Callback":    false,
		"https://app.example.com/callback\t":  false,
		"https://app.example.com/callback#a":  false,
		"https://app.example.com@evil/cb":     false,
		"https://app.example.com/%63allback":  false,
		"https://app.example.com/callback/..": false,
	} {
		if got := Exact(raw, reg); got != want {
			t.Errorf("Exact(%q) = %v, want %v", raw, got, want)
		}
	}
}

// FuzzCheck: whatever Check accepts is a path a browser keeps on this
// origin, or a URL whose origin is allowed, as net/url and a browser read it.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"/account", "//evil", "/\\evil", "https://app.example.com/x", "https:evil", "https://a@b", "/%2f%2fevil"} {
		f.Add(s)
	}
	p, err := New("https://login.example.com", []string{"https://app.example.com"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := p.Check(raw)
		if err != nil {
			return
		}
		if strings.HasPrefix(got, "/") {
			if strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\n\r ") {
				t.Fatalf("Check(%q) = %q: leaves the origin", raw, got)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.User != nil || (u.Host != "app.example.com" && u.Host != "login.example.com") || u.Scheme != "https" {
			t.Fatalf("Check(%q) = %q: not an allowed origin", raw, got)
		}
	})
}
