package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyshift/keyshift/internal/testdb"
)

// passkeyID is the id of the passkey a register/finish answer made.
func passkeyID(t *testing.T, r interface {
	JSON(t testing.TB, v any)
}) string {
	t.Helper()
	var p struct {
		Passkey struct {
			ID string `json:"id"`
		} `json:"passkey"`
	}
	r.JSON(t, &p)
	if p.Passkey.ID == "" {
		t.Fatal("the registration answer names no passkey")
	}
	return p.Passkey.ID
}

// TestTheMoveGuideOffersToRemoveOnlyTheMembersOtherPasskeys: after the
// guide made a new passkey (/account?moved=ID), the page lists the member's
// other passkeys with their remove forms; an id that is not one of the
// member's — another member's, or made up — shows the guide from its start
// and names nothing.
func TestTheMoveGuideOffersToRemoveOnlyTheMembersOtherPasskeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		s := startPasskeySite(t, database)
		ada := newPasskeyMember(t, s, "ada@example.com")
		second := newSoftKey(t, s)
		r := second.register(ada.c)
		wantStatus(t, r, http.StatusCreated)
		newID := passkeyID(t, r)
		bob := newPasskeyMember(t, s, "bob@example.com")
		r = newSoftKey(t, s).register(bob.c)
		wantStatus(t, r, http.StatusCreated)
		bobs := passkeyID(t, r)

		page := ada.c.Do(http.MethodGet, "/account?moved="+newID, nil, nil)
		wantStatus(t, page, http.StatusOK)
		body := string(page.Body)
		if !strings.Contains(body, `id="move-created"`) || strings.Count(body, `class="move-name"`) != 1 ||
			strings.Contains(body, `action="/account/passkeys/`+newID+`/delete" class="remove" data-passkey="`+newID+`" data-action="delete">
        <button type="submit" class="danger">`) {
			t.Errorf("the page after the move does not offer exactly the older passkey:\n%s", section(body, "move-manager"))
		}
		for _, id := range []string{bobs, "made-up", ""} {
			page := ada.c.Do(http.MethodGet, "/account?moved="+id, nil, nil)
			wantStatus(t, page, http.StatusOK)
			if b := string(page.Body); strings.Contains(b, `id="move-created"`) || !strings.Contains(b, `id="move-confirm"`) {
				t.Errorf("moved=%q: want the guide from its start:\n%s", id, section(b, "move-manager"))
			}
		}
	})
}

// section returns the part of an HTML page from the element with id on,
// for a failure message.
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return "(no #" + id + ")"
	}
	return body[i:min(len(body), i+2000)]
}

// TestBrowserMovingToAnotherPasswordManager: the account page's guide —
// confirm with the passkey in use (the old manager's), create the new one
// (the new manager's), remove the old one — and the next sign-in is by the
// new passkey.
func TestBrowserMovingToAnotherPasswordManager(t *testing.T) {
	t.Parallel()
	b := startInBrowser(t)
	old := b.tab.AddAuthenticator()
	b.signUp("ada@example.com")
	b.addPasskey()
	b.open("/account")
	b.tab.Run(
		chromedp.Click(chromedp.CSS("#move-manager summary")),
		chromedp.Click(chromedp.CSS("#move-confirm")),
	)
	b.tab.Wait("the guide's second step", `!document.getElementById("move-create").hidden`)
	wantWords(t, "the guide", b.tab.Text("#move-message"), "Confirmed")

	// The member switches managers: the old one is out of reach, the new
	// one answers the browser.
	oldCreds := old.Credentials()
	old.Remove()
	neu := b.tab.AddAuthenticator()
	b.tab.Run(chromedp.Click(chromedp.CSS("#move-create")))
	b.tab.Wait("the offer to remove the old passkey", `location.search.startsWith("?moved=") && document.readyState === "complete" &&
		document.querySelectorAll(".move-old form.remove").length === 1`)
	if n := len(neu.Credentials()); n != 1 {
		t.Fatalf("the new manager holds %d passkeys, want 1", n)
	}
	wantWords(t, "the guide", b.tab.Text("#move-created"), "is saved")

	b.tab.Run(chromedp.Click(chromedp.CSS(".move-old form.remove button")))
	b.tab.Wait("one passkey left", `document.readyState === "complete" && document.querySelectorAll(".passkey-list .passkey-name").length === 1`)

	// The old manager's passkey no longer signs in; the new one does.
	b.signOut()
	b.tab.WaitLocation("/account") // the autofill offers the new passkey and signs in at once
	if m := b.authMethod(); m != "passkey_conditional" {
		t.Errorf("signed in with %q, want the new passkey (passkey_conditional)", m)
	}
	if len(oldCreds) != 1 {
		t.Fatalf("the old manager held %d passkeys, want 1", len(oldCreds))
	}
}
