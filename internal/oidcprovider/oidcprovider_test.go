package oidcprovider_test

import (
	"slices"
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
