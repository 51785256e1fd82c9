package admin

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/telemetry"
	"github.com/keyshift/keyshift/internal/web/i18n"
	"github.com/keyshift/keyshift/internal/web/page"
)

var day = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestCSVRowsAreOnePerPointAndMethodAndEscaped(t *testing.T) {
	doc := telemetry.Document{Cohort: "ramp", Series: telemetry.Series{Step: "day", Points: []telemetry.Point{
		{Start: day, Signins: map[string]int64{"password": 2, `odd,"method"`: 1}},
		{Start: day.Add(24 * time.Hour), Signins: map[string]int64{"passkey_modal": 3}},
	}}}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(CSVRows(doc))
	want := "start,step,cohort,method,signins\n" +
		"2026-12-01T00:00:00Z,day,ramp,passkey_modal,0\n" +
		"2026-12-01T00:00:00Z,day,ramp,password,2\n" +
		"2026-12-01T00:00:00Z,day,ramp,\"odd,\"\"method\"\"\",1\n" +
		"2026-12-02T00:00:00Z,day,ramp,passkey_modal,3\n" +
		"2026-12-02T00:00:00Z,day,ramp,password,0\n" +
		"2026-12-02T00:00:00Z,day,ramp,\"odd,\"\"method\"\"\",0\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
	if rows := CSVRows(telemetry.Document{}); len(rows) != 1 || rows[0][2] != "cohort" {
		t.Errorf("an empty series: %v, want the header alone", rows)
	}
}

func TestTheDashboardHighlightsARisingChannel(t *testing.T) {
	msg, err := i18n.Load("en")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := page.Load(msg)
	if err != nil {
		t.Fatal(err)
	}
	d := &Dashboard{msg: msg}
	doc := telemetry.Document{From: day, To: day.Add(7 * 24 * time.Hour), Accounts: telemetry.Accounts{Readiness: map[string]int64{}},
		Recovery: []telemetry.Recovery{
			{Channel: "email", Count: 30, LastWeek: 30, PreviousWeek: 10, WeekOverWeek: 2, Rising: true},
			{Channel: "recovery_code", Count: 1, LastWeek: 1},
		}}
	dash := &page.Dashboard{Ranges: Ranges, Cohorts: telemetry.Cohorts}
	d.fill(dash, &doc, nil)
	body, err := pages.Render("admin", page.Data{Title: "t", Wide: true, Dashboard: dash})
	if err != nil {
		t.Fatal(err)
	}
	html := string(body)
	for _, want := range []string{`<tr data-channel="email" class="rising">`, `&#43;200 %`, `<span class="badge warn">rising</span>`,
		`<tr data-channel="recovery_code"><th scope="row">recovery_code</th>`, "No successful sign-ins in this range"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Count(html, "badge warn") != 1 {
		t.Errorf("%d channels flagged, want the rising one", strings.Count(html, "badge warn"))
	}
}
