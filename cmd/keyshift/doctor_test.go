package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/doctor"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestDoctorExitsOneOnAHighFinding: an http origin outside dev mode is a
// high finding (exit 1, in text and in JSON); a production-like setup
// (https origin, a verified STARTTLS mail server, a migrated private SQLite
// file) has none (exit 0).
func TestDoctorExitsOneOnAHighFinding(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + testdb.SQLitePath(t)
	bad := map[string]string{"KEYSHIFT_DATABASE": db, "KEYSHIFT_ORIGIN": "http://localhost:8080"}
	r := runBounded(t, bad, "doctor")
	if r.code != 1 || !strings.Contains(r.stdout, "HIGH") || !strings.Contains(r.stdout, "is not https") || r.stderr != "" {
		t.Errorf("http origin: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runBounded(t, bad, "doctor", "--json")
	var rep struct {
		OK       bool             `json:"ok"`
		Findings []doctor.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || rep.OK || len(rep.Findings) == 0 {
		t.Errorf("--json: exit %d, %v\n%s", r.code, err, r.stdout)
	}

	ca := mailtest.NewCA(t)
	relay := mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)))
	good := map[string]string{"KEYSHIFT_DATABASE": db, "KEYSHIFT_ORIGIN": "https://login.example.com",
		"KEYSHIFT_SMTP_URL": relay.URL(), "KEYSHIFT_SMTP_CA_FILE": ca.WriteFile(t)}
	if m := runBounded(t, good, "migrate"); m.code != 0 {
		t.Fatalf("migrate: %d %s", m.code, m.stderr)
	}
	if r := runBounded(t, good, "doctor"); r.code != 0 || strings.Contains(r.stdout, "HIGH") {
		t.Errorf("production-like setup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestServeLogsDoctorsHighFindings: serve runs doctor's checks beside its
// start and logs the high ones.
func TestServeLogsDoctorsHighFindings(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	env := map[string]string{"KEYSHIFT_LISTEN": addr, "KEYSHIFT_ORIGIN": "http://localhost:" + port,
		"KEYSHIFT_DATABASE": "sqlite:" + testdb.SQLitePath(t), "KEYSHIFT_LOG_FORMAT": "json"}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		run(ctx, []string{"keyshift", "serve"}, envOf(env), &stdout, &stderr)
	}()
	defer func() { cancel(); <-exited }()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	waitReady(t, c, "http://localhost:"+port, exited, stderr.String)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"doctor: the origin http://localhost:`+port+` is not https`) {
		if time.Now().After(deadline) {
			t.Fatalf("no doctor finding in the log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
