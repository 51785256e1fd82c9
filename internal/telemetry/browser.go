package telemetry

import "strings"

// Family returns the browser family and operating system a User-Agent
// names ("Chrome", "Android"), "other" for what it does not recognise and ""
// for an empty header. Telemetry keeps these and never the header: a
// User-Agent is detailed enough to help single a person out.
func Family(ua string) (browser, os string) {
	if ua == "" {
		return "", ""
	}
	return first(ua, browsers), first(ua, systems)
}

type needle struct{ in, name string }

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari",
// Android says "Linux", iOS says "Mac OS X".
var (
	browsers = []needle{{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}}
	systems = []needle{{"iPhone", "iOS"}, {"iPad", "iOS"}, {"Android", "Android"}, {"Mac OS X", "macOS"},
		{"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}}
)

func first(ua string, ns []needle) string {
	for _, n := range ns {
		if strings.Contains(ua, n.in) {
			return n.name
		}
	}
	return "other"
}
