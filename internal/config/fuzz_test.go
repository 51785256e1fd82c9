package config

import "testing"

// FuzzNormalizeOrigin checks that a normalised origin is a fixed point: keyshift
// compares it byte for byte with browsers' Origin headers, so normalising twice
// must change nothing.
func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{
		"https://login.example.com", "HTTPS://Login.Example.COM:443/", "http://[::1]:80",
		"http://localhost:8080", "https://u:p@x", "ftp://x", "https://x?#", "http://%41", "",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, dev bool) {
		origin, host, err := normalizeOrigin(raw, dev)
		if err != nil {
			return
		}
		again, host2, err := normalizeOrigin(origin, dev)
		if err != nil || again != origin || host2 != host {
			t.Errorf("normalizeOrigin(%q) = %q, but again gives %q, %v", raw, origin, again, err)
		}
	})
}

// FuzzApplyYAML checks that no file, however broken, makes Load panic.
func FuzzApplyYAML(f *testing.F) {
	for _, s := range []string{
		"", "listen: :8080\n", "session:\n  idle_timeout: 1h\n", "trusted_proxies: [10.0.0.1, *a]\n",
		"a: &a [*a]\n", "listen: [\n", "- x\n", "log: {level: [x]}\n", "---\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		c.applyYAML(data, "fuzz.yaml")
		_ = c.problems()
	})
}
