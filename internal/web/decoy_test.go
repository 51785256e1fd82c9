package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// answerShape is what a username-first answer shows of a member: how many
// credentials, each one's id length and transports, and which JSON members
// the options and each descriptor have.
type answerShape struct {
	count  int
	creds  []string // "len/transports", sorted
	fields string
}

func shapeOf(t *testing.T, raw json.RawMessage) answerShape {
	t.Helper()
	var top map[string]json.RawMessage
	mustUnmarshal(t, raw, &top)
	var o requestOptions
	mustUnmarshal(t, raw, &o)
	var descs []map[string]json.RawMessage
	mustUnmarshal(t, top["allowCredentials"], &descs)
	fields := strings.Join(slices.Sorted(maps.Keys(top)), ",")
	sh := answerShape{count: len(o.Allow)}
	for i, d := range o.Allow {
		sh.creds = append(sh.creds, fmt.Sprintf("%d/%s", len(passkeytest.Unb64(t, d.ID)), strings.Join(d.Transports, ",")))
		fields += ";" + strings.Join(slices.Sorted(maps.Keys(descs[i])), ",")
	}
	slices.Sort(sh.creds)
	sh.fields = fields
	return sh
}

// TestUsernameFirstDecoysLookLikeRealAnswers: a username-first sign-in for
// an address without passkeys answers with decoys drawn from the
// distribution of real answers — the number of passkeys, their id lengths
// and transports — and with the same JSON members, so that comparing
// answers tells nothing about which addresses have accounts. The same
// address always gets the same decoys.
func TestUsernameFirstDecoysLookLikeRealAnswers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ctx := context.Background()
		now := time.Now().UTC()
		// 90 members with a spread of passkeys, unlike the built-in
		// distribution: ids of 24 and 40 bytes, 1 to 3 passkeys.
		kinds := []struct {
			idLen      int
			transports []string
		}{{24, []string{"hybrid", "internal"}}, {40, []string{"usb"}}, {24, []string{"internal"}}}
		const members = 90
		real := map[string]answerShape{}
		for i := range members {
			email := fmt.Sprintf("member%02d@example.com", i)
			u := &account.User{ID: fmt.Sprintf("m-%02d", i), Email: email, EmailKey: email, EmailVerified: true,
				WebAuthnID: []byte(rand.Text()), CreatedAt: now, UpdatedAt: now, Origin: account.OriginImport}
			if err := s.DB.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for k := range 1 + i%3*(i%2) {
				kind := kinds[(i+k)%len(kinds)]
				id := make([]byte, kind.idLen)
				rand.Read(id)
				if err := s.DB.CreateCredential(ctx, &account.Credential{ID: fmt.Sprintf("c-%02d-%d", i, k), UserID: u.ID,
					Type: account.CredentialWebAuthn, CredentialID: id, PublicKey: []byte{0xa0}, Transports: kind.transports,
					CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Passkeys.RefreshDecoyShapes(ctx); err != nil {
			t.Fatal(err)
		}
		c := s.Client(t)
		answer := func(email string) answerShape {
			return shapeOf(t, begin(t, c, "/api/passkeys/login/begin", map[string]any{"email": email}).PublicKey)
		}
		realCounts, realCreds := map[int]int{}, map[string]bool{}
		for i := range members {
			sh := answer(fmt.Sprintf("member%02d@example.com", i))
			real[sh.fields] = sh
			realCounts[sh.count]++
			for _, c := range sh.creds {
				realCreds[c] = true
			}
		}
		const strangers = 300
		decoyCounts := map[int]int{}
		for i := range strangers {
			email := fmt.Sprintf("stranger%03d@example.org", i)
			sh := answer(email)
			if again := answer(strings.ToUpper(email)); !slices.Equal(again.creds, sh.creds) {
				t.Fatalf("%s: decoys %v then %v", email, sh.creds, again.creds)
			}
			decoyCounts[sh.count]++
			for _, c := range sh.creds {
				if !realCreds[c] {
					t.Errorf("%s: a decoy of shape %s, which no real passkey has (real: %v)", email, c, slices.Sorted(maps.Keys(realCreds)))
				}
			}
			// The JSON members are those of a real answer with as many
			// credentials.
			want := ""
			for f, r := range real {
				if r.count == sh.count {
					want = f
				}
			}
			if want != "" && sh.fields != want {
				t.Errorf("%s: members %s, a real answer has %s", email, sh.fields, want)
			}
		}
		for n, k := range realCounts {
			realShare, decoyShare := float64(k)/members, float64(decoyCounts[n])/strangers
			if decoyShare < realShare-0.1 || decoyShare > realShare+0.1 {
				t.Errorf("%d passkeys: %.2f of decoy answers, %.2f of real ones", n, decoyShare, realShare)
			}
		}
		for n := range decoyCounts {
			if realCounts[n] == 0 {
				t.Errorf("decoy answers with %d credentials; no member has that many", n)
			}
		}
	})
}
