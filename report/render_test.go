package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
)

func TestParseWeek(t *testing.T) {
	for _, tc := range []struct {
		in     string
		monday string
		err    string
	}{
		{"2026-W46", "2026-11-09", ""},
		{"2026-W01", "2025-12-29", ""},
		{"2026-W53", "2026-12-28", ""},
		{"2027-W01", "2027-01-04", ""},
		{"2025-W53", "", "no week 53"},
		{"2026-W00", "", "no week 0"},
		{"2026-46", "", "want an ISO week"},
		{"2026-W4", "", "want an ISO week"},
		{"", "", "want an ISO week"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			w, err := report.ParseWeek(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.in, w.String())
			require.Equal(t, tc.monday, w.Start(time.UTC).Format(time.DateOnly))
			require.Equal(t, 7*24*time.Hour, w.End(time.UTC).Sub(w.Start(time.UTC)))
		})
	}
	// The last complete week, seen on a Monday morning and on a Sunday night.
	require.Equal(t, "2026-W46", report.LastCompleteWeek(time.Date(2026, 11, 16, 0, 30, 0, 0, time.UTC), time.UTC).String())
	require.Equal(t, "2026-W45", report.LastCompleteWeek(time.Date(2026, 11, 15, 23, 30, 0, 0, time.UTC), time.UTC).String())
	toronto, err := time.LoadLocation("America/Toronto")
	require.NoError(t, err)
	require.Equal(t, "2026-W45", report.LastCompleteWeek(time.Date(2026, 11, 16, 0, 30, 0, 0, time.UTC), toronto).String(),
		"still Sunday in Toronto")
}

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		name               string
		c, cPrev, n, nPrev int64
		want               float64
	}{
		{"1 to 3, same traffic", 3, 1, 1000, 1000, 1},
		{"100 to 200, same traffic", 200, 100, 1000, 1000, 5.7735},
		{"200 to 100", 100, 200, 1000, 1000, -5.7735},
		{"errors double with traffic", 200, 100, 2000, 1000, 0},
		{"no traffic counted: periods weigh the same", 3, 1, 0, 0, 1},
		{"nothing either time", 0, 0, 10, 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, report.Score(tc.c, tc.cPrev, tc.n, tc.nPrev), 1e-4)
		})
	}
}

// hostileWeek is a week whose provider text is built to break the
// formats: markup, Markdown, spreadsheet formulas, terminal escapes.
func hostileWeek() *report.Weekly {
	days := []string{"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-15"}
	p := report.ProviderWeek{
		Provider: "acme", Totals: report.Totals{Requests: 10, Errors: 2, ErrorRate: 0.2},
		ByCategory:         map[string]int64{"validation": 2},
		PreviousByCategory: map[string]int64{},
		TopCodes: []report.CodeCount{
			{Category: "validation", Code: `<script>alert(1)</script>`, Subcode: "a|b`c", Count: 1},
			{Category: "validation", Code: "=HYPERLINK(\"http://evil\")", Subcode: "\x1b[2J", Count: 1},
		},
		NewCodes:     []report.NewCode{{Provider: "acme", Category: "validation", Code: `<img src=x onerror=alert(1)>`, Count: 1, FirstSeen: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)}},
		TopEndpoints: []report.EndpointCount{{Endpoint: `/v1/"><svg onload=alert(1)>/{id}`, Requests: 10, Errors: 2, ErrorRate: 0.2}},
	}
	for _, d := range days {
		p.Daily = append(p.Daily, report.DayCount{Date: d, Requests: 1, Errors: 0, ByCategory: map[string]int64{}})
	}
	p.Daily[1].Errors, p.Daily[1].ByCategory["validation"] = 2, 2
	return &report.Weekly{Week: "2026-W46", PreviousWeek: "2026-W45", Timezone: "UTC", Days: days,
		From: time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
		Totals: p.Totals, Providers: []report.ProviderWeek{p}}
}

func TestWeeklyEscapesProviderText(t *testing.T) {
	rep := hostileWeek()

	var html bytes.Buffer
	require.NoError(t, rep.WriteHTML(&html))
	for _, bad := range []string{"<script", "<img", "<svg onload", "\x1b"} {
		require.NotContains(t, html.String(), bad)
	}
	require.Contains(t, html.String(), "&lt;script&gt;alert(1)&lt;/script&gt;")

	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	require.NotContains(t, md.String(), "\x1b")
	require.NotContains(t, md.String(), "<script>alert(1)</script>|", "a pipe cannot end a table cell early")
	require.Contains(t, md.String(), "`<script>alert(1)</script>/a\\|b'c`")
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "| `") {
			require.Equal(t, 5, strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"), "%q keeps its four cells", line)
		}
	}

	var out bytes.Buffer
	require.NoError(t, rep.WriteCSV(&out))
	rows, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	for _, r := range rows {
		for _, cell := range r[1:8] {
			require.False(t, cell != "" && strings.ContainsRune("=+-@", rune(cell[0])), "%q would be a formula", cell)
		}
	}
}

// A week after one without traffic has no earlier error rate to compare
// with: "was 0%, +20.00 pts" would be made up.
func TestWeeklyAfterAWeekWithoutTraffic(t *testing.T) {
	rep := hostileWeek() // acme: 10 requests, 2 errors; the week before, none
	var md, html bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	require.NoError(t, rep.WriteHTML(&html))
	for name, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
		require.NotContains(t, out, "+20.00 pts", name)
		require.NotContains(t, out, "was 0%", name)
		require.Contains(t, out, "no traffic before", name)
		require.Contains(t, out, "no traffic the week before", name)
	}
	require.Contains(t, md.String(), "error rate **20.00%** (no traffic the week before)")
	require.Contains(t, md.String(), "| acme | 10 | 2 | 20.00% | no traffic before |")

	// With traffic the week before, the change is in points.
	rep.Providers[0].PreviousRequests, rep.Providers[0].PreviousErrors, rep.Providers[0].PreviousErrorRate = 20, 2, 0.1
	rep.Providers[0].ErrorRateChange = 0.1
	rep.Totals = rep.Providers[0].Totals
	md.Reset()
	require.NoError(t, rep.WriteMarkdown(&md))
	require.Contains(t, md.String(), "error rate **20.00%** (2026-W45: 10.00%, +10.00 pts)")
	require.Contains(t, md.String(), "error rate 20.00% (was 10.00%, +10.00 pts)")
	require.NotContains(t, md.String(), "no traffic")
}
