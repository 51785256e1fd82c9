package account

import "strings"

// BrowserName gives a short, recognisable name for a user agent — "Chrome
// on Windows" — or "" when it recognises neither the browser nor the
// system. Pages and mail show this, never the raw header: a User-Agent is
// whatever the client chose to send, and notices must not carry an
// attacker's text.
func BrowserName(ua string) string {
	os := ""
	for _, c := range []struct{ needle, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Mac OS X", "Mac"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, c.needle) {
			os = c.name
			break
		}
	}
	app := ""
	for _, c := range []struct{ needle, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
		{"curl/", "curl"},
	} {
		if strings.Contains(ua, c.needle) {
			app = c.name
			break
		}
	}
	switch {
	case app != "" && os != "":
		return app + " on " + os
	case app != "":
		return app
	case os != "":
		return os
	}
	return ""
}
