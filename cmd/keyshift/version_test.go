package main

import (
	"encoding/json"
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/buildinfo"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

func TestVersionPrintsTheBuild(t *testing.T) {
	t.Parallel()
	r := runCmd(t, t.Context(), nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "keyshift dev (") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCmd(t, t.Context(), nil, "version", "--json")
	var info buildinfo.Info
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || r.code != 0 {
		t.Fatalf("exit %d, not JSON (%v):\n%s", r.code, err, r.stdout)
	}
	if info.Version != "dev" || info.GoVersion != runtime.Version() {
		t.Errorf("%+v", info)
	}
}

func TestReadyURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"[::1]:9000", "http://[::1]:9000/readyz"},
		{"keyshift.internal:8080", "http://keyshift.internal:8080/readyz"},
	}
	for _, tt := range tests {
		if got, err := readyURL(tt.listen); err != nil || got != tt.want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
	if _, err := readyURL("nowhere"); err == nil {
		t.Error("a listen address without a port was accepted")
	}
}

// TestHealthcheckAsksTheConfiguredServer: exit 0 when the server at the
// configured listen address is ready, 1 when nothing answers there.
func TestHealthcheckAsksTheConfiguredServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		site := servertest.Start(t, database)
		u, err := url.Parse(site.URL)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(u.Host)
		env := map[string]string{"KEYSHIFT_DATABASE": database, "KEYSHIFT_DEV": "1", "KEYSHIFT_LISTEN": "0.0.0.0:" + port}
		if r := runBounded(t, env, "healthcheck"); r.code != 0 || !strings.HasPrefix(r.stdout, "ready") {
			t.Errorf("ready server: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}

		// A port nothing listens on: a listener closed just now.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close()
		env["KEYSHIFT_LISTEN"] = closed
		if r := runBounded(t, env, "healthcheck", "--timeout", "2s"); r.code != 1 || !strings.Contains(r.stderr, "not answering") {
			t.Errorf("no server: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}
