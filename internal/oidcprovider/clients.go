package oidcprovider

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/keyshift/keyshift/internal/account"
)

// NewClient describes a client to make (`keyshift admin client create`).
type NewClient struct {
	Name         string
	RedirectURIs []string
	LogoutURIs   []string
	// Public makes a client without a secret: a single-page or native app,
	// which must use PKCE with S256.
	Public bool
}

// CreateClient checks and stores a client, returning it and its secret
// ("" for a public client), which is shown once: only its hash is kept.
func CreateClient(ctx context.Context, db ClientStore, n NewClient, now time.Time) (*Client, string, error) {
	if strings.TrimSpace(n.Name) == "" {
		return nil, "", invalid("a client needs a name")
	}
	if len(n.RedirectURIs) == 0 {
		return nil, "", invalid("a client needs at least one redirect URI")
	}
	for _, list := range [][]string{n.RedirectURIs, n.LogoutURIs} {
		for _, u := range list {
			if err := CheckRedirectURI(u); err != nil {
				return nil, "", err
			}
		}
	}
	c := &Client{ID: account.Random{}.NewID(), Name: strings.TrimSpace(n.Name), RedirectURIs: n.RedirectURIs, LogoutURIs: n.LogoutURIs, CreatedAt: now}
	var secret string
	if !n.Public {
		secret = account.Random{}.NewToken()
		c.SecretHash = account.HashToken(secret)
	}
	if err := db.CreateOIDCClient(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// CheckRedirectURI accepts an absolute https URL without a fragment, or
// http on this machine's loopback (a native app's or a developer's), and
// nothing else: the op package then compares redirect_uri with it exactly,
// so an app cannot have its codes sent anywhere it did not register.
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(raw, " \t\r\n") {
		return invalid(fmt.Sprintf("%q is not an absolute URL without a fragment or user info", raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			return nil
		}
	}
	return invalid(fmt.Sprintf("%q must use https (http only on localhost or a loopback address)", raw))
}

func invalid(detail string) error {
	return &account.Error{Code: account.EInvalidRequest, Detail: detail}
}
