package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/passkey/passkeytest"
	"github.com/keyshift/keyshift/internal/readiness"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/testdb"
)

// truth is what the scripted population did, counted by the script
// itself as it goes: the figures every view must show.
type truth struct {
	success, failure map[string]int64 // by sign-in method
	clientMs         map[string][]int // the page times sent with successes
	signups          map[string]int64
	added            int64
	nudge            telemetry.Nudge
	duplicates       telemetry.Duplicates
	conditional      telemetry.Conditional
	recovery         map[string]int64
	// holding is each active member's passkey at their last activity.
	holding  map[string]bool
	accounts map[string]readiness.Holdings
}

// member is one account of the population, with its own browser and
// network address.
type member struct {
	email, ip string
	c         *servertest.Client
	key       *passkeytest.Key
	nudged    bool // the session c holds was nudged
	codes     []string
}

type population struct {
	t     *testing.T
	in    *servertest.Instance
	box   *mailtest.Server
	truth truth
	n     int
}

const truthPassword = "a long enough passphrase for the truth"

func (p *population) header(m *member, ms int) http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {m.ip}}
	if ms > 0 {
		h.Set("Keyshift-Signin-Ms", strconv.Itoa(ms))
	}
	return h
}

func (p *population) post(c *servertest.Client, m *member, path string, body any, ms int) *servertest.Response {
	p.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		p.t.Fatal(err)
	}
	return c.Do(http.MethodPost, path, b, p.header(m, ms))
}

func (p *population) want(r *servertest.Response, status int, what string) {
	p.t.Helper()
	if r.Status != status {
		p.t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
}

// signedIn counts a successful sign-in by method, the nudge its answer
// shows (the client sees "next"), and the member's activity.
func (p *population) signedIn(m *member, r *servertest.Response, method string, ms int) {
	p.t.Helper()
	var answer struct {
		Next *string `json:"next"`
	}
	r.JSON(p.t, &answer)
	p.truth.success[method]++
	p.truth.clientMs[method] = append(p.truth.clientMs[method], ms)
	m.nudged = answer.Next != nil && *answer.Next == "enroll_passkey"
	if m.nudged {
		p.truth.nudge.Shown++
	}
	p.truth.holding[m.email] = p.truth.accounts[m.email].Passkeys > 0
}

func (p *population) signup(email string) *member {
	p.t.Helper()
	p.n++
	m := &member{email: email, ip: fmt.Sprintf("10.77.0.%d", p.n), c: p.in.Client(p.t)}
	r := p.post(m.c, m, "/api/signup", map[string]string{"email": email, "password": truthPassword}, 0)
	p.want(r, http.StatusCreated, "sign-up "+email)
	var answer struct {
		Next *string `json:"next"`
	}
	r.JSON(p.t, &answer)
	if answer.Next != nil && *answer.Next == "enroll_passkey" {
		p.truth.nudge.Shown++
		m.nudged = true
	}
	p.truth.signups["password"]++
	p.truth.holding[email] = false
	p.truth.accounts[email] = readiness.Holdings{Password: true}
	// Proven, as its confirmation link would: an email sign-in to an
	// unproven address would clear the account first (takeover rules).
	u, err := p.in.DB.FindUserByEmailKey(p.t.Context(), email)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.in.DB.VerifyUserEmail(p.t.Context(), u.ID, p.in.Clock.Now()); err != nil {
		p.t.Fatal(err)
	}
	return m
}

type ceremony struct {
	FlowID    string          `json:"flowId"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func (p *population) begin(c *servertest.Client, m *member, path string, body any) ceremony {
	p.t.Helper()
	r := p.post(c, m, path, body, 0)
	p.want(r, http.StatusOK, path)
	var cer ceremony
	r.JSON(p.t, &cer)
	return cer
}

// addPasskey registers a software passkey in m's session.
func (p *population) addPasskey(m *member) {
	p.t.Helper()
	m.key = passkeytest.New(p.t, p.in.URL)
	cer := p.begin(m.c, m, "/api/passkeys/register/begin", map[string]any{})
	a := m.key.Attestation(cer.PublicKey)
	m.key.Auth.AddCredential(m.key.Cred)
	p.want(p.post(m.c, m, "/api/passkeys/register/finish", map[string]any{"flowId": cer.FlowID, "credential": a.JSON()}, 0),
		http.StatusCreated, "register "+m.email)
	p.truth.added++
	if m.nudged {
		p.truth.nudge.Accepted++ // a passkey added in a nudged session
	}
	h := p.truth.accounts[m.email]
	h.Passkeys, h.Synced = h.Passkeys+1, true // passkeytest's keys are backed up, like a provider's
	p.truth.accounts[m.email] = h
	p.truth.holding[m.email] = true
}

// passkeySignin signs m in on a fresh browser; mediation is "modal",
// "conditional" or "username" (the address first).
func (p *population) passkeySignin(m *member, mediation string, ms int) {
	p.t.Helper()
	c := p.in.Client(p.t)
	body, method, sent := map[string]any{}, "passkey_"+mediation, mediation
	switch mediation {
	case "conditional":
		body["mediation"] = "conditional"
		p.truth.conditional.Offered++
	case "username":
		body["email"], sent = m.email, "modal"
	}
	cer := p.begin(c, m, "/api/passkeys/login/begin", body)
	r := p.post(c, m, "/api/passkeys/login/finish", map[string]any{"flowId": cer.FlowID, "credential": m.key.Assertion(cer.PublicKey).JSON(),
		"mediation": sent}, ms)
	p.want(r, http.StatusOK, "passkey sign-in "+m.email)
	if mediation == "conditional" {
		p.truth.conditional.Used++
	}
	p.signedIn(m, r, method, ms)
}

func (p *population) passwordSignin(m *member, ms int) *servertest.Client {
	p.t.Helper()
	c := p.in.Client(p.t)
	r := p.post(c, m, "/api/signin/password", map[string]string{"email": m.email, "password": truthPassword}, ms)
	p.want(r, http.StatusOK, "password sign-in "+m.email)
	p.signedIn(m, r, "password", ms)
	return c
}

var codeRE = regexp.MustCompile(`(?m)^(\d{6})\s*$`)

// emailSignin signs m in with a mailed code on a fresh browser, which
// becomes m's.
func (p *population) emailSignin(m *member, ms int) {
	p.t.Helper()
	c := p.in.Client(p.t)
	before := p.signinMails(m.email)
	r := p.post(c, m, "/api/email/start", map[string]string{"email": m.email}, 0)
	p.want(r, http.StatusAccepted, "email start "+m.email)
	var flow struct {
		FlowID string `json:"flowId"`
	}
	r.JSON(p.t, &flow)
	var code string
	deadline := time.Now().Add(15 * time.Second)
	for code == "" && time.Now().Before(deadline) {
		if mails := p.signinMails(m.email); len(mails) > len(before) {
			code = codeRE.FindStringSubmatch(mails[len(mails)-1])[1]
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if code == "" {
		p.t.Fatalf("no sign-in code for %s", m.email)
	}
	r = p.post(c, m, "/api/email/finish", map[string]string{"flowId": flow.FlowID, "code": code}, ms)
	p.want(r, http.StatusOK, "email sign-in "+m.email)
	if p.truth.accounts[m.email].Passkeys > 0 {
		p.truth.recovery["email"]++ // for a passkey member, email is a way back in
	}
	p.signedIn(m, r, "email_code", ms)
	m.c = c
}

func (p *population) signinMails(to string) []string {
	var out []string
	for _, msg := range p.box.Messages() {
		if slices.Contains(msg.To, to) {
			if d := mailtest.Decode(p.t, msg.Raw); strings.Contains(d.Subject, "sign-in code") {
				out = append(out, d.Text)
			}
		}
	}
	return out
}

// TestEveryViewOfTheFiguresTellsTheTruth runs a known population over real
// HTTP — sign-ups, passkeys added, sign-ins by every method with the page's
// times, failures, autofill offers, nudge answers, email and recovery-code
// recoveries — counting as it goes, then checks that GET
// /api/admin/metrics, `keyshift report --json` and /admin/metrics.csv (and
// the dashboard's key figures) say exactly that.
func TestEveryViewOfTheFiguresTellsTheTruth(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, database string) {
		t.Parallel()
		token := strings.Repeat("t", 40)
		box := mailtest.Start(t)
		in := servertest.Start(t, database, func(c *config.Config) {
			c.AdminToken = token
			c.SMTPURLs = []string{box.URL()}
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		p := &population{t: t, in: in, box: box, truth: truth{success: map[string]int64{}, failure: map[string]int64{},
			clientMs: map[string][]int{}, signups: map[string]int64{}, recovery: map[string]int64{},
			holding: map[string]bool{}, accounts: map[string]readiness.Holdings{}}}
		admin := in.Client(t)
		var ro struct {
			Phase   string `json:"phase"`
			Percent int    `json:"percent"`
		}
		admin.Do(http.MethodGet, "/api/admin/rollout", nil, http.Header{"Authorization": {"Bearer " + token}}).JSON(t, &ro)
		if ro.Phase != "existing-users" || ro.Percent != 100 {
			t.Fatalf("the script assumes a fresh install's rollout (existing-users, 100 %%): %+v", ro)
		}

		// Six sign-ups by password; three add a passkey at once.
		ms := map[string]*member{}
		for _, name := range []string{"ana", "ben", "cat", "dan", "eve", "fay"} {
			ms[name] = p.signup(name + "@example.com")
		}
		// Ben makes recovery codes while his password sign-up is fresh: once
		// he has a passkey, only a passkey step-up would do.
		ben := ms["ben"]
		r := p.post(ben.c, ben, "/api/recovery-codes", map[string]any{}, 0)
		p.want(r, http.StatusCreated, "recovery codes")
		var rc struct {
			Codes []string `json:"codes"`
		}
		r.JSON(t, &rc)
		h := p.truth.accounts[ben.email]
		h.RecoveryCodes = len(rc.Codes)
		p.truth.accounts[ben.email] = h
		for _, name := range []string{"ana", "ben", "cat"} {
			p.addPasskey(ms[name])
		}

		// Passkey sign-ins, each from a fresh browser.
		p.passkeySignin(ms["ana"], "modal", 800)
		p.passkeySignin(ms["ana"], "modal", 1400)
		p.passkeySignin(ben, "conditional", 300)
		p.passkeySignin(ben, "conditional", 450)
		p.passkeySignin(ms["cat"], "username", 2100)
		// Autofill offered and not taken.
		stranger := &member{email: "stranger", ip: "10.77.1.1"}
		sc := in.Client(t)
		p.begin(sc, stranger, "/api/passkeys/login/begin", map[string]any{"mediation": "conditional"})
		p.truth.conditional.Offered++
		// A passkey keyshift does not know: a refused modal sign-in.
		unknown := passkeytest.New(t, in.URL)
		cer := p.begin(sc, stranger, "/api/passkeys/login/begin", map[string]any{})
		p.want(p.post(sc, stranger, "/api/passkeys/login/finish", map[string]any{"flowId": cer.FlowID,
			"credential": unknown.Assertion(cer.PublicKey).JSON(), "mediation": "modal"}, 0), http.StatusUnauthorized, "unknown passkey")
		p.truth.failure["passkey_modal"]++

		// Password sign-ins, and two refusals.
		dan, eve := ms["dan"], ms["eve"]
		danC := p.passwordSignin(dan, 2600)
		p.passwordSignin(dan, 3900)
		eveC := p.passwordSignin(eve, 3100)
		p.want(p.post(in.Client(t), dan, "/api/signin/password", map[string]string{"email": dan.email, "password": "not the one at all, no"}, 0),
			http.StatusUnauthorized, "a wrong password")
		p.want(p.post(sc, stranger, "/api/signin/password", map[string]string{"email": "nobody@example.com", "password": truthPassword}, 0),
			http.StatusUnauthorized, "an unknown address")
		p.truth.failure["password"] += 2
		// Their answers to the nudge.
		for _, a := range []struct {
			c      *servertest.Client
			m      *member
			action string
		}{{danC, dan, "later"}, {eveC, eve, "never"}} {
			p.want(p.post(a.c, a.m, "/api/nudge", map[string]string{"action": a.action}, 0), http.StatusNoContent, "nudge "+a.action)
		}
		p.truth.nudge.Later++
		p.truth.nudge.Never++

		// Email codes: fay's way in, and ana's way back (she has a passkey).
		p.emailSignin(ms["fay"], 21000)
		p.emailSignin(ms["ana"], 32000)

		// Fay, nudged after her email sign-in, takes up the offer there.
		if !ms["fay"].nudged {
			t.Fatal("the script assumes fay's email sign-in is nudged (a member without a passkey, existing-users)")
		}
		p.addPasskey(ms["fay"])
		// Ana tries to add a passkey her device holds already: the browser
		// refuses it (InvalidStateError, reported), then the server (409).
		ana := ms["ana"]
		cer = p.begin(ana.c, ana, "/api/passkeys/register/begin", map[string]any{})
		p.want(p.post(ana.c, ana, "/api/passkeys/register/error", map[string]string{"flowId": cer.FlowID, "name": "InvalidStateError"}, 0),
			http.StatusOK, "a duplicate refused by the browser")
		p.truth.duplicates.Browser++
		cer = p.begin(ana.c, ana, "/api/passkeys/register/begin", map[string]any{})
		p.want(p.post(ana.c, ana, "/api/passkeys/register/finish", map[string]any{"flowId": cer.FlowID,
			"credential": ana.key.Attestation(cer.PublicKey).JSON()}, 0), http.StatusConflict, "a duplicate refused by the server")
		p.truth.duplicates.Server++

		// A recovery code.
		rcC := in.Client(t)
		r = p.post(rcC, ben, "/api/signin/recovery-code", map[string]string{"email": ben.email, "code": rc.Codes[0]}, 61000)
		p.want(r, http.StatusOK, "recovery-code sign-in")
		p.truth.recovery["recovery_code"]++
		h = p.truth.accounts[ben.email]
		h.RecoveryCodes--
		p.truth.accounts[ben.email] = h
		p.signedIn(ben, r, "recovery_code", 61000)

		waitFolded(t, in)
		want := p.truth.document()

		// The admin API.
		r = admin.Do(http.MethodGet, "/api/admin/metrics", nil, http.Header{"Authorization": {"Bearer " + token}})
		p.want(r, http.StatusOK, "metrics")
		var api telemetry.Document
		r.JSON(t, &api)
		compareFigures(t, "the admin API", api, want)

		// keyshift report --json, the command itself.
		env := map[string]string{"KEYSHIFT_DATABASE": in.Config.Database}
		if in.Config.Pepper != "" {
			env["KEYSHIFT_PEPPER"] = in.Config.Pepper
		}
		out := runCmd(t, t.Context(), env, "report", "--json")
		if out.code != 0 {
			t.Fatalf("report: %d %s", out.code, out.stderr)
		}
		var report telemetry.Document
		if err := json.Unmarshal([]byte(out.stdout), &report); err != nil {
			t.Fatal(err)
		}
		compareFigures(t, "keyshift report --json", report, want)

		// The CSV: one row per day and method, summing to the successes.
		r = admin.Do(http.MethodGet, "/admin/metrics.csv", nil, http.Header{"Authorization": {"Bearer " + token}})
		p.want(r, http.StatusOK, "CSV")
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(rows[0], ",") != "start,step,cohort,method,signins" {
			t.Fatalf("CSV header %v", rows[0])
		}
		inCSV := map[string]int64{}
		days := map[string]bool{}
		for _, row := range rows[1:] {
			n, err := strconv.ParseInt(row[4], 10, 64)
			if err != nil || row[1] != "day" || row[2] != "all" {
				t.Fatalf("CSV row %v", row)
			}
			inCSV[row[3]] += n
			days[row[0]] = true
		}
		if !mapsEqual(inCSV, p.truth.success) {
			t.Errorf("the CSV's sign-ins by method %v, want %v", inCSV, p.truth.success)
		}
		if len(rows)-1 != len(days)*len(inCSV) || len(days) != 30 && len(days) != 31 {
			t.Errorf("the CSV has %d rows over %d days and %d methods: want one per day and method", len(rows)-1, len(days), len(inCSV))
		}

		// The dashboard's key figures, for a bearer.
		r = admin.Do(http.MethodGet, "/admin", nil, http.Header{"Authorization": {"Bearer " + token}})
		p.want(r, http.StatusOK, "dashboard")
		page := string(r.Body)
		for figure, value := range map[string]string{
			"accounts.total":               strconv.FormatInt(want.Accounts.Total, 10),
			"enrollmentRate.perSignin":     fmt.Sprintf("%.1f %%", 100*want.EnrollmentRate.PerSignin),
			"enrollmentRate.perActiveUser": fmt.Sprintf("%.1f %%", 100*want.EnrollmentRate.PerActiveUser),
			"conditionalFillRate":          fmt.Sprintf("%.1f %%", 100*want.ConditionalFillRate),
			"signups":                      strconv.FormatInt(want.Signups, 10),
			"passkeysAdded":                strconv.FormatInt(want.PasskeysAdded, 10),
			"nudge.shown":                  strconv.FormatInt(want.Nudge.Shown, 10),
		} {
			if !strings.Contains(page, `data-figure="`+figure+`">`+value+`<`) {
				t.Errorf("the dashboard's %s is not %s", figure, value)
			}
		}
	})
}

// document is the metrics document the population must produce, each
// figure computed here from the script's own counts by its documented rule
// (docs/telemetry.md).
func (tr truth) document() telemetry.Document {
	d := telemetry.Document{SignupsByMethod: map[string]int64{}, PasskeysAdded: tr.added, Nudge: tr.nudge, Conditional: tr.conditional,
		DuplicatePasskeys: tr.duplicates}
	var ok int64
	for _, m := range telemetry.SigninMethods {
		s, f := tr.success[m], tr.failure[m]
		if s+f == 0 {
			continue
		}
		if s > 0 {
			d.Signins = append(d.Signins, telemetry.SigninCount{Method: m, Outcome: "success", Count: s})
		}
		if f > 0 {
			d.Signins = append(d.Signins, telemetry.SigninCount{Method: m, Outcome: "failure", Count: f})
		}
		d.SuccessRate = append(d.SuccessRate, telemetry.MethodRate{Method: m, Attempts: s + f, Rate: round4(float64(s) / float64(s+f))})
		ok += s
		if s > 0 {
			ts := slices.Sorted(slices.Values(tr.clientMs[m]))
			d.TimeToSigninMs = append(d.TimeToSigninMs, telemetry.Timing{Method: m, Count: s, P50: nearestRank(ts, 0.5), P90: nearestRank(ts, 0.9), Server: s})
		}
	}
	for m, n := range tr.signups {
		d.Signups += n
		d.SignupsByMethod[m] = n
	}
	var active, holding int64
	for _, h := range tr.holding {
		active++
		if h {
			holding++
		}
	}
	d.EnrollmentRate = telemetry.Enrollment{PerSignin: round4(float64(tr.added) / float64(ok)), PerActiveUser: round4(float64(holding) / float64(active)),
		ActiveUsers: active, ActiveWithPasskey: holding}
	// A fresh install's ramp is 100 %: every member is in "ramp".
	d.Cohorts = []telemetry.CohortFigure{{Cohort: "ramp", Signins: ok, PasskeysAdded: tr.added, PerSignin: d.EnrollmentRate.PerSignin,
		ActiveUsers: active, ActiveWithPasskey: holding, PerActiveUser: d.EnrollmentRate.PerActiveUser}}
	d.ConditionalFillRate = min(1, round4(float64(tr.conditional.Used)/float64(tr.conditional.Offered)))
	for _, ch := range telemetry.Channels {
		// Everything happened within the last week; none the week before,
		// and too few uses to be rising.
		n := tr.recovery[ch]
		d.Recovery = append(d.Recovery, telemetry.Recovery{Channel: ch, Count: n, LastWeek: n})
	}
	d.Accounts = telemetry.Accounts{Readiness: map[string]int64{}}
	for _, c := range readiness.Classes {
		d.Accounts.Readiness[string(c)] = 0
	}
	for _, h := range tr.accounts {
		d.Accounts.Total++
		if h.Passkeys > 0 {
			d.Accounts.WithPasskey++
			if !h.Password {
				d.Accounts.Passwordless++
			}
		}
		d.Accounts.Readiness[string(readiness.Of(h))]++
	}
	return d
}

// nearestRank is the q-th percentile of sorted samples by nearest rank,
// reported as the upper bound of its bucket (telemetry.Buckets).
func nearestRank(sorted []int, q float64) int {
	v := sorted[int(math.Ceil(q*float64(len(sorted))))-1]
	for _, b := range telemetry.Buckets {
		if v <= b {
			return b
		}
	}
	return telemetry.Buckets[len(telemetry.Buckets)-1]
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// compareFigures checks every figure of got against want; the server's
// own times, which no script can know, must merely be there.
func compareFigures(t *testing.T, view string, got, want telemetry.Document) {
	t.Helper()
	check := func(name string, g, w any) {
		t.Helper()
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("%s: %s\n got %s\nwant %s", view, name, gj, wj)
		}
	}
	check("signins", got.Signins, want.Signins)
	check("successRate", got.SuccessRate, want.SuccessRate)
	check("signups", got.Signups, want.Signups)
	nonzero := map[string]int64{}
	for m, n := range got.SignupsByMethod {
		if n != 0 {
			nonzero[m] = n
		}
	}
	check("signupsByMethod", nonzero, want.SignupsByMethod)
	check("passkeys", [3]int64{got.PasskeysAdded, got.PasskeysRemoved, got.PasskeysUpgraded}, [3]int64{want.PasskeysAdded, 0, 0})
	check("enrollmentRate", got.EnrollmentRate, want.EnrollmentRate)
	check("cohorts", got.Cohorts, want.Cohorts)
	check("conditionalFillRate", got.ConditionalFillRate, want.ConditionalFillRate)
	check("conditional", got.Conditional, want.Conditional)
	check("nudge", got.Nudge, want.Nudge)
	check("duplicatePasskeys", got.DuplicatePasskeys, want.DuplicatePasskeys)
	check("recovery", got.Recovery, want.Recovery)
	check("accounts", got.Accounts, want.Accounts)
	check("rolloutChanges", len(got.RolloutChanges), 0)
	var times []telemetry.Timing
	for _, tm := range got.TimeToSigninMs {
		if tm.ServerP50 <= 0 || tm.ServerP90 < tm.ServerP50 {
			t.Errorf("%s: %s's server times p50 %d p90 %d", view, tm.Method, tm.ServerP50, tm.ServerP90)
		}
		tm.ServerP50, tm.ServerP90 = 0, 0
		times = append(times, tm)
	}
	check("timeToSigninMs", times, want.TimeToSigninMs)
	series := map[string]int64{}
	for _, p := range got.Series.Points {
		for m, n := range p.Signins {
			series[m] += n
		}
	}
	wantSeries := map[string]int64{}
	for _, s := range want.Signins {
		if s.Outcome == "success" {
			wantSeries[s.Method] = s.Count
		}
	}
	check("series (summed)", series, wantSeries)
}

// waitFolded waits until the server's folder has counted every event.
func waitFolded(t *testing.T, in *servertest.Instance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, _, err := in.DB.TelemetryBacklog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d telemetry events still unfolded", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	keys := func(m map[string]int64) []string {
		var k []string
		for x, n := range m {
			if n != 0 {
				k = append(k, x)
			}
		}
		sort.Strings(k)
		return k
	}
	if !slices.Equal(keys(a), keys(b)) {
		return false
	}
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	return true
}
