package oidcprovider_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/oidcprovider"
)

func TestCheckRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example.com/callback", true},
		{"https://app.example.com:8443/cb?x=1", true},
		{"http://127.0.0.1:8080/callback", true},
		{"http://localhost/callback", true},
		{"http://[::1]:9000/cb", true},
		{"http://app.example.com/callback", false}, // readable on the way
		{"https://app.example.com/cb#frag", false},
		{"https://user@app.example.com/cb", false},
		{"/callback", false},
		{"app.example.com/callback", false},
		{"javascript:alert(1)", false},
		{"com.example.app:/callback", false}, // custom schemes: not yet offered
		{"https://app.example.com/c b", false},
		{"", false},
	} {
		err := oidcprovider.CheckRedirectURI(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("CheckRedirectURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
		if err != nil && !account.IsCode(err, account.EInvalidRequest) {
			t.Errorf("CheckRedirectURI(%q): %v is not invalid_request", tc.uri, err)
		}
	}
}

// TestAMRAndACR is the table docs/integrate.md repeats.
func TestAMRAndACR(t *testing.T) {
	for _, tc := range []struct {
		m   account.AuthMethod
		amr []string
		acr string
	}{
		{account.MethodPasskeyModal, []string{"pop", "mfa"}, "phr"},
		{account.MethodPasskeyConditional, []string{"pop", "mfa"}, "phr"},
		{account.MethodPasskeyUsername, []string{"pop", "mfa"}, "phr"},
		{account.MethodPassword, []string{"pwd"}, oidcprovider.ACRBasic},
		{account.MethodSignup, []string{"pwd"}, oidcprovider.ACRBasic},
		{account.MethodEmailLink, []string{"otp"}, oidcprovider.ACRBasic},
		{account.MethodEmailCode, []string{"otp"}, oidcprovider.ACRBasic},
		{account.MethodRecoveryCode, []string{"otp"}, oidcprovider.ACRBasic},
	} {
		if got := oidcprovider.AMR(tc.m); !slices.Equal(got, tc.amr) {
			t.Errorf("AMR(%s) = %v, want %v", tc.m, got, tc.amr)
		}
		if got := oidcprovider.ACR(tc.m); got != tc.acr {
			t.Errorf("ACR(%s) = %q, want %q", tc.m, got, tc.acr)
		}
	}
}

func TestLoadClientsFile(t *testing.T) {
	good := oidcprovider.HashSecret("s3cret")
	for _, tc := range []struct {
		name, yaml, wantErr string
		clients             int
	}{
		{"two clients", "clients:\n  - id: wiki\n    secret_hash: " + good + "\n    redirect_uris: [https://wiki.example.com/cb]\n" +
			"  - id: spa\n    public: true\n    redirect_uris: [https://spa.example.com/cb]\n    logout_uris: [https://spa.example.com/]\n", "", 2},
		{"empty file", "", "", 0},
		{"unknown field", "clients:\n  - id: wiki\n    secret: plain\n    redirect_uris: [https://w.example.com/cb]\n", "field secret not found", 0},
		{"bad id", "clients:\n  - id: 'a b'\n    public: true\n    redirect_uris: [https://w.example.com/cb]\n", "id is 1 to 64", 0},
		{"twice", "clients:\n  - {id: a, public: true, redirect_uris: [https://a.example.com/cb]}\n  - {id: a, public: true, redirect_uris: [https://a.example.com/cb]}\n", "given twice", 0},
		{"public with a secret", "clients:\n  - {id: a, public: true, secret_hash: " + good + ", redirect_uris: [https://a.example.com/cb]}\n", "has no secret", 0},
		{"no secret", "clients:\n  - {id: a, redirect_uris: [https://a.example.com/cb]}\n", "secret_hash is", 0},
		{"a plain secret as the hash", "clients:\n  - {id: a, secret_hash: s3cret, redirect_uris: [https://a.example.com/cb]}\n", "secret_hash is", 0},
		{"http redirect", "clients:\n  - {id: a, public: true, redirect_uris: [http://a.example.com/cb]}\n", "must use https", 0},
		{"no redirect", "clients:\n  - {id: a, public: true}\n", "redirect_uris is empty", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clients.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cs, err := oidcprovider.LoadClientsFile(path)
			if tc.wantErr == "" {
				if err != nil || len(cs) != tc.clients {
					t.Fatalf("%d clients (%v), want %d", len(cs), err, tc.clients)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
	h, err := oidcprovider.ParseSecretHash(good)
	if err != nil || string(h) != string(account.HashToken("s3cret")) {
		t.Errorf("ParseSecretHash(HashSecret(s)) = %x (%v), want the token hash", h, err)
	}
}
