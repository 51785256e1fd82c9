package web_test

// Fuzzers for the passkey finish steps' parsing: arbitrary bytes as the
// credential of a finish step that names a real, open ceremony. Whatever
// arrives, the answer is never a 500 and never a success (nobody can sign
// a fresh challenge without the key), and it is a JSON error whose code is
// one a page can act on. Seeds: correct responses made for another
// ceremony, the malformed cases of passkey_reject_test.go, and the corpus
// under testdata/fuzz.
//
//	go test ./internal/web/ -run '^$' -fuzz '^FuzzPasskeyLoginFinish$' \
//		-fuzztime 45000x -fuzzminimizetime 200x -timeout 0
//
// About a minute each on two cores (one input is two ceremonies, one per
// backend). Counts, not durations: a time-based -fuzztime can end in
// "context deadline exceeded" (golang/go#75804). A small -fuzzminimizetime
// matters: minimizing runs up to 60 s per new input by default, uncounted,
// and the run seems to stall; -timeout 0 because go test's default 10
// minutes covers the whole fuzzing run.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// fuzzCodes are the error codes a finish step may answer a fuzzed
// credential with.
var fuzzCodes = map[string]bool{"passkey_rejected": true, "invalid_credential": true, "invalid_request": true}

// fuzzClients numbers the fuzzers' requests, each from an address of its own.
var fuzzClients atomic.Uint32

// fuzzSite is a keyshift with a member who has a passkey, on one backend.
type fuzzSite struct {
	backend string
	url     string
	http    *http.Client // carries the member's session
}

// startFuzzSites starts a keyshift on every backend (PostgreSQL unless
// KEYSHIFT_TEST_POSTGRES=skip) with a member who has a passkey. It returns
// them and, for seeds, a correct sign-in and registration response, each
// for a ceremony that is over.
func startFuzzSites(f *testing.F) (sites []fuzzSite, login, register json.RawMessage) {
	f.Helper()
	for _, b := range testdb.Backends() {
		if b.Name == "postgres" && strings.TrimSpace(os.Getenv(testdb.EnvPostgres)) == "skip" {
			continue
		}
		in := servertest.Start(f, b.Database(f), trustLoopbackProxy)
		c := in.Client(f)
		c.Signup("fuzz@example.com", goodPassword)
		k := newSoftKey(f, &liveSite{Instance: in})
		cer := begin(f, c, "/api/passkeys/register/begin", map[string]any{})
		register = k.attestationFor(cer).JSON()
		if r := finishRegister(c, cer.FlowID, register, ""); r.Status != http.StatusCreated {
			f.Fatalf("register: %d %s", r.Status, r.Body)
		}
		k.Auth.AddCredential(k.Cred)
		cer = begin(f, c, "/api/passkeys/login/begin", map[string]any{})
		login = k.assertionFor(cer).JSON()
		// Spend the ceremony, so the seed is a replay.
		if r := finishLogin(in.Client(f), cer.FlowID, login, "modal"); r.Status != http.StatusOK {
			f.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		sites = append(sites, fuzzSite{backend: b.Name, url: in.URL, http: c.HTTP})
	}
	return sites, login, register
}

// fuzzSeeds are the malformed credentials of passkey_reject_test.go, as
// raw JSON, plus variations of the correct ones.
func fuzzSeeds(valid json.RawMessage) [][]byte {
	seeds := [][]byte{
		valid,
		[]byte(`null`), []byte(`"credential"`), []byte(`12`), []byte(`[]`), []byte(`{}`), []byte(`true`),
		[]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`),
		[]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","attestationObject":"oA"}}`),
		[]byte(`{"id":"not base64url!","rawId":"%%%","type":"public-key"}`),
		[]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"W10","attestationObject":"v___HA","authenticatorData":"` + strings.Repeat("A", 60) + `"}}`),
		[]byte(`{"id":"\u0000","rawId":"\ud800","type":"public-key","response":{"userHandle":42}}`),
		[]byte(`{"response":{"clientDataJSON":{"type":"webauthn.get"}}}`),
		[]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0","authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUCIQ"},"authenticatorAttachment":"cross-platform","clientExtensionResults":{"credProps":{"rk":true}}}`),
		[]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjF","clientDataJSON":"e30","transports":["usb","\u0000",",",""]}}`),
		[]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}` + "\n"),
		[]byte(`{"id":"AAAA"}, "flowId": "\u0000"`),
		[]byte(`{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`),
	}
	// The correct response with each member removed, emptied and
	// retyped.
	var m map[string]any
	if json.Unmarshal(valid, &m) == nil {
		for _, path := range []string{"id", "rawId", "type", "response", "response.clientDataJSON", "response.authenticatorData",
			"response.signature", "response.userHandle", "response.attestationObject", "response.transports"} {
			for _, v := range []any{passkeytest.Removed, "", 0, map[string]any{}} {
				var c map[string]any
				json.Unmarshal(valid, &c)
				if b, err := json.Marshal(passkeytest.Edit(c, path, v)); err == nil {
					seeds = append(seeds, b)
				}
			}
		}
	}
	return seeds
}

// fuzzFinish posts credential as the finish step of a fresh ceremony on
// every site and checks the answer.
func fuzzFinish(t *testing.T, sites []fuzzSite, kind string, credential []byte) {
	if len(credential) > 60<<10 {
		t.Skip("over the body limit: a 413 before any parsing, tested apart")
	}
	for _, s := range sites {
		status, body := rawJSON(t, s.http, s.url+"/api/passkeys/"+kind+"/begin", []byte(`{}`))
		var cer ceremony
		if status != http.StatusOK || json.Unmarshal(body, &cer) != nil {
			t.Fatalf("%s: %s/begin: %d %s", s.backend, kind, status, body)
		}
		payload := append([]byte(`{"flowId":"`+cer.FlowID+`","mediation":"modal","credential":`), credential...)
		payload = append(payload, '}')
		status, body = rawJSON(t, s.http, s.url+"/api/passkeys/"+kind+"/finish", payload)
		if status >= 500 {
			t.Fatalf("%s: %s/finish %q: %d %s", s.backend, kind, credential, status, body)
		}
		if status < 400 {
			t.Fatalf("%s: %s/finish accepted a fuzzed credential %q: %d %s", s.backend, kind, credential, status, body)
		}
		var e apiError
		if err := json.Unmarshal(body, &e); err != nil || !fuzzCodes[e.Error.Code] || e.Error.Message == "" {
			t.Fatalf("%s: %s/finish %q: %d %s, want a JSON error with one of %v", s.backend, kind, credential, status, body, fuzzCodes)
		}
		if (e.Error.Code == "passkey_rejected") != (status == http.StatusUnauthorized) || status != http.StatusUnauthorized && status != http.StatusBadRequest {
			t.Fatalf("%s: %s/finish %q: code %s with status %d", s.backend, kind, credential, e.Error.Code, status)
		}
	}
}

// rawJSON posts body as JSON with hc and returns the answer. Each request
// comes from an address of its own (X-Forwarded-For, which the fuzz sites
// believe from loopback), so the per-IP limit on refused sign-ins
// (account.PolicyRedeemIP) never answers in the parser's place.
func rawJSON(t *testing.T, hc *http.Client, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	n := fuzzClients.Add(1)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// FuzzPasskeyLoginFinish posts arbitrary credential JSON to
// /api/passkeys/login/finish with a real ceremony.
func FuzzPasskeyLoginFinish(f *testing.F) {
	sites, login, _ := startFuzzSites(f)
	for _, seed := range fuzzSeeds(login) {
		f.Add(seed)
	}
	// A browser with no session signs in.
	for i := range sites {
		jar, _ := cookiejar.New(nil)
		sites[i].http = &http.Client{Jar: jar}
	}
	f.Fuzz(func(t *testing.T, credential []byte) { fuzzFinish(t, sites, "login", credential) })
}

// FuzzPasskeyRegisterFinish posts arbitrary credential JSON to
// /api/passkeys/register/finish with a real ceremony of the signed-in
// member.
func FuzzPasskeyRegisterFinish(f *testing.F) {
	sites, _, register := startFuzzSites(f)
	for _, seed := range fuzzSeeds(register) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, credential []byte) { fuzzFinish(t, sites, "register", credential) })
}
