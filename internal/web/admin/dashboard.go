package admin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/keyshift/keyshift/internal/account"
	"github.com/keyshift/keyshift/internal/adminrole"
	"github.com/keyshift/keyshift/internal/admintoken"
	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/web/admin/chart"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/page"
	"github.com/keyshift/keyshift/internal/web/respond"
)

// Sessions finds the member signed in on a browser.
type Sessions interface {
	// Authenticate returns the request's session; EUnauthenticated
	// without one.
	Authenticate(r *http.Request) (*account.SessionWithUser, error)
}

// Dashboard serves /admin: the rollout's figures as a page with charts, and
// their series as CSV. It opens for a member holding the admin role in a
// session that proved a passkey (package adminrole), or for an admin
// bearer token with the metrics scope (a script fetching the CSV).
type Dashboard struct {
	api      *API
	roles    *adminrole.Roles
	sessions Sessions
	respond  *respond.Responder
	msg      *i18n.Catalog
	now      func() time.Time
}

// NewDashboard returns the dashboard over the admin API a.
func NewDashboard(a *API, roles *adminrole.Roles, sessions Sessions, rsp *respond.Responder, msg *i18n.Catalog, now func() time.Time) *Dashboard {
	return &Dashboard{api: a, roles: roles, sessions: sessions, respond: rsp, msg: msg, now: now}
}

// Ranges are the dashboard's preset ranges, up to the end of the hour
// under way; "custom" takes from and to.
var Ranges = []string{"24h", "7d", "30d", "90d", "custom"}

var presets = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour}

// admit lets the request through, or answers it: to /signin without a
// session, the step-up page for an admin whose session proved no
// passkey, the error page otherwise. It reports whether to go on.
func (d *Dashboard) admit(w http.ResponseWriter, r *http.Request) (bool, error) {
	if r.Header.Get("Authorization") != "" {
		who, err := d.api.tokens.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if account.IsCode(err, account.EUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="keyshift admin"`)
		}
		if err == nil {
			err = who.Allows(admintoken.ScopeMetrics)
		}
		return err == nil, err
	}
	sw, err := d.sessions.Authenticate(r)
	if account.IsCode(err, account.EUnauthenticated) {
		http.Redirect(w, r, "/signin?return_to="+url.QueryEscape("/admin"), http.StatusSeeOther)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = d.roles.Admit(r.Context(), sw)
	if account.IsCode(err, account.EReauthRequired) {
		d.respond.Render(w, r, http.StatusForbidden, "admin_stepup", page.Data{Title: d.msg.T("admin.stepup.title"), User: &sw.User})
		return false, nil
	}
	return err == nil, err
}

// Page is GET /admin[?range=&from=&to=&cohort=&tz=].
func (d *Dashboard) Page(w http.ResponseWriter, r *http.Request) error {
	if ok, err := d.admit(w, r); !ok {
		return err
	}
	get := r.URL.Query().Get
	dash := &page.Dashboard{Form: page.DashboardForm{Range: get("range"), From: get("from"), To: get("to"), Cohort: get("cohort"), TZ: get("tz")},
		Ranges: Ranges, Cohorts: telemetry.Cohorts, CSV: "/admin/metrics.csv?" + filters(r.URL.Query()).Encode()}
	switch {
	case dash.Form.From != "" || dash.Form.To != "":
		dash.Form.Range = "custom"
	case dash.Form.Range == "":
		dash.Form.Range = "30d"
	}
	status := http.StatusOK
	q, err := d.query(get)
	if err == nil {
		var doc telemetry.Document
		if doc, err = d.api.telemetry.Figures(r.Context(), q); err == nil {
			d.fill(dash, &doc, q.TZ)
		}
	}
	if e, ok := refused(err); ok {
		status, dash.Error = http.StatusBadRequest, e.Detail
	} else if err != nil {
		return err
	}
	d.respond.Render(w, r, status, "admin", page.Data{Title: d.msg.T("admin.title"), Wide: true, Dashboard: dash})
	return nil
}

// refused returns err's coded refusal of a parameter.
func refused(err error) (*account.Error, bool) {
	e, ok := errors.AsType[*account.Error](err)
	return e, ok && e.Code == account.EInvalidRequest
}

// filters keeps the dashboard's own parameters of q.
func filters(q url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"range", "from", "to", "cohort", "tz"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// query reads the dashboard's parameters: a preset range, or from and to
// as dates (whole days in tz, to included) or RFC 3339 times, then the
// admin API's checks (telemetry.ParseQuery). Every problem is a coded
// invalid_request that names its parameter.
func (d *Dashboard) query(get func(string) string) (telemetry.Query, error) {
	base, err := telemetry.ParseQuery(func(k string) string {
		if k == "cohort" || k == "tz" {
			return get(k)
		}
		return ""
	})
	if err != nil {
		return base, err
	}
	loc := base.TZ
	if loc == nil {
		loc = time.UTC
	}
	rng := get("range")
	switch {
	case get("from") != "" || get("to") != "":
		rng = "custom" // dates typed win over the preset left in the form
	case rng == "":
		rng = "30d"
	}
	params := map[string]string{"cohort": get("cohort"), "tz": get("tz")}
	switch span, preset := presets[rng]; {
	case preset:
		to := d.now().UTC().Truncate(time.Hour).Add(time.Hour)
		params["from"], params["to"] = to.Add(-span).Format(time.RFC3339), to.Format(time.RFC3339)
	case rng == "custom":
		for _, k := range []string{"from", "to"} {
			v := get(k)
			if !dateOnly.MatchString(v) {
				params[k] = v
				continue
			}
			day, err := time.ParseInLocation(time.DateOnly, v, loc)
			if err != nil {
				return base, &account.Error{Code: account.EInvalidRequest, Field: k, Detail: k + " is not a date of the calendar: " + v}
			}
			if k == "to" {
				day = day.AddDate(0, 0, 1) // the last day is in
			}
			params[k] = day.Format(time.RFC3339)
		}
	default:
		return base, &account.Error{Code: account.EInvalidRequest, Field: "range", Detail: "range must be one of 24h, 7d, 30d, 90d or custom"}
	}
	return telemetry.ParseQuery(func(k string) string { return params[k] })
}

// fill puts the document's figures on the page.
func (d *Dashboard) fill(dash *page.Dashboard, doc *telemetry.Document, loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	dash.Doc, dash.Zone = doc, loc
	methods := seriesMethods(doc.Series)
	c := chart.Stacked{Title: d.msg.T("admin.chart.title"), YLabel: d.msg.T("admin.chart.y"), Empty: d.msg.T("admin.chart.empty")}
	for i, p := range doc.Series.Points {
		at := p.Start.In(loc)
		switch {
		case doc.Series.Step != "hour":
			c.Labels = append(c.Labels, at.Format("2 Jan"))
		case i == 0 || at.Hour() == 0:
			c.Labels = append(c.Labels, at.Format("2 Jan 15:04"))
		default:
			c.Labels = append(c.Labels, at.Format("15:04"))
		}
	}
	for _, m := range methods {
		// A method keeps its colour whatever else the range holds:
		// passkeys in blues, the rest in colours apart.
		s := chart.Series{Name: m, Class: "m-other"}
		if slices.Contains(telemetry.SigninMethods, m) {
			s.Class = "m-" + m
		}
		for _, p := range doc.Series.Points {
			s.Values = append(s.Values, p.Signins[m])
		}
		c.Series = append(c.Series, s)
	}
	dash.Chart = c.SVG()
	dash.Methods = methodRows(doc)
}

// seriesMethods lists the methods the series holds, known ones first.
func seriesMethods(s telemetry.Series) []string {
	var out []string
	for _, m := range telemetry.SigninMethods {
		for _, p := range s.Points {
			if p.Signins[m] > 0 {
				out = append(out, m)
				break
			}
		}
	}
	var other []string
	for _, p := range s.Points {
		for m, n := range p.Signins {
			if n > 0 && !slices.Contains(out, m) && !slices.Contains(other, m) {
				other = append(other, m)
			}
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

// methodRows joins the document's counts, rates and times by method.
func methodRows(doc *telemetry.Document) []page.MethodRow {
	var rows []page.MethodRow
	var success int64
	for _, s := range doc.Signins {
		if s.Outcome == account.OutcomeSuccess {
			success += s.Count
		}
	}
	for _, rate := range doc.SuccessRate {
		row := page.MethodRow{Method: rate.Method, Rate: rate.Rate}
		for _, s := range doc.Signins {
			if s.Method != rate.Method {
				continue
			}
			if s.Outcome == account.OutcomeSuccess {
				row.Success = s.Count
			} else {
				row.Failure = s.Count
			}
		}
		if success > 0 {
			row.Share = float64(row.Success) / float64(success)
		}
		for _, t := range doc.TimeToSigninMs {
			if t.Method == rate.Method {
				row.P50, row.P90, row.ServerP50, row.ServerP90 = t.P50, t.P90, t.ServerP50, t.ServerP90
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// CSVColumns are the columns of /admin/metrics.csv.
var CSVColumns = []string{"start", "step", "cohort", "method", "signins"}

// CSV is GET /admin/metrics.csv?…: the series of successful sign-ins, one
// row per point and method (every method the range holds, zeros
// included), with the dashboard's filters. A refused parameter is a 400
// page like the dashboard's, never half a file.
func (d *Dashboard) CSV(w http.ResponseWriter, r *http.Request) error {
	if ok, err := d.admit(w, r); !ok {
		return err
	}
	q, err := d.query(r.URL.Query().Get)
	if e, ok := refused(err); ok {
		d.respond.Render(w, r, http.StatusBadRequest, "error", page.Data{Title: d.msg.T("admin.title"), FormError: e.Detail})
		return nil
	}
	if err != nil {
		return err
	}
	doc, err := d.api.telemetry.Figures(r.Context(), q)
	if err != nil {
		return err
	}
	rows := CSVRows(doc)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="keyshift-signins-%s-%s.csv"`,
		doc.From.UTC().Format("20060102T15Z"), doc.To.UTC().Format("20060102T15Z")))
	cw := csv.NewWriter(w)
	cw.WriteAll(rows) // the header is sent: a failing client is all that can stop it
	return nil
}

// CSVRows returns the document's series as CSV records, the header
// first.
func CSVRows(doc telemetry.Document) [][]string {
	cohort := doc.Cohort
	if cohort == "" {
		cohort = "all"
	}
	methods := seriesMethods(doc.Series)
	rows := [][]string{CSVColumns}
	for _, p := range doc.Series.Points {
		for _, m := range methods {
			rows = append(rows, []string{p.Start.UTC().Format(time.RFC3339), doc.Series.Step, cohort, m, strconv.FormatInt(p.Signins[m], 10)})
		}
	}
	return rows
}
