package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// Sign-in ceremonies travel sealed in their flowId (package passkey,
// seal.go) and are recorded as spent when finished. These tests hold the
// promises that used to come from a stored row: any node finishes what
// another began, a ceremony finishes once even when raced, and a flowId
// means nothing to a site that did not seal it.

// nodeClient returns a client of in's origin that connects to node: nodes
// behind one load balancer serve the same origin.
func nodeClient(t *testing.T, in *servertest.Instance, node *servertest.Instance) *servertest.Client {
	c := in.Client(t)
	addr := node.Config.Listen
	c.HTTP.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return c
}

// sameOrigin makes a second node serve first's origin.
func sameOrigin(first *liveSite) servertest.Option {
	return func(c *config.Config) { c.Origin = first.URL }
}

func TestPasskeySigninAcrossNodes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		one := startPasskeySite(t, database)
		two := startPasskeySite(t, database, sameOrigin(one))
		ada := newPasskeyMember(t, one, "ada@example.com")

		t.Run("finishes on one node a sign-in begun on another, once", func(t *testing.T) {
			onOne, onTwo := one.Client(t), nodeClient(t, one.Instance, two.Instance)
			cer := begin(t, onOne, "/api/passkeys/login/begin", map[string]any{})
			a := ada.key.assertionFor(cer).JSON()
			wantStatus(t, finishLogin(onTwo, cer.FlowID, a, "modal"), http.StatusOK)
			wantRefused(t, finishLogin(onOne, cer.FlowID, a, "modal"), 401, "passkey_rejected", "unknown_flow")
			wantRefused(t, finishLogin(onTwo, cer.FlowID, a, "modal"), 401, "passkey_rejected", "unknown_flow")
			wantSignedOut(t, onOne)
		})

		t.Run("finishes a username-first sign-in begun on another node", func(t *testing.T) {
			onOne, onTwo := one.Client(t), nodeClient(t, one.Instance, two.Instance)
			cer := begin(t, onTwo, "/api/passkeys/login/begin", map[string]any{"email": ada.email})
			wantStatus(t, finishLogin(onOne, cer.FlowID, ada.key.assertionFor(cer).JSON(), "modal"), http.StatusOK)
		})
	})
}

func TestPasskeySigninFlowIDIsTheSitesOwn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		tests := []struct {
			name string
			// other starts the site whose flowId s is given.
			other func(t *testing.T) *liveSite
		}{
			{"refuses a flowId sealed by a site with its own database (another secret)", func(t *testing.T) *liveSite {
				return startPasskeySite(t, testdb.Backends()[0].Database(t), sameOrigin(s))
			}},
			{"refuses a flowId sealed on the same database for another origin", func(t *testing.T) *liveSite {
				return startPasskeySite(t, database)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				other := tt.other(t)
				cer := begin(t, nodeClient(t, other.Instance, other.Instance), "/api/passkeys/login/begin", map[string]any{})
				c := s.Client(t)
				before := s.stateOf(t, ada)
				wantRefused(t, finishLogin(c, cer.FlowID, ada.key.assertionFor(cer).JSON(), "modal"), 401, "passkey_rejected", "unknown_flow")
				wantSignedOut(t, c)
				s.wantStateUnchanged(t, before, ada)
			})
		}
	})
}

// TestPasskeySigninRace finishes one ceremony from ten browsers at once
// with the same correct assertion: one is signed in, nine are refused.
func TestPasskeySigninRace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		sessions := len(s.stateOf(t, ada)[ada.email].Sessions)
		cer := begin(t, s.Client(t), "/api/passkeys/login/begin", map[string]any{})
		body := mustJSON(t, map[string]any{"flowId": cer.FlowID, "credential": ada.key.assertionFor(cer).JSON(), "mediation": "modal"})
		const n = 10
		statuses := make([]int, n)
		reasons := make([]string, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				res, err := http.Post(s.URL+"/api/passkeys/login/finish", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				var e apiError
				json.NewDecoder(res.Body).Decode(&e)
				statuses[i], reasons[i] = res.StatusCode, e.Error.Reason
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i := range n {
			switch {
			case statuses[i] == http.StatusOK:
				ok++
			case statuses[i] != http.StatusUnauthorized || reasons[i] != "":
				// The refusal (unknown_flow: spent by the winner) is the log's,
				// never the answer's.
				t.Errorf("finish %d: %d %q, want 200 or 401 without a reason", i, statuses[i], reasons[i])
			}
		}
		if ok != 1 {
			t.Errorf("%d finishes signed in, want 1", ok)
		}
		if after := len(s.stateOf(t, ada)[ada.email].Sessions); after != sessions+1 {
			t.Errorf("sessions %d → %d, want one more", sessions, after)
		}
	})
}
