package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/oidcprovider"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestExampleAppSignsInThroughKeyshift runs keyshift and the example app
// on loopback: a browser asks the app to sign in, is sent to keyshift,
// signs in there with a passkey (a software authenticator), and comes back
// to an app that holds a verified ID token naming the member, with the
// amr of a passkey.
func TestExampleAppSignsInThroughKeyshift(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		ks := servertest.Start(t, database)
		ctx := t.Context()

		// A member with a passkey, made through keyshift's API.
		setup := ks.Client(t)
		setup.Signup("ada@example.com", "a long and unguessable phrase 7")
		key := passkeytest.New(t, ks.URL)
		cer := ceremony(t, setup, "/api/passkeys/register/begin")
		att := key.Attestation(cer.PublicKey)
		key.Auth.AddCredential(key.Cred)
		if r := setup.JSON(http.MethodPost, "/api/passkeys/register/finish", map[string]any{"flowId": cer.FlowID, "credential": att.JSON()}); r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		var me struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		setup.JSON(http.MethodGet, "/api/session", nil).JSON(t, &me)

		// The app: registered with keyshift, then started.
		appSrv := httptest.NewUnstartedServer(nil)
		appURL := "http://" + appSrv.Listener.Addr().String()
		c, secret, err := oidcprovider.CreateClient(ctx, ks.DB, oidcprovider.NewClient{Name: "example", RedirectURIs: []string{appURL + "/callback"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		app, err := New(ctx, Config{Issuer: ks.URL, ClientID: c.ID, ClientSecret: secret, AppURL: appURL})
		if err != nil {
			t.Fatal(err)
		}
		appSrv.Config.Handler = app.Handler()
		appSrv.Start()
		t.Cleanup(appSrv.Close)

		// The browser: one cookie jar for both sites.
		b := ks.Client(t)
		signin := browse(t, b, appURL+"/login")
		if !strings.HasPrefix(signin.Path, "/signin") {
			t.Fatalf("the app's /login led to %s, want keyshift's sign-in page", signin)
		}
		login := ceremony(t, b, "/api/passkeys/login/begin")
		if r := b.JSON(http.MethodPost, "/api/passkeys/login/finish", map[string]any{"flowId": login.FlowID, "credential": key.Assertion(login.PublicKey).JSON(), "mediation": "modal"}); r.Status != http.StatusOK {
			t.Fatalf("passkey sign-in: %d %s", r.Status, r.Body)
		}
		home := browse(t, b, ks.URL+signin.Query().Get("return_to"))
		if home.String() != appURL+"/" {
			t.Fatalf("after signing in the browser ended at %s, want the app's home", home)
		}
		res, err := b.HTTP.Get(appURL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, want := range []string{"ada@example.com", me.User.ID, "pop mfa", "acr phr"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("the app's page lacks %q:\n%s", want, body)
			}
		}
	})
}

type begun struct {
	FlowID    string          `json:"flowId"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func ceremony(t *testing.T, c *servertest.Client, path string) begun {
	t.Helper()
	r := c.JSON(http.MethodPost, path, map[string]any{})
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	var cer begun
	r.JSON(t, &cer)
	return cer
}

// browse follows redirects from u, across both sites, and returns where
// the browser stops: a page that answers 200, or keyshift's sign-in page.
func browse(t *testing.T, b *servertest.Client, u string) *url.URL {
	t.Helper()
	for range 10 {
		res, err := b.HTTP.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		at, _ := url.Parse(u)
		switch {
		case res.StatusCode == http.StatusOK || at.Path == "/signin":
			return at
		case res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther:
			t.Fatalf("GET %s: %d %s", u, res.StatusCode, body)
		}
		next, err := at.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		u = next.String()
	}
	t.Fatal("too many redirects")
	return nil
}
