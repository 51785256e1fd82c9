package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Authenticator is a CDP virtual authenticator in a tab: what a platform
// authenticator (Touch ID, Windows Hello, a phone's screen lock) or a
// password manager is to a real member.
type Authenticator struct {
	tab *Tab
	ID  webauthn.AuthenticatorID
}

// AuthenticatorOption changes the virtual authenticator's options before it
// is added.
type AuthenticatorOption func(*webauthn.VirtualAuthenticatorOptions)

// Synced makes the authenticator's credentials backup eligible and backed
// up, like a passkey in iCloud Keychain or Google Password Manager.
func Synced(o *webauthn.VirtualAuthenticatorOptions) {
	o.DefaultBackupEligibility = true
	o.DefaultBackupState = true
}

// Roaming makes the authenticator a security key on USB: the browser
// reports its credentials' authenticatorAttachment as "cross-platform", as
// it does for a phone's passkey used over hybrid.
func Roaming(o *webauthn.VirtualAuthenticatorOptions) {
	o.Transport = webauthn.AuthenticatorTransportUsb
}

// CredentialImport lets AddCredential put credentials into the
// authenticator (Chromium refuses them otherwise: "CMTG is not supported").
func CredentialImport(o *webauthn.VirtualAuthenticatorOptions) {
	o.HasCmtgKey = true
}

// AddAuthenticator enables WebAuthn in the tab and adds a platform
// authenticator: CTAP 2.1, transport internal, resident keys, user
// verification that succeeds, and user presence that is simulated. The
// tab's first authenticator needs no more; a second one needs another
// transport (USB, say) through an option.
func (tab *Tab) AddAuthenticator(opts ...AuthenticatorOption) *Authenticator {
	tab.t.Helper()
	o := &webauthn.VirtualAuthenticatorOptions{
		Protocol:            webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:        webauthn.Ctap2versionCtap21,
		Transport:           webauthn.AuthenticatorTransportInternal,
		HasResidentKey:      true,
		HasUserVerification: true,
		// The Go struct sends false for both when they are left unset, and
		// then every ceremony hangs or fails: set them, always.
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}
	for _, opt := range opts {
		opt(o)
	}
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	// enableUI stays unset: with it, every ceremony waits for a person.
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		tab.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: o})
	if err != nil {
		tab.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return &Authenticator{tab: tab, ID: res.AuthenticatorID}
}

// SetUserVerified makes user verification (the face, fingerprint or screen
// lock) succeed or fail from now on.
func (a *Authenticator) SetUserVerified(ok bool) {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.ID, IsUserVerified: ok})
		return err
	}, "WebAuthn.setUserVerified")
}

// SetPresence makes tests of user presence (a touch) succeed at once, or
// never answer, so that a request stays pending.
func (a *Authenticator) SetPresence(automatic bool) {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: a.ID, Enabled: automatic})
		return err
	}, "WebAuthn.setAutomaticPresenceSimulation")
}

// Credentials returns the credentials the authenticator holds.
func (a *Authenticator) Credentials() []*webauthn.Credential {
	a.tab.t.Helper()
	var creds []*webauthn.Credential
	a.call(func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.ID})
		creds = res.Credentials
		return err
	}, "WebAuthn.getCredentials")
	return creds
}

// AddCredential puts a credential into the authenticator — one another
// authenticator made (from Credentials), say. The authenticator must have
// been added with CredentialImport.
func (a *Authenticator) AddCredential(cred *webauthn.Credential) {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.AddCredential, webauthn.AddCredentialParams{AuthenticatorID: a.ID, Credential: cred})
		return err
	}, "WebAuthn.addCredential")
}

// RemoveCredential deletes one credential from the authenticator, as a
// member does in their password manager; the site still knows it.
func (a *Authenticator) RemoveCredential(id []byte) {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: a.ID, CredentialID: id})
		return err
	}, "WebAuthn.removeCredential")
}

// ClearCredentials deletes every credential from the authenticator.
func (a *Authenticator) ClearCredentials() {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: a.ID})
		return err
	}, "WebAuthn.clearCredentials")
}

// SetBadUV makes the authenticator's answers claim no user verification
// although the browser accepts them, so the server's own check is tested.
func (a *Authenticator) SetBadUV(bad bool) {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: a.ID, IsBadUV: &bad})
		return err
	}, "WebAuthn.setResponseOverrideBits")
}

// Remove takes the authenticator out of the tab, as if the device were gone.
func (a *Authenticator) Remove() {
	a.tab.t.Helper()
	a.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.ID})
		return err
	}, "WebAuthn.removeVirtualAuthenticator")
}

func (a *Authenticator) call(f func(ctx context.Context) error, what string) {
	a.tab.t.Helper()
	ctx, cancel := context.WithTimeout(a.tab.ctx, Timeout)
	defer cancel()
	if err := f(ctx); err != nil {
		a.tab.t.Fatalf("%s: %v", what, err)
	}
}
