package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/export"
	"github.com/keyshift/keyshift/internal/testdb"
)

// exported is the part of an export the test reads.
type exported struct {
	Profile struct {
		Email        string `json:"email"`
		HasPassword  bool   `json:"hasPassword"`
		PasskeyCount int    `json:"passkeyCount"`
	} `json:"profile"`
	Password *struct {
		CreatedAt time.Time `json:"createdAt"`
	} `json:"password"`
	Passkeys []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"passkeys"`
	RecoveryCodesLeft int `json:"recoveryCodesLeft"`
	Sessions          []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	} `json:"sessions"`
	Events []struct {
		Type string `json:"type"`
	} `json:"events"`
}

// forbiddenKey reports the first JSON object key in v, at any depth, that
// names a secret or something made from one.
func forbiddenKey(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			lk := strings.ToLower(k)
			for _, bad := range []string{"hash", "token", "secret", "publickey", "signcount", "pepper", "credentialid", "webauthnid", "code"} {
				if strings.Contains(lk, bad) && lk != "recoverycodesleft" {
					return k
				}
			}
			if k := forbiddenKey(val); k != "" {
				return k
			}
		}
	case []any:
		for _, val := range x {
			if k := forbiddenKey(val); k != "" {
				return k
			}
		}
	}
	return ""
}

// TestTheAccountExportHoldsTheMembersDataAndNoSecret: GET
// /api/account/export wants a passkey step-up from a member with a passkey
// (a password sign-in is not enough), then answers an attachment with the
// profile, the passkeys' metadata, the password's dates, the sessions and
// the recent events; no key names a secret and no secret's value — the
// session token, the password or its hash, a recovery code, the passkey's
// public key or credential id — appears anywhere in it. The download is an
// event the next export lists.
func TestTheAccountExportHoldsTheMembersDataAndNoSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		wantAPIError(t, s.Client(t).JSON(http.MethodGet, "/api/account/export", nil), http.StatusUnauthorized, "unauthenticated")
		wantRefused(t, ada.c.JSON(http.MethodGet, "/api/account/export", nil), http.StatusForbidden, "reauth_required", "passkey")
		stepUp(t, ada)
		s.verify(t, ada.email)
		codes := newRecoveryCodes(t, ada.c)

		r := ada.c.JSON(http.MethodGet, "/api/account/export", nil)
		wantStatus(t, r, http.StatusOK)
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="account-data-`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		var got exported
		r.JSON(t, &got)
		if got.Profile.Email != ada.email || !got.Profile.HasPassword || got.Profile.PasskeyCount != 1 || got.Password == nil ||
			len(got.Passkeys) != 1 || got.RecoveryCodesLeft != len(codes) || len(got.Sessions) != 1 || !got.Sessions[0].Current {
			t.Errorf("export: %s", r.Body)
		}
		types := map[string]bool{}
		for _, e := range got.Events {
			types[e.Type] = true
		}
		for _, want := range []string{"signup", "passkey_added", "reauth"} {
			if !types[want] {
				t.Errorf("no %s event in the export: %v", want, types)
			}
		}

		var raw any
		if err := json.Unmarshal(r.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if k := forbiddenKey(raw); k != "" {
			t.Errorf("the export has a key %q", k)
		}
		ctx := context.Background()
		creds, err := s.DB.ListPasskeys(ctx, ada.id)
		if err != nil || len(creds) != 1 {
			t.Fatalf("passkeys %+v, %v", creds, err)
		}
		pw, err := s.DB.FindPasswordCredential(ctx, ada.id)
		if err != nil {
			t.Fatal(err)
		}
		b64 := base64.RawURLEncoding.EncodeToString
		secrets := map[string]string{
			"the session token": ada.c.Cookie(sessionCookie), "the password": goodPassword, "the password hash": pw.PasswordHash,
			"the public key": b64(creds[0].PublicKey), "the credential id": b64(creds[0].CredentialID),
			"the public key (std)": base64.StdEncoding.EncodeToString(creds[0].PublicKey),
		}
		for i, c := range codes {
			secrets["recovery code "+string(rune('0'+i))] = c
		}
		for what, v := range secrets {
			if v != "" && strings.Contains(string(r.Body), v) {
				t.Errorf("the export holds %s", what)
			}
		}

		var again exported
		ada.c.JSON(http.MethodGet, "/api/account/export", nil).JSON(t, &again)
		if n := len(again.Events); n == 0 || again.Events[n-1].Type != export.EventExported {
			t.Errorf("the first download is not the newest event of the second: %+v", again.Events)
		}
	})
}
