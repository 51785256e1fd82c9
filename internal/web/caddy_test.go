package web_test

// The forward-auth test with a real Caddy: Debian's caddy (scripts/test
// installs it; KEYSHIFT_TEST_CADDY=0 skips) runs as the current user on a
// loopback port, its data and configuration directories in the test's, in
// front of the tiny app and keyshift — configured with the very Caddyfile
// of docs/integrate.md.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keyshift/keyshift/internal/web/browsertest"
)

func TestCaddyForwardAuth(t *testing.T) {
	caddy := caddyBinary(t)
	t.Parallel()
	rig := newForwardAuthRig(t)
	startCaddy(t, caddy, rig.proxyPort, rig.app.Listener.Addr().String(), rig.keyshiftAddr)
	checkForwardAuth(t, newLoopbackBrowser(t), rig.login, rig.appOrigin, &rig.appHits)
}

// caddyBinary finds caddy, or skips t (fails it in CI) without it.
func caddyBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("KEYSHIFT_TEST_CADDY") == "0" {
		t.Skip("KEYSHIFT_TEST_CADDY=0")
	}
	if path, err := exec.LookPath("caddy"); err == nil {
		return path
	}
	if browsertest.InCI() {
		t.Fatal("the Caddy forward-auth test needs caddy; scripts/test installs it")
	}
	t.Skip("skipping: no caddy; scripts/test installs it (apt-get install -y caddy)")
	return ""
}

// startCaddy runs caddy with the site block of docs/integrate.md pointed at
// app and keyshift, over plain http on a loopback port, until t ends.
func startCaddy(t *testing.T, caddy string, port int, app, keyshift string) {
	t.Helper()
	dir := t.TempDir()
	site := documentedProxyConfig(t, "caddyfile")
	for _, r := range []struct{ old, new string }{
		{"wiki.example.com {", fmt.Sprintf("http://%s:%d {", appHost, port)},
		{"forward_auth 127.0.0.1:8080 {", "forward_auth " + keyshift + " {"},
		{"reverse_proxy 127.0.0.1:3000", "reverse_proxy " + app},
	} {
		if !strings.Contains(site, r.old) {
			t.Fatalf("docs/integrate.md's Caddyfile no longer holds %q; update the test with the documentation", r.old)
		}
		site = strings.Replace(site, r.old, r.new, 1)
	}
	conf := "{\n\tadmin off\n\tauto_https off\n}\n\n" + site
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "caddy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	runProxy(t, "caddy", cmd, syscall.SIGTERM, port, logPath)
	t.Cleanup(func() {
		logFile.Close()
		if t.Failed() {
			t.Logf("Caddyfile:\n%s", conf)
		}
	})
}
