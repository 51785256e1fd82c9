package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/rollout"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/store"
	"github.com/keyshift/keyshift/internal/testdb"
)

// nextOf returns a sign-in answer's "next" ("" for null).
func nextOf(t *testing.T, r *servertest.Response) string {
	t.Helper()
	var a struct {
		Next *string `json:"next"`
	}
	r.JSON(t, &a)
	if a.Next == nil {
		return ""
	}
	return *a.Next
}

// wantNext fails t unless the sign-in answer r says next nudge (true:
// "enroll_passkey", false: null).
func wantNext(t *testing.T, what string, r *servertest.Response, nudge bool) {
	t.Helper()
	want := ""
	if nudge {
		want = "enroll_passkey"
	}
	if got := nextOf(t, r); got != want {
		t.Errorf("%s: next %q, want %q", what, got, want)
	}
}

// moveRollout changes the rollout as an operator would (forced: the test
// lowers the ramp too).
func moveRollout(t *testing.T, s *liveSite, ch rollout.Change) {
	t.Helper()
	ch.Force, ch.Reason = true, "test"
	if _, err := s.Rollout.Change(context.Background(), ch, "test"); err != nil {
		t.Fatal(err)
	}
}

// signupFrom signs email up on c from an address of its own (see
// newMemberWithoutPasskey) and returns the answer.
func signupFrom(c *servertest.Client, email string) *servertest.Response {
	n := signupAddresses.Add(1)
	return postJSON(c, "/api/signup", credentials(email, goodPassword), "X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
}

// cohortMember is one row of the table test: a member, what places them in
// the rollout, and what their account holds.
type cohortMember struct {
	name     string
	internal bool // at the internal domain
	beta     bool // switched "Try passkeys" on
	ramp     bool // placed by the ramp (everyone not internal)
	passkey  bool
	new      bool // made since the rollout reached new-users
	m        *passkeyMember
}

// placed is the member as the offer table sees them at phase and percent.
func (c *cohortMember) placed(phase rollout.Phase, percent int) rollout.Member {
	return rollout.Member{Internal: c.internal, Beta: c.beta, InRamp: c.ramp && percent == 100,
		New: c.new && phase >= rollout.NewUsers, HasPasskey: c.passkey, HasPassword: true}
}

// TestTheAPIFollowsTheRolloutTable: for every phase, at the ramp's ends
// (100 % and 0 %), for members of every cohort with and without a passkey,
// the API answers what the offer table (rollout.Offers, docs/rollout.md)
// says: register/begin (200 or 403 not_in_rollout), "next" after a
// password sign-in and after a sign-up, POST /api/nudge (204 or 403
// not_in_rollout) and the beta switch (403 before the beta phase).
func TestTheAPIFollowsTheRolloutTable(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		moveRollout(t, s, rollout.Change{Internal: &rollout.Internal{Domains: []string{"staff.example"}}})

		members := []*cohortMember{
			{name: "internal, password", internal: true},
			{name: "internal, passkey", internal: true, passkey: true},
			{name: "beta, password", beta: true, ramp: true},
			{name: "beta, passkey", beta: true, ramp: true, passkey: true},
			{name: "ramp, older account, password", ramp: true},
			{name: "ramp, older account, passkey", ramp: true, passkey: true},
		}
		join := func(c *cohortMember, i int) {
			t.Helper()
			domain := "example.org"
			if c.internal {
				domain = "staff.example"
			}
			c.m = newMemberWithoutPasskey(t, s, fmt.Sprintf("m%d@%s", i, domain))
			if c.passkey {
				c.m.key = newSoftKey(t, s)
				wantStatus(t, c.m.key.register(c.m.c), http.StatusCreated)
			}
		}
		// The older accounts, made while everyone may add a passkey.
		for i, c := range members {
			join(c, i)
		}
		// In beta the switch opens; two members take it.
		moveRollout(t, s, rollout.Change{Phase: new(rollout.Beta)})
		for _, c := range members {
			if c.beta {
				r := c.m.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passkeyBeta": true})
				wantStatus(t, r, http.StatusOK)
			}
		}
		// Accounts made since the rollout reached new-users.
		s.Clock.Advance(time.Minute)
		moveRollout(t, s, rollout.Change{Phase: new(rollout.NewUsers)})
		s.Clock.Advance(time.Minute)
		for _, c := range []*cohortMember{
			{name: "ramp, new account, password", ramp: true, new: true},
			{name: "ramp, new account, passkey", ramp: true, new: true, passkey: true},
		} {
			join(c, len(members))
			members = append(members, c)
		}

		visitors := 0
		// Downwards, so that moving the phase keeps new-users' moment
		// until it goes below it.
		for phase := rollout.PasswordRetirement; phase >= rollout.Off; phase-- {
			for _, percent := range []int{100, 0} {
				moveRollout(t, s, rollout.Change{Phase: &phase, Percent: &percent})
				at := fmt.Sprintf("%s at %d %%", phase, percent)
				for _, c := range members {
					o := rollout.Offers(phase, c.placed(phase, percent))
					what := at + ", " + c.name
					r := c.m.c.Signin(c.m.email, goodPassword)
					wantStatus(t, r, http.StatusOK)
					wantNext(t, what+", password sign-in", r, o.NudgeAfterSignin)

					r = c.m.c.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{})
					if o.AddPasskey {
						wantStatus(t, r, http.StatusOK)
					} else {
						wantAPIError(t, r, http.StatusForbidden, "not_in_rollout")
					}
					r = c.m.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "later"})
					if o.AddPasskey {
						wantStatus(t, r, http.StatusNoContent)
						// Undone, so the next round finds the nudge due.
						wantStatus(t, c.m.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "ask_again"}), http.StatusNoContent)
					} else {
						wantAPIError(t, r, http.StatusForbidden, "not_in_rollout")
					}
					var prefs struct{ PasskeyBeta, Passwordless bool }
					r = c.m.c.JSON(http.MethodGet, "/api/account/preferences", nil)
					wantStatus(t, r, http.StatusOK)
					r.JSON(t, &prefs)
					if prefs.PasskeyBeta != c.beta || prefs.Passwordless {
						t.Errorf("%s: preferences %s", what, r.Body)
					}
				}
				// "Try passkeys" opens in beta.
				outsider := members[4].m.c
				r := outsider.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passkeyBeta": true})
				if phase >= rollout.Beta {
					wantStatus(t, r, http.StatusOK)
					wantStatus(t, outsider.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passkeyBeta": false}), http.StatusOK)
				} else {
					wantAPIError(t, r, http.StatusForbidden, "not_in_rollout")
				}
				// Sign-ups: an internal address and one placed by the ramp.
				for _, v := range []*cohortMember{{name: "internal", internal: true}, {name: "ramp", ramp: true}} {
					visitors++
					domain := "example.net"
					if v.internal {
						domain = "staff.example"
					}
					v.new = true
					r := signupFrom(s.client(), fmt.Sprintf("v%d@%s", visitors, domain))
					wantStatus(t, r, http.StatusCreated)
					wantNext(t, at+", sign-up of a "+v.name+" visitor", r, rollout.Offers(phase, v.placed(phase, percent)).NudgeAfterSignup)
				}
			}
		}
	})
}

// TestTheRolloutNeverGatesWhatMembersHave: with the rollout off and the
// ramp at 0, a member's passkey still signs in, is listed, renamed and
// removed; password sign-in works; only adding a passkey is refused, and
// nobody is nudged.
func TestTheRolloutNeverGatesWhatMembersHave(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		bea := newMemberWithoutPasskey(t, s, "bea@example.com")
		zero := 0
		moveRollout(t, s, rollout.Change{Phase: new(rollout.Off), Percent: &zero})

		phone := s.client()
		r := ada.key.signin(phone, map[string]any{}, "modal")
		wantStatus(t, r, http.StatusOK)
		wantNext(t, "passkey sign-in", r, false)
		list := listPasskeys(t, phone)
		if len(list) != 1 {
			t.Fatalf("%d passkeys listed, want 1", len(list))
		}
		r = phone.JSON(http.MethodPatch, "/api/passkeys/"+list[0].ID, map[string]any{"name": "Phone"})
		wantStatus(t, r, http.StatusOK)
		// A member who has a passkey may always add another.
		wantStatus(t, phone.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{}), http.StatusOK)
		wantStatus(t, phone.JSON(http.MethodDelete, "/api/passkeys/"+list[0].ID, nil), http.StatusNoContent)

		r = bea.c.Signin(bea.email, goodPassword)
		wantStatus(t, r, http.StatusOK)
		wantNext(t, "password sign-in outside the rollout", r, false)
		wantAPIError(t, bea.c.JSON(http.MethodPost, "/api/passkeys/register/begin", map[string]any{}), http.StatusForbidden, "not_in_rollout")
		for _, action := range []string{"later", "never", "ask_again"} {
			wantAPIError(t, bea.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": action}), http.StatusForbidden, "not_in_rollout")
		}
		r = s.client().Signin(ada.email, goodPassword)
		wantStatus(t, r, http.StatusOK)
	})
}

// TestTheNudgeAPI: answers are validated, need a session, and "later"
// and "never" stop the nudge (each an event); "Go passwordless" needs a
// recent sign-in; an empty preferences change is a bad request.
func TestTheNudgeAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")

		wantAPIError(t, s.client().JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "later"}), http.StatusUnauthorized, "unauthenticated")
		wantAPIError(t, ada.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "sometime"}), http.StatusBadRequest, "invalid_request")
		wantAPIError(t, ada.c.Do(http.MethodPost, "/api/nudge", []byte(`{"action": 7}`), jsonHeader()), http.StatusBadRequest, "invalid_request")
		wantAPIError(t, ada.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{}), http.StatusBadRequest, "invalid_request")

		wantNext(t, "a sign-in before any answer", ada.c.Signin(ada.email, goodPassword), true)
		wantStatus(t, ada.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "later"}), http.StatusNoContent)
		wantNext(t, "a sign-in right after 'Not now'", ada.c.Signin(ada.email, goodPassword), false)
		s.Clock.Advance(rollout.FirstSnooze)
		wantNext(t, "a sign-in a week after 'Not now'", ada.c.Signin(ada.email, goodPassword), true)
		wantStatus(t, ada.c.JSON(http.MethodPost, "/api/nudge", map[string]any{"action": "never"}), http.StatusNoContent)
		s.Clock.Advance(365 * 24 * time.Hour)
		wantNext(t, "a sign-in a year after 'Don't ask again'", ada.c.Signin(ada.email, goodPassword), false)

		// A sign-in's session is nudged once: the answer and its event.
		evs := eventsOf(t, s, ada.id)
		if evs[rollout.EventNudgeShown] != 2 || evs[rollout.EventNudgeAnswered] != 2 {
			t.Errorf("events %v, want 2 %s and 2 %s", evs, rollout.EventNudgeShown, rollout.EventNudgeAnswered)
		}

		// Going passwordless is sensitive: a stale sign-in is asked to
		// sign in again before anything else is judged.
		s.Clock.Advance(s.Config.Passkey.ReauthWindow + time.Second)
		r := ada.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passwordless": true})
		wantAPIError(t, r, http.StatusForbidden, "reauth_required")
		ada.c.Signin(ada.email, goodPassword)
		r = ada.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passwordless": true})
		wantAPIError(t, r, http.StatusForbidden, "not_in_rollout")
		moveRollout(t, s, rollout.Change{Phase: new(rollout.PasswordRetirement)})
		r = ada.c.JSON(http.MethodPut, "/api/account/preferences", map[string]any{"passwordless": true})
		if e := wantAPIError(t, r, http.StatusConflict, "not_ready"); e.Error.Reason != "single_device" {
			t.Errorf("reason %q, want single_device", e.Error.Reason)
		}
	})
}

// eventsOf counts userID's events by type.
func eventsOf(t *testing.T, s *liveSite, userID string) map[string]int {
	t.Helper()
	evs, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.Type]++
	}
	return n
}

// TestTheAutomaticUpgradeAPI: /api/passkeys/upgrade/begin answers a
// conditional create, only within 5 minutes of a password sign-in and
// while the rollout lets the member add a passkey and is not held; the
// passkey it makes needs no user verification, which an ordinary
// registration does, and is recorded as an upgrade.
func TestTheAutomaticUpgradeAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newMemberWithoutPasskey(t, s, "ada@example.com")
		const uv = 0x04 // the authenticator data's UV flag
		upgradeBegin := func(c *servertest.Client) *servertest.Response {
			return c.JSON(http.MethodPost, "/api/passkeys/upgrade/begin", map[string]any{})
		}

		// Signed up, not signed in by password: nothing to upgrade.
		e := wantAPIError(t, upgradeBegin(ada.c), http.StatusBadRequest, "invalid_request")
		if e.Error.Reason != "upgrade_not_offered" {
			t.Errorf("after a sign-up: reason %q", e.Error.Reason)
		}
		wantStatus(t, ada.c.Signin(ada.email, goodPassword), http.StatusOK)

		// An ordinary registration refuses an answer without UV.
		key := newSoftKey(t, s)
		cer := begin(t, ada.c, "/api/passkeys/register/begin", map[string]any{})
		wantAPIError(t, finishRegister(ada.c, cer.FlowID, key.attestationFor(cer).Flags(0, uv).Sign().JSON(), ""), http.StatusBadRequest, "invalid_credential")

		// The upgrade: mediation conditional, UV preferred, and an answer
		// without UV is a passkey, recorded as an upgrade.
		r := upgradeBegin(ada.c)
		wantStatus(t, r, http.StatusOK)
		var up struct {
			FlowID    string `json:"flowId"`
			Mediation string `json:"mediation"`
			PublicKey struct {
				AuthenticatorSelection struct {
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
			} `json:"publicKey"`
		}
		r.JSON(t, &up)
		if up.Mediation != "conditional" || up.PublicKey.AuthenticatorSelection.UserVerification != "preferred" {
			t.Errorf("the upgrade's options: %s", r.Body)
		}
		cer = ceremony{FlowID: up.FlowID}
		r.JSON(t, &cer)
		key = newSoftKey(t, s)
		att := key.attestationFor(cer).Flags(0, uv).Sign()
		key.Auth.AddCredential(key.Cred)
		wantStatus(t, finishRegister(ada.c, cer.FlowID, att.JSON(), ""), http.StatusCreated)
		evs, err := s.DB.FindEvents(context.Background(), store.EventFilter{UserID: ada.id, Type: "passkey_added"})
		if err != nil || len(evs) != 1 || evs[0].Data["upgrade"] != true {
			t.Errorf("passkey_added events %+v (%v), want one with upgrade true", evs, err)
		}

		// Five minutes after the sign-in, no more.
		bea := newMemberWithoutPasskey(t, s, "bea@example.com")
		wantStatus(t, bea.c.Signin(bea.email, goodPassword), http.StatusOK)
		s.Clock.Advance(5*time.Minute + time.Second)
		wantAPIError(t, upgradeBegin(bea.c), http.StatusForbidden, "reauth_required")
		s.Clock.Advance(-(5*time.Minute + time.Second))

		// Outside the rollout, or while its guardrails hold it: refused.
		zero := 0
		moveRollout(t, s, rollout.Change{Percent: &zero})
		wantAPIError(t, upgradeBegin(bea.c), http.StatusForbidden, "not_in_rollout")
		moveRollout(t, s, rollout.Change{Percent: new(100)})
		if _, err := s.DB.HoldRollout(context.Background(), []string{"passkey_success_rate"}, s.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(rollout.Fresh) // every node's copy of the rollout is at most this old
		wantAPIError(t, upgradeBegin(bea.c), http.StatusForbidden, "not_in_rollout")
	})
}
