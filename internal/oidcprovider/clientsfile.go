package oidcprovider

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// A clients file (oidc.clients_file) declares apps in configuration, for
// operators who keep everything in version control:
//
//	clients:
//	  - id: wiki
//	    name: Team wiki
//	    secret_hash: sha256:…          # keyshift admin client secret prints a secret and this
//	    redirect_uris: [https://wiki.example.com/oauth/callback]
//	    logout_uris: [https://wiki.example.com/]
//	  - id: spa
//	    public: true
//	    redirect_uris: [https://spa.example.com/cb]
type clientsFile struct {
	Clients []struct {
		ID           string   `yaml:"id"`
		Name         string   `yaml:"name"`
		SecretHash   string   `yaml:"secret_hash"`
		Public       bool     `yaml:"public"`
		RedirectURIs []string `yaml:"redirect_uris"`
		LogoutURIs   []string `yaml:"logout_uris"`
	} `yaml:"clients"`
}

// A file client's id: what an app puts in its configuration, distinct from
// the UUIDs `keyshift admin client create` makes.
var fileClientID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadClientsFile reads and checks a clients file. Every problem is
// reported with the client it concerns; a file with any stops the start.
func LoadClientsFile(path string) ([]Client, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oidc.clients_file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f clientsFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("oidc.clients_file %s: %w", path, err)
	}
	var problems []string
	seen := map[string]bool{}
	out := make([]Client, 0, len(f.Clients))
	for i, fc := range f.Clients {
		who := fmt.Sprintf("client %d (%s)", i+1, fc.ID)
		c := Client{ID: fc.ID, Name: fc.Name, RedirectURIs: fc.RedirectURIs, LogoutURIs: fc.LogoutURIs}
		if c.Name == "" {
			c.Name = c.ID
		}
		switch {
		case !fileClientID.MatchString(fc.ID):
			problems = append(problems, who+": id is 1 to 64 letters, digits, '.', '_' or '-'")
		case seen[fc.ID]:
			problems = append(problems, who+": the id is given twice")
		}
		seen[fc.ID] = true
		switch {
		case fc.Public && fc.SecretHash != "":
			problems = append(problems, who+": a public client has no secret; drop secret_hash or public")
		case !fc.Public:
			h, err := ParseSecretHash(fc.SecretHash)
			if err != nil {
				problems = append(problems, who+": "+err.Error())
			}
			c.SecretHash = h
		}
		if len(fc.RedirectURIs) == 0 {
			problems = append(problems, who+": redirect_uris is empty")
		}
		for _, u := range append(append([]string{}, fc.RedirectURIs...), fc.LogoutURIs...) {
			if err := CheckRedirectURI(u); err != nil {
				problems = append(problems, who+": "+err.Error())
			}
		}
		out = append(out, c)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("oidc.clients_file %s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return out, nil
}

// HashSecret is how a clients file writes a secret's hash: "sha256:" and
// the base64url of account.HashToken(secret).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParseSecretHash reads HashSecret's form.
func ParseSecretHash(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "sha256:")
	h, err := base64.RawURLEncoding.DecodeString(b64)
	if !ok || err != nil || len(h) != sha256.Size {
		return nil, errors.New(`secret_hash is "sha256:" and 43 base64url characters, as keyshift admin client secret prints it`)
	}
	return h, nil
}
