package web_test

// What a passkey ceremony offers and stores, and managing passkeys over
// the API: options, stored details, the page's register/error report,
// list, rename, delete, the reauth window, and BE/BS and last use kept
// current by sign-ins. Every test on every backend.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// descriptor is a PublicKeyCredentialDescriptorJSON.
type descriptor struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Transports []string `json:"transports"`
}

// creationOptions is PublicKeyCredentialCreationOptionsJSON, as much as the
// tests read.
type creationOptions struct {
	RP        struct{ ID, Name string } `json:"rp"`
	User      struct{ ID, Name, DisplayName string }
	Challenge string `json:"challenge"`
	Params    []struct {
		Type string `json:"type"`
		Alg  int    `json:"alg"`
	} `json:"pubKeyCredParams"`
	Exclude     []descriptor   `json:"excludeCredentials"`
	Selection   map[string]any `json:"authenticatorSelection"`
	Attestation string         `json:"attestation"`
}

// requestOptions is PublicKeyCredentialRequestOptionsJSON.
type requestOptions struct {
	Challenge        string       `json:"challenge"`
	RPID             string       `json:"rpId"`
	Allow            []descriptor `json:"allowCredentials"`
	UserVerification string       `json:"userVerification"`
}

func TestPasskeyRegistrationOptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		phone := newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true,
			Transports: []virtualwebauthn.Transport{virtualwebauthn.TransportInternal, virtualwebauthn.TransportHybrid}})
		yubikey := newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{
			Transports: []virtualwebauthn.Transport{virtualwebauthn.TransportUSB, virtualwebauthn.TransportNFC}})

		var opts creationOptions
		mustUnmarshal(t, begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{}).PublicKey, &opts)
		if len(opts.Exclude) != 0 {
			t.Errorf("excludeCredentials %+v for a member without passkeys", opts.Exclude)
		}
		wantStatus(t, phone.register(ada.c), http.StatusCreated)
		wantStatus(t, yubikey.register(ada.c), http.StatusCreated)

		cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		mustUnmarshal(t, cer.PublicKey, &opts)
		if opts.RP.ID != "localhost" || opts.RP.Name == "" {
			t.Errorf("rp %+v", opts.RP)
		}
		if opts.User.ID != passkeytest.B64(phone.Auth.Options.UserHandle) || opts.User.Name != "ada@example.com" || opts.User.DisplayName == "" {
			t.Errorf("user %+v, want the member's handle and address", opts.User)
		}
		if len(passkeytest.Unb64(t, opts.Challenge)) < 16 {
			t.Errorf("challenge %q shorter than 16 bytes", opts.Challenge)
		}
		var algs []int
		for _, p := range opts.Params {
			if p.Type != "public-key" {
				t.Errorf("pubKeyCredParams type %q", p.Type)
			}
			algs = append(algs, p.Alg)
		}
		if want := []int{-7, -8, -257}; !slices.Equal(algs, want) {
			t.Errorf("algorithms %v, want ES256, EdDSA, RS256 = %v in that order", algs, want)
		}
		if opts.Selection["residentKey"] != "required" || opts.Selection["requireResidentKey"] != true ||
			opts.Selection["userVerification"] != "required" {
			t.Errorf("authenticatorSelection %v, want resident key and user verification required", opts.Selection)
		}
		if _, ok := opts.Selection["authenticatorAttachment"]; ok {
			t.Errorf("authenticatorSelection %v names an attachment though roaming authenticators are allowed", opts.Selection)
		}
		if opts.Attestation != "none" {
			t.Errorf("attestation %q, want none", opts.Attestation)
		}
		want := []descriptor{
			{Type: "public-key", ID: passkeytest.B64(phone.Cred.ID), Transports: []string{"internal", "hybrid"}},
			{Type: "public-key", ID: passkeytest.B64(yubikey.Cred.ID), Transports: []string{"usb", "nfc"}},
		}
		// Both were registered at the same instant: in either order.
		byID := func(a, b descriptor) int { return strings.Compare(a.ID, b.ID) }
		slices.SortFunc(opts.Exclude, byID)
		slices.SortFunc(want, byID)
		if !slices.EqualFunc(opts.Exclude, want, func(a, b descriptor) bool {
			return a.Type == b.Type && a.ID == b.ID && slices.Equal(a.Transports, b.Transports)
		}) {
			t.Errorf("excludeCredentials %+v, want %+v", opts.Exclude, want)
		}
	})
}

func TestPasskeySigninOptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		newMemberWithoutPasskey(t, s, "bob@example.com")
		c := s.Client(t)
		options := func(body any) requestOptions {
			t.Helper()
			var o requestOptions
			mustUnmarshal(t, begin(t, c, "/api/passkeys/login/begin", body).PublicKey, &o)
			if o.UserVerification != "required" || o.RPID != "localhost" || len(passkeytest.Unb64(t, o.Challenge)) < 16 {
				t.Errorf("options %+v, want user verification required, RP ID localhost, a challenge", o)
			}
			return o
		}

		if o := options(map[string]any{}); len(o.Allow) != 0 {
			t.Errorf("discoverable sign-in lists credentials %+v", o.Allow)
		}
		o := options(map[string]any{"email": "Ada@Example.com"})
		if len(o.Allow) != 1 || o.Allow[0].ID != passkeytest.B64(ada.key.Cred.ID) || !slices.Equal(o.Allow[0].Transports, []string{"internal"}) {
			t.Errorf("username-first allowCredentials %+v, want ada's passkey with its transports", o.Allow)
		}
		// Addresses without passkeys (an account without one, no account)
		// get decoys shaped like a real answer, stable per address
		// (TestUsernameFirstDecoysLookLikeRealAnswers compares shapes).
		for _, email := range []string{"bob@example.com", "nobody@example.com"} {
			first, again := options(map[string]any{"email": email}), options(map[string]any{"email": strings.ToUpper(email)})
			if len(first.Allow) == 0 || first.Allow[0].Type != "public-key" || len(passkeytest.Unb64(t, first.Allow[0].ID)) < 16 {
				t.Errorf("%s: allowCredentials %+v, want decoys like real passkeys", email, first.Allow)
			}
			if !reflect.DeepEqual(again.Allow, first.Allow) {
				t.Errorf("%s: decoys %+v then %+v, want the same each time", email, first.Allow, again.Allow)
			}
		}
		if options(map[string]any{"email": "bob@example.com"}).Allow[0].ID == options(map[string]any{"email": "nobody@example.com"}).Allow[0].ID {
			t.Error("two addresses got the same decoy")
		}
	})
}

func TestPasskeyStoredDetails(t *testing.T) {
	applePasswords, err := aaguid.Parse("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       virtualwebauthn.AuthenticatorOptions
		aaguid     []byte // nil: random, unknown
		attachment string
		given      string   // the name the member typed
		reported   []string // transports as the browser reports them, when not the authenticator's
		want       passkeyView
	}{
		{
			name: "names a synced passkey after its known provider",
			opts: virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true,
				Transports: []virtualwebauthn.Transport{virtualwebauthn.TransportInternal, virtualwebauthn.TransportHybrid}},
			aaguid: applePasswords, attachment: "platform",
			want: passkeyView{Name: "Apple Passwords", Provider: "Apple Passwords", BackupEligible: true, BackedUp: true, Synced: true,
				Transports: []string{"internal", "hybrid"}, Attachment: "platform"},
		},
		{
			name:       "names a passkey from an unknown provider Passkey",
			opts:       virtualwebauthn.AuthenticatorOptions{BackupEligible: true},
			attachment: "platform",
			want: passkeyView{Name: "Passkey", Provider: "Unknown provider", BackupEligible: true,
				Transports: []string{"internal"}, Attachment: "platform"},
		},
		{
			name: "keeps a security key as this device only, cross-platform",
			opts: virtualwebauthn.AuthenticatorOptions{
				Transports: []virtualwebauthn.Transport{virtualwebauthn.TransportUSB, virtualwebauthn.TransportNFC}},
			aaguid: make([]byte, 16), attachment: "cross-platform",
			want: passkeyView{Name: "Passkey", Provider: "Unknown provider",
				Transports: []string{"usb", "nfc"}, Attachment: "cross-platform"},
		},
		{
			name:   "keeps no attachment when the browser reports none",
			opts:   virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true},
			aaguid: applePasswords,
			want: passkeyView{Name: "Apple Passwords", Provider: "Apple Passwords", BackupEligible: true, BackedUp: true, Synced: true,
				Transports: []string{"internal"}},
		},
		{
			// Clients ignore unknown transports (§5.8.4), and stored ones go
			// back out in the options; a NUL used to be a 500 on PostgreSQL
			// and a comma split one value into two.
			name:     "keeps only the known transports, once each",
			opts:     virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true},
			reported: []string{"hybrid", "bad\x00", "usb,nfc", "internal", "hybrid", strings.Repeat("t", 1000), "smart-card"},
			want: passkeyView{Name: "Passkey", Provider: "Unknown provider", BackupEligible: true, BackedUp: true, Synced: true,
				Transports: []string{"hybrid", "internal", "smart-card"}},
		},
		{
			name:   "keeps the name the member gave, trimmed",
			opts:   virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true},
			aaguid: applePasswords, given: "  Ada’s iPhone \t", attachment: "platform",
			want: passkeyView{Name: "Ada’s iPhone", Provider: "Apple Passwords", BackupEligible: true, BackedUp: true, Synced: true,
				Transports: []string{"internal"}, Attachment: "platform"},
		},
		{
			name:   "keeps a name of 64 characters",
			opts:   virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true},
			aaguid: applePasswords, given: strings.Repeat("é", 64),
			want: passkeyView{Name: strings.Repeat("é", 64), Provider: "Apple Passwords", BackupEligible: true, BackedUp: true, Synced: true,
				Transports: []string{"internal"}},
		},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				m := newMemberWithoutPasskey(t, s, fmt.Sprintf("ada%d@example.com", i))
				k := newSoftKeyWith(t, s, tt.opts)
				if tt.aaguid != nil {
					copy(k.Auth.Aaguid[:], tt.aaguid)
				}
				cer := begin(t, m.c, "/api/passkeys/register/begin", map[string]any{})
				a := k.attestationFor(cer)
				a.Attachment = tt.attachment
				if tt.reported != nil {
					a.Transports = tt.reported
				}
				r := finishRegister(m.c, cer.FlowID, a.JSON(), tt.given)
				wantStatus(t, r, http.StatusCreated)
				var created struct {
					Passkey passkeyView `json:"passkey"`
				}
				r.JSON(t, &created)
				got := created.Passkey
				if got.ID == "" || got.LastUsedAt != nil {
					t.Errorf("new passkey %+v, want an id and no last use", got)
				}
				if at, err := time.Parse(time.RFC3339Nano, got.CreatedAt); err != nil || !at.Equal(s.Clock.Now()) {
					t.Errorf("createdAt %q, want the clock's %v", got.CreatedAt, s.Clock.Now())
				}
				want := tt.want
				want.ID, want.CreatedAt = got.ID, got.CreatedAt
				if !equalView(got, want) {
					t.Errorf("registered\n got %+v\nwant %+v", got, want)
				}
				list := listPasskeys(t, m.c)
				if len(list) != 1 || !equalView(list[0], got) {
					t.Errorf("list %+v, want just %+v", list, got)
				}
				pks, err := s.DB.ListPasskeys(context.Background(), m.id)
				if err != nil {
					t.Fatal(err)
				}
				if p := pks[0]; string(p.AAGUID) != string(k.Auth.Aaguid[:]) || string(p.CredentialID) != string(k.Cred.ID) ||
					string(p.UserHandle) != string(k.Auth.Options.UserHandle) || p.SignCount != 0 || len(p.PublicKey) == 0 {
					t.Errorf("stored %+v, want the authenticator's AAGUID, credential id, the member's handle", p)
				}
			})
		}
	})
}

func equalView(a, b passkeyView) bool {
	if (a.LastUsedAt == nil) != (b.LastUsedAt == nil) || a.LastUsedAt != nil && *a.LastUsedAt != *b.LastUsedAt {
		return false
	}
	a.LastUsedAt, b.LastUsedAt = nil, nil
	return a.ID == b.ID && a.Name == b.Name && a.Provider == b.Provider && a.CreatedAt == b.CreatedAt &&
		a.BackupEligible == b.BackupEligible && a.BackedUp == b.BackedUp && a.Synced == b.Synced &&
		slices.Equal(a.Transports, b.Transports) && a.Attachment == b.Attachment
}

func TestPasskeyListShape(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		m := newPasskeyMember(t, s, "ada@example.com")
		r := m.c.JSON(http.MethodGet, "/api/passkeys", nil)
		wantStatus(t, r, http.StatusOK)
		var list struct {
			Passkeys []map[string]json.RawMessage `json:"passkeys"`
		}
		r.JSON(t, &list)
		if len(list.Passkeys) != 1 {
			t.Fatalf("list %s", r.Body)
		}
		var keys []string
		for k := range list.Passkeys[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"attachment", "backedUp", "backupEligible", "createdAt", "id", "lastUsedAt", "name", "provider", "synced", "transports"}
		if !slices.Equal(keys, want) {
			t.Errorf("Passkey members %v, want API.md's plus synced and attachment: %v", keys, want)
		}
		if string(list.Passkeys[0]["lastUsedAt"]) != "null" {
			t.Errorf("lastUsedAt %s before any use, want null", list.Passkeys[0]["lastUsedAt"])
		}
		wantAPIError(t, s.Client(t).JSON(http.MethodGet, "/api/passkeys", nil), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestPasskeyRegisterErrorReport(t *testing.T) {
	tests := []struct {
		name     string
		reported string
		code     string
	}{
		{"explains a passkey already on the device (InvalidStateError)", "InvalidStateError", "passkey_on_device"},
		{"calms a cancelled ceremony (NotAllowedError)", "NotAllowedError", "cancelled"},
		{"calms an aborted ceremony (AbortError)", "AbortError", "cancelled"},
		{"explains an unsupported device (NotSupportedError)", "NotSupportedError", "not_supported"},
		{"explains a wrong address (SecurityError)", "SecurityError", "security"},
		{"falls back for anything else", "UnknownError", "failed"},
		{"falls back for a 1000-character name", strings.Repeat("Error", 200), "failed"},
		{"falls back for no name", "", "failed"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		messages := map[string]string{}
		for i, tt := range tests {
			m := newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i))
			cer := begin(t, m.c, "/api/passkeys/register/begin", map[string]any{})
			before := s.stateOf(t, m)
			r := m.c.JSON(http.MethodPost, "/api/passkeys/register/error", map[string]any{"flowId": cer.FlowID, "name": tt.reported})
			wantStatus(t, r, http.StatusOK)
			var answer struct{ Code, Message string }
			r.JSON(t, &answer)
			if answer.Code != tt.code || len(answer.Message) < 20 {
				t.Errorf("%s: %s, want code %s with a sentence", tt.name, r.Body, tt.code)
			}
			if prev, ok := messages[tt.code]; ok && prev != answer.Message {
				t.Errorf("%s: code %s with two messages", tt.name, tt.code)
			}
			messages[tt.code] = answer.Message
			s.wantStateUnchanged(t, before, m)
			events, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: m.id, Type: "passkey_register_error"})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Outcome != tt.code {
				t.Errorf("%s: events %+v, want one with outcome %s", tt.name, events, tt.code)
			} else if name, _ := events[0].Data["name"].(string); len(name) > 64 {
				t.Errorf("%s: event keeps a %d-byte name", tt.name, len(name))
			}
			// The ceremony is over: its challenge is gone.
			wantRefused(t, finishRegister(m.c, cer.FlowID, newSoftKey(t, s).attestationFor(cer).JSON(), ""), 400, "invalid_credential", "unknown_flow")
		}
		if messages["passkey_on_device"] == messages["cancelled"] || messages["passkey_on_device"] == messages["failed"] {
			t.Errorf("the duplicate passkey is not explained apart: %v", messages)
		}
		if !strings.Contains(strings.ToLower(messages["passkey_on_device"]), "already") {
			t.Errorf("passkey_on_device says %q, want it to say the device already has one", messages["passkey_on_device"])
		}
		wantAPIError(t, s.Client(t).JSON(http.MethodPost, "/api/passkeys/register/error", map[string]any{"name": "InvalidStateError"}),
			http.StatusUnauthorized, "unauthenticated")

		// Another member's ceremony id ends nothing: that ceremony still
		// finishes.
		owner := newPasskeyMember(t, s, "owner@example.com")
		other := newPasskeyMember(t, s, "other@example.com")
		cer := begin(t, owner.c, "/api/passkeys/register/begin", map[string]any{})
		wantStatus(t, other.c.JSON(http.MethodPost, "/api/passkeys/register/error", map[string]any{"flowId": cer.FlowID, "name": "NotAllowedError"}), http.StatusOK)
		wantStatus(t, finishRegister(owner.c, cer.FlowID, newSoftKey(t, s).attestationFor(cer).JSON(), ""), http.StatusCreated)
	})
}

func TestPasskeyRename(t *testing.T) {
	tests := []struct {
		name   string
		id     func(ada, bob string) string
		body   any
		status int
		code   string
		want   string // ada's passkey name afterwards
	}{
		{"renames a passkey", own, map[string]any{"name": "Work laptop"}, 200, "", "Work laptop"},
		{"trims the new name", own, map[string]any{"name": "  Phone\n"}, 200, "", "Phone"},
		{"accepts 64 characters", own, map[string]any{"name": strings.Repeat("ß", 64)}, 200, "", strings.Repeat("ß", 64)},
		{"refuses an empty name", own, map[string]any{"name": ""}, 400, "invalid_request", "Passkey"},
		{"refuses a blank name", own, map[string]any{"name": " \t "}, 400, "invalid_request", "Passkey"},
		{"refuses 65 characters", own, map[string]any{"name": strings.Repeat("ß", 65)}, 400, "invalid_request", "Passkey"},
		{"refuses a control character", own, map[string]any{"name": "a\x07b"}, 400, "invalid_request", "Passkey"},
		{"refuses a NUL", own, map[string]any{"name": "a\x00b"}, 400, "invalid_request", "Passkey"},
		{"refuses a name that is not a string", own, map[string]any{"name": 5}, 400, "invalid_request", "Passkey"},
		{"refuses a body that is not JSON", own, "{", 400, "invalid_request", "Passkey"},
		{"hides another member's passkey", theirs, map[string]any{"name": "Mine now"}, 404, "not_found", "Passkey"},
		{"hides an unknown id", func(string, string) string { return "00000000-0000-4000-8000-000000000000" }, map[string]any{"name": "x"}, 404, "not_found", "Passkey"},
		{"hides a 10 KB id", func(string, string) string { return strings.Repeat("a", 10<<10) }, map[string]any{"name": "x"}, 404, "not_found", "Passkey"},
		{"hides an id with a NUL", func(a, _ string) string { return a + "%00" }, map[string]any{"name": "x"}, 404, "not_found", "Passkey"},
	}
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ada := newPasskeyMember(t, s, fmt.Sprintf("ada%d@example.com", i))
				bob := newPasskeyMember(t, s, fmt.Sprintf("bob%d@example.com", i))
				adaID, bobID := listPasskeys(t, ada.c)[0].ID, listPasskeys(t, bob.c)[0].ID
				bobBefore := s.stateOf(t, bob)
				body, ok := tt.body.(string)
				var r = ada.c.Do(http.MethodPatch, "/api/passkeys/"+tt.id(adaID, bobID), []byte(body), jsonHeader())
				if !ok {
					r = ada.c.JSON(http.MethodPatch, "/api/passkeys/"+tt.id(adaID, bobID), tt.body)
				}
				if tt.status == http.StatusOK {
					wantStatus(t, r, http.StatusOK)
					var answer struct{ Passkey passkeyView }
					r.JSON(t, &answer)
					if answer.Passkey.ID != adaID || answer.Passkey.Name != tt.want {
						t.Errorf("answer %+v", answer.Passkey)
					}
				} else {
					wantAPIError(t, r, tt.status, tt.code)
				}
				if got := listPasskeys(t, ada.c)[0].Name; got != tt.want {
					t.Errorf("name %q, want %q", got, tt.want)
				}
				s.wantStateUnchanged(t, bobBefore, bob)
			})
		}
	})
}

func own(ada, _ string) string    { return ada }
func theirs(_, bob string) string { return bob }

func TestPasskeyDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)

		t.Run("deletes a passkey that then never signs in again", func(t *testing.T) {
			t.Parallel()
			ada := newPasskeyMember(t, s, "ada@example.com")
			id := listPasskeys(t, ada.c)[0].ID
			stepUp(t, ada)
			r := ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil)
			wantStatus(t, r, http.StatusNoContent)
			if len(r.Body) != 0 {
				t.Errorf("204 with a body: %s", r.Body)
			}
			if list := listPasskeys(t, ada.c); len(list) != 0 {
				t.Errorf("list after delete %+v", list)
			}
			for _, body := range []any{map[string]any{}, map[string]any{"email": ada.email}} {
				c := s.Client(t)
				cer := begin(t, c, "/api/passkeys/login/begin", body)
				wantRefused(t, finishLogin(c, cer.FlowID, ada.key.assertionFor(cer).SignCount(9).Sign().JSON(), "modal"), 401, "passkey_rejected", "")
				wantSignedOut(t, c)
			}
			wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusNotFound, "not_found")
			events, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: ada.id, Type: "passkey_removed"})
			if err != nil || len(events) != 1 || events[0].Data["passkey"] != id {
				t.Errorf("passkey_removed events %+v (%v)", events, err)
			}
		})
		t.Run("hides another member's passkey", func(t *testing.T) {
			t.Parallel()
			ada := newPasskeyMember(t, s, "ada2@example.com")
			bob := newPasskeyMember(t, s, "bob2@example.com")
			stepUp(t, ada)
			before := s.stateOf(t, ada, bob)
			wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+listPasskeys(t, bob.c)[0].ID, nil), http.StatusNotFound, "not_found")
			wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+strings.Repeat("x", 10<<10), nil), http.StatusNotFound, "not_found")
			s.wantStateUnchanged(t, before, ada, bob)
			wantStatus(t, bob.key.signin(s.Client(t), map[string]any{}, "modal"), http.StatusOK)
		})
		t.Run("refuses without a session", func(t *testing.T) {
			t.Parallel()
			ada := newPasskeyMember(t, s, "ada3@example.com")
			before := s.stateOf(t, ada)
			wantAPIError(t, s.Client(t).JSON(http.MethodDelete, "/api/passkeys/"+listPasskeys(t, ada.c)[0].ID, nil), http.StatusUnauthorized, "unauthenticated")
			s.wantStateUnchanged(t, before, ada)
		})
	})
}

// TestPasskeyReauthWindow: deleting a passkey and starting to add one need
// a sign-in within the reauth window (5 minutes); a fresh passkey sign-in
// opens it again.
func TestPasskeyReauthWindow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		id := listPasskeys(t, ada.c)[0].ID
		before := s.stateOf(t, ada)
		s.Clock.Advance(6 * time.Minute)

		wantAPIError(t, ada.c.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusForbidden, "reauth_required")
		wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{}), http.StatusForbidden, "reauth_required")
		s.wantStateUnchanged(t, before, ada)
		// Renaming is not sensitive; listing neither.
		wantStatus(t, ada.c.JSON(http.MethodPatch, "/api/passkeys/"+id, map[string]any{"name": "Still mine"}), http.StatusOK)

		fresh := s.Client(t)
		wantStatus(t, ada.key.signin(fresh, map[string]any{}, "modal"), http.StatusOK)
		begin(t, fresh, "/api/passkeys/register/begin", map[string]any{})
		wantStatus(t, fresh.JSON(http.MethodDelete, "/api/passkeys/"+id, nil), http.StatusNoContent)
	})
}

// TestPasskeyUseIsRecorded: each sign-in stores the sign count, the BE/BS
// flags as the authenticator reports them now (a passkey that gets backed
// up shows as synced) and the time of use.
func TestPasskeyUseIsRecorded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		ada.key = newSoftKeyWith(t, s, virtualwebauthn.AuthenticatorOptions{BackupEligible: true})
		wantStatus(t, ada.key.register(ada.c), http.StatusCreated)
		if p := listPasskeys(t, ada.c)[0]; p.BackedUp || p.Synced || !p.BackupEligible {
			t.Fatalf("registered %+v, want eligible, not backed up", p)
		}
		for i, step := range []struct {
			name       string
			flags      byte // BS set or not
			wantSynced bool
		}{
			{"follows BS from false to true", passkeytest.FlagBS, true},
			{"keeps BS true", passkeytest.FlagBS, true},
			{"follows BS from true to false", 0, false},
		} {
			s.Clock.Advance(time.Minute)
			c := s.Client(t)
			cer := begin(t, c, "/api/passkeys/login/begin", map[string]any{})
			a := ada.key.assertionFor(cer).Flags(step.flags, passkeytest.FlagBS).SignCount(uint32(10 + i)).Sign()
			wantStatus(t, finishLogin(c, cer.FlowID, a.JSON(), "conditional"), http.StatusOK)
			p := listPasskeys(t, ada.c)[0]
			if p.BackedUp != step.wantSynced || p.Synced != step.wantSynced || !p.BackupEligible {
				t.Errorf("%s: %+v", step.name, p)
			}
			if p.LastUsedAt == nil {
				t.Fatalf("%s: no lastUsedAt", step.name)
			}
			if at, err := time.Parse(time.RFC3339Nano, *p.LastUsedAt); err != nil || !at.Equal(s.Clock.Now()) {
				t.Errorf("%s: lastUsedAt %s, want %v", step.name, *p.LastUsedAt, s.Clock.Now())
			}
			pks, err := s.DB.ListPasskeys(context.Background(), ada.id)
			if err != nil {
				t.Fatal(err)
			}
			if pks[0].SignCount != uint32(10+i) {
				t.Errorf("%s: sign count %d, want %d", step.name, pks[0].SignCount, 10+i)
			}
		}
	})
}
