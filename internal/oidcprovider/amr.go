package oidcprovider

import "github.com/keyshift/keyshift/internal/account"

// AMR is how a sign-in method appears in a token's amr claim (RFC 8176),
// the table docs/integrate.md repeats. A passkey sign-in proves possession
// of a key and, since keyshift requires user verification, a second factor
// (the device's PIN or biometric): "pop" and "mfa". A password is "pwd". A
// link or code mailed to the member, and a recovery code, are one-time
// secrets: "otp"; the acr and keyshift's own "method" claim tell them apart.
func AMR(m account.AuthMethod) []string {
	switch {
	case m.IsPasskey():
		return []string{"pop", "mfa"}
	case m == account.MethodPassword || m == account.MethodSignup:
		return []string{"pwd"}
	case m == account.MethodEmailLink || m == account.MethodEmailCode || m == account.MethodRecoveryCode,
		m == account.MethodSupportRecovery:
		return []string{"otp"}
	}
	return nil
}

// The acr values keyshift issues. ACRPhishingResistant is the OpenID
// "phr" of the Extended Authentication Profile: a passkey, which only the
// site's own origin can use. Every other way in is ACRBasic.
const (
	ACRPhishingResistant = "phr"
	ACRBasic             = "urn:keyshift:acr:basic"
)

// ACR is the acr of a sign-in method.
func ACR(m account.AuthMethod) string {
	if m.IsPasskey() {
		return ACRPhishingResistant
	}
	return ACRBasic
}
