package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/synth"
)

// TestReportsOverGeneratedWeeks loads three weeks of generated traffic
// (and an empty one) through the pipeline and checks every report against
// what the test counted in the records themselves.
func TestReportsOverGeneratedWeeks(t *testing.T) {
	f := loadFixture(t)
	ctx := testCtx(t)
	toronto, err := time.LoadLocation("America/Toronto")
	require.NoError(t, err)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	require.NoError(t, err)

	for _, tc := range []struct {
		week string
		loc  *time.Location
	}{
		{"2026-W43", time.UTC}, {"2026-W44", time.UTC}, {"2026-W46", time.UTC},
		// Days and the week in another zone; W44 holds the end of daylight saving time there.
		{"2026-W44", toronto},
		// Days that cut hours: counted from the per-minute rollups there.
		{"2026-W46", kolkata}, {"2026-W44", kathmandu},
	} {
		t.Run("weekly "+tc.week+" "+tc.loc.String(), func(t *testing.T) {
			week, err := report.ParseWeek(tc.week)
			require.NoError(t, err)
			rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: week, Location: tc.loc, TopEndpoints: 100})
			require.NoError(t, err)
			require.Equal(t, tc.week, rep.Week)
			require.False(t, rep.NoTraffic)
			require.Len(t, rep.Days, 7)
			want := f.expect(week, tc.loc)
			var names []string
			for _, p := range rep.Providers {
				names = append(names, p.Provider)
			}
			require.Equal(t, []string{"cheers", "finix", "finterra", "flexiti", "paylera"}, names)
			var allRequests, allErrors int64
			for _, p := range rep.Providers {
				w := want[p.Provider]
				require.NotNil(t, w, p.Provider)
				require.Equal(t, w.Requests, p.Requests, "%s requests", p.Provider)
				require.Equal(t, w.Errors, p.Errors, "%s errors", p.Provider)
				require.InDelta(t, float64(w.Errors)/float64(w.Requests), p.ErrorRate, 1e-12)
				require.Equal(t, w.ByCategory, p.ByCategory, "%s by category", p.Provider)
				top := w.Codes[:min(len(w.Codes), 10)]
				got := make([]report.CodeCount, len(p.TopCodes))
				for i, c := range p.TopCodes {
					got[i] = report.CodeCount{Category: c.Category, Code: c.Code, Subcode: c.Subcode, Count: c.Count, PreviousCount: c.PreviousCount}
				}
				require.Equal(t, top, got, "%s top codes", p.Provider)
				var newCodes []string
				for _, c := range p.NewCodes {
					newCodes = append(newCodes, strings.TrimSuffix(c.Code+"/"+c.Subcode, "/"))
				}
				slices.Sort(newCodes)
				require.Equal(t, w.NewCodes, newCodes, "%s new codes", p.Provider)
				for i, d := range p.Daily {
					require.Equal(t, w.Daily[i].Date, d.Date)
					require.Equal(t, w.Daily[i].Requests, d.Requests, "%s %s requests", p.Provider, d.Date)
					require.Equal(t, w.Daily[i].Errors, d.Errors, "%s %s errors", p.Provider, d.Date)
					require.Equal(t, w.Daily[i].ByCategory, d.ByCategory, "%s %s categories", p.Provider, d.Date)
				}
				var endpointErrors int64
				for i, e := range p.TopEndpoints {
					endpointErrors += e.Errors
					if i > 0 {
						require.GreaterOrEqual(t, p.TopEndpoints[i-1].Errors, e.Errors)
					}
				}
				require.Equal(t, p.Errors, endpointErrors, "%s: every error is at an endpoint", p.Provider)
				allRequests += p.Requests
				allErrors += p.Errors
			}
			require.Equal(t, allRequests, rep.Totals.Requests)
			require.Equal(t, allErrors, rep.Totals.Errors)
		})
	}

	t.Run("weekly compares with the week before", func(t *testing.T) {
		rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W44")})
		require.NoError(t, err)
		prev := f.expect(mustWeek(t, "2026-W43"), time.UTC)
		for _, p := range rep.Providers {
			require.Equal(t, prev[p.Provider].Requests, p.PreviousRequests, p.Provider)
			require.Equal(t, prev[p.Provider].Errors, p.PreviousErrors, p.Provider)
			require.Equal(t, prev[p.Provider].ByCategory, p.PreviousByCategory, p.Provider)
			require.InDelta(t, p.ErrorRate-p.PreviousErrorRate, p.ErrorRateChange, 1e-12)
		}
	})

	t.Run("a week without traffic says so", func(t *testing.T) {
		rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, emptyWeek)})
		require.NoError(t, err)
		require.True(t, rep.NoTraffic)
		require.Empty(t, rep.Providers)
		var md, html bytes.Buffer
		require.NoError(t, rep.WriteMarkdown(&md))
		require.Contains(t, md.String(), "No traffic was recorded in "+emptyWeek)
		require.NoError(t, rep.WriteHTML(&html))
		require.Contains(t, html.String(), "No traffic was recorded in "+emptyWeek)
		js := weeklyJSON(t, rep)
		require.Equal(t, true, js["no_traffic"])
		require.Equal(t, []any{}, js["providers"])
	})

	t.Run("weekly JSON contract", func(t *testing.T) {
		rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W46")})
		require.NoError(t, err)
		js := weeklyJSON(t, rep)
		require.Equal(t, "2026-W46", js["week"])
		providers := js["providers"].([]any)
		require.Len(t, providers, 5)
		for _, p := range providers {
			p := p.(map[string]any)
			for _, k := range []string{"provider", "requests", "errors", "error_rate", "by_category", "top_codes", "new_codes"} {
				require.Contains(t, p, k)
			}
		}
		finterra := providers[2].(map[string]any)
		require.Equal(t, "finterra", finterra["provider"])
		newCodes := finterra["new_codes"].([]any)
		require.Len(t, newCodes, 1)
		nc := newCodes[0].(map[string]any)
		require.Equal(t, "brand_new_code", nc["code"])
		require.EqualValues(t, 3, nc["count"])
		require.Equal(t, false, nc["known"])
		require.Equal(t, "conflict", nc["category"])
	})

	t.Run("weekly lists the week's alerts", func(t *testing.T) {
		rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W46"), Alerts: f.st})
		require.NoError(t, err)
		require.Len(t, rep.Alerts, 1)
		a := rep.Alerts[0]
		require.Equal(t, "decline_spike", a.Rule)
		require.Equal(t, "DECLINED", a.Code)
		require.NotNil(t, a.EndsAt)
		var md, html, out bytes.Buffer
		require.NoError(t, rep.WriteMarkdown(&md))
		require.Contains(t, md.String(), "**Alerts this week (1):**\n\n- warning decline_spike finix `DECLINED/CALL_ISSUER`: finix declines (CALL\\_ISSUER) at 6.0% against 1.0% (Tue 10 14:03 to 15:20)\n")
		require.NoError(t, rep.WriteHTML(&html))
		require.Contains(t, html.String(), `<table id="alert-list">`)
		require.NoError(t, rep.WriteCSV(&out))
		require.Contains(t, out.String(), "2026-W46,finix,alert,2026-11-10T14:03:00Z,decline,DECLINED,CALL_ISSUER,,1,\n")
		require.Equal(t, 1, len(weeklyJSON(t, rep)["alerts"].([]any)))

		rep, err = report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W44"), Alerts: f.st})
		require.NoError(t, err)
		require.Empty(t, rep.Alerts, "none that week")
	})

	t.Run("weekly markdown and csv", func(t *testing.T) {
		week := mustWeek(t, "2026-W46")
		rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: week})
		require.NoError(t, err)
		want := f.expect(week, time.UTC)
		var md bytes.Buffer
		require.NoError(t, rep.WriteMarkdown(&md))
		for _, p := range rep.Providers {
			require.Contains(t, md.String(), "\n## "+p.Provider+"\n")
			require.Contains(t, md.String(), "| "+p.Provider+" | "+groupDigits(want[p.Provider].Requests)+" | "+groupDigits(want[p.Provider].Errors)+" |")
		}
		require.Contains(t, md.String(), "`brand_new_code` (conflict, undocumented) 3, first seen Wed 2026-11-11 09:00")

		var out bytes.Buffer
		require.NoError(t, rep.WriteCSV(&out))
		rows, err := csv.NewReader(&out).ReadAll()
		require.NoError(t, err)
		require.Equal(t, []string{"week", "provider", "section", "date", "category", "code", "subcode", "endpoint", "count", "previous_count"}, rows[0])
		sums := map[string]int64{}
		for _, r := range rows[1:] {
			require.Equal(t, "2026-W46", r[0])
			n, err := strconv.ParseInt(r[8], 10, 64)
			require.NoError(t, err)
			sums[r[1]+" "+r[2]] += n
		}
		for p, w := range want {
			require.Equal(t, w.Requests, sums[p+" requests"], p)
			require.Equal(t, w.Errors, sums[p+" errors"], p)
			require.Equal(t, w.Errors, sums[p+" category"], p)
			require.Equal(t, w.Requests, sums[p+" day_requests"], p)
			require.Equal(t, w.Errors, sums[p+" day_category"], p)
		}
	})

	t.Run("trends", func(t *testing.T) {
		// W46 against W45 (empty): everything moved up, nothing before.
		w46 := mustWeek(t, "2026-W46")
		tr, err := report.BuildTrends(ctx, f.st, report.TrendsOptions{From: w46.Start(time.UTC), To: w46.End(time.UTC)})
		require.NoError(t, err)
		require.True(t, tr.PreviousFrom.Equal(mustWeek(t, emptyWeek).Start(time.UTC)))
		want := f.expect(w46, time.UTC)
		counts := map[string]int64{}
		for _, m := range tr.Movers {
			require.Positive(t, m.Score)
			require.Zero(t, m.PreviousCount)
			counts[m.Provider+"/"+m.Category+"/"+m.Code+"/"+m.Subcode] += m.Count
		}
		for p, w := range want {
			for _, c := range w.Codes {
				require.Equal(t, c.Count, counts[p+"/"+c.Category+"/"+c.Code+"/"+c.Subcode], "%s %s", p, c.Code)
			}
		}
		for i := 1; i < len(tr.Movers); i++ {
			require.GreaterOrEqual(t, abs(tr.Movers[i-1].Score), abs(tr.Movers[i].Score), "most significant first")
		}
		require.Len(t, tr.NewCodes, 1)
		require.Equal(t, "brand_new_code", tr.NewCodes[0].Code)
		require.EqualValues(t, 3, tr.NewCodes[0].Count)

		// W44 against W43: same mix, so no code moves far.
		w44 := mustWeek(t, "2026-W44")
		tr, err = report.BuildTrends(ctx, f.st, report.TrendsOptions{From: w44.Start(time.UTC), To: w44.End(time.UTC), Limit: 5})
		require.NoError(t, err)
		require.Len(t, tr.Movers, 5)
		for _, m := range tr.Movers {
			require.Less(t, abs(m.Score), 4.5, "%+v", m)
		}
		var text bytes.Buffer
		require.NoError(t, tr.WriteText(&text))
		for _, line := range strings.Split(text.String(), "\n") {
			require.LessOrEqual(t, len([]rune(line)), report.Width, "%q", line)
		}
		var js bytes.Buffer
		require.NoError(t, tr.WriteJSON(&js))
		var back report.Trends
		require.NoError(t, json.Unmarshal(js.Bytes(), &back))
		require.Len(t, back.Movers, 5)
	})

	t.Run("lookups", func(t *testing.T) { testLookups(t, f) })
	t.Run("html in chromium", func(t *testing.T) { testHTMLInChromium(t, f) })
}

// testLookups looks up an event by each kind of id.
func testLookups(t *testing.T, f *fixture) {
	ctx := testCtx(t)
	toronto, err := time.LoadLocation("America/Toronto")
	require.NoError(t, err)
	pick := func(ok func(record) bool) record {
		t.Helper()
		for _, r := range f.records {
			if r.isError && ok(r) {
				return r
			}
		}
		t.Fatal("no such record")
		return record{}
	}
	for _, tc := range []struct {
		name, as, escalationName string
		rec                      record
		id                       func(record) string
	}{
		{"finterra request_id", "correlation_id", "request_id",
			pick(func(r record) bool { return r.provider == "finterra" && r.correlationFrom == "request_id" }),
			func(r record) string { return r.correlation }},
		{"finix logref", "correlation_id", "logref",
			pick(func(r record) bool { return r.provider == "finix" && r.correlationFrom == "logref" && r.subcode != "" }),
			func(r record) string { return r.correlation }},
		{"paylera trace_id", "correlation_id", "trace_id",
			pick(func(r record) bool { return r.provider == "paylera" && r.correlationFrom == "trace_id" }),
			func(r record) string { return r.correlation }},
		{"cheers header id", "correlation_id", "request id (response header)",
			pick(func(r record) bool { return r.provider == "cheers" && r.code != "" && r.correlationFrom == "header" }),
			func(r record) string { return r.correlation }},
		{"flexiti header id", "correlation_id", "request id (response header)",
			pick(func(r record) bool { return r.provider == "flexiti" && r.code == "wrong_inputs" }),
			func(r record) string { return r.correlation }},
		{"our trace_id", "trace_id", "",
			pick(func(r record) bool { return r.provider == "finterra" && r.code == "token_expired" }),
			func(r record) string { return r.traceID }},
		{"finix authorization", "reference", "authorization",
			pick(func(r record) bool { return r.provider == "finix" && len(r.refs) > 0 }),
			func(r record) string { return r.refs[0] }},
		{"finix transfer", "reference", "transfer",
			pick(func(r record) bool { return slices.Contains(r.refs, "TRabc123") }),
			func(r record) string { return "TRabc123" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id(tc.rec)
			require.NotEmpty(t, id)
			res, err := report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{id}, Location: toronto})
			require.NoError(t, err)
			require.Len(t, res.Events, 1, "%s", tc.rec)
			require.Empty(t, res.Unmatched)
			e := res.Events[0]
			require.True(t, e.Time.Equal(tc.rec.ts), "%s at %s", e.Time, tc.rec.ts)
			require.Equal(t, tc.rec.ts.In(toronto).Format(time.RFC3339Nano), e.LocalTime)
			require.Equal(t, []report.Match{{ID: id, As: tc.as}}, e.MatchedBy)
			require.Equal(t, tc.rec.provider, e.Provider)
			require.Equal(t, tc.rec.code, e.Code)
			require.Equal(t, tc.rec.subcode, e.Subcode)
			require.Equal(t, tc.rec.category, e.Category)
			require.Equal(t, tc.rec.status, e.Status)
			require.Equal(t, tc.rec.correlation, e.Correlation)
			require.Positive(t, e.Fingerprint.Others+1)
			require.NotNil(t, e.Fingerprint.Since)
			require.NotEmpty(t, e.Escalation.Instructions)
			require.NotEmpty(t, e.Remediation, "the catalog documents %s/%s", e.Provider, e.Code)
			if tc.escalationName != "" {
				require.Contains(t, e.Escalation.IDs, report.NamedID{Name: tc.escalationName, Value: id})
			}
			for _, secret := range []string{synth.PlantedCard, synth.PlantedEmail, synth.PlantedToken, synth.PlantedPIW} {
				require.NotContains(t, e.Body, secret)
				require.NotContains(t, e.Message, secret)
			}
			var text bytes.Buffer
			require.NoError(t, res.WriteText(&text))
			for _, line := range strings.Split(text.String(), "\n") {
				require.LessOrEqual(t, len([]rune(line)), report.Width, "%q", line)
			}
			require.Contains(t, text.String(), "escalation: paste to "+tc.rec.provider+" support")
			if tc.escalationName != "" {
				require.Contains(t, text.String(), "  "+tc.escalationName+": "+id+"\n")
			}
		})
	}

	t.Run("finterra cause and remediation", func(t *testing.T) {
		rec := pick(func(r record) bool { return r.provider == "finterra" && r.code == "token_expired" })
		res, err := report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{rec.correlation}})
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		require.Equal(t, "JWT exp claim has passed.", res.Events[0].Cause)
		require.Equal(t, "Re-mint a token.", res.Events[0].Remediation)
	})

	t.Run("several matches newest first", func(t *testing.T) {
		res, err := report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{"trace-retried"}})
		require.NoError(t, err)
		var got []string
		for _, e := range res.Events {
			got = append(got, e.Time.Format(time.RFC3339)+" "+e.Code)
		}
		require.Equal(t, []string{
			"2026-11-09T08:00:05Z tax.engine_unavailable",
			"2026-11-09T08:00:00Z rate_limit.exceeded",
			"2026-10-28T12:00:00Z rate_limit.exceeded",
		}, got)
		// The window narrows the search.
		w46 := mustWeek(t, "2026-W46")
		res, err = report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{"trace-retried"}, From: w46.Start(time.UTC), To: w46.End(time.UTC)})
		require.NoError(t, err)
		require.Len(t, res.Events, 2)
	})

	t.Run("unknown ids", func(t *testing.T) {
		known := pick(func(r record) bool { return r.provider == "paylera" && r.correlationFrom == "trace_id" }).correlation
		res, err := report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{"req_does_not_exist", known}})
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		require.Equal(t, []string{"req_does_not_exist"}, res.Unmatched)
		require.Contains(t, res.Summary(), `nothing for "req_does_not_exist"`)
		w := mustWeek(t, "2026-W45")
		res, err = report.Lookup(ctx, f.st, report.LookupOptions{IDs: []string{known}, From: w.Start(time.UTC), To: w.End(time.UTC)})
		require.NoError(t, err)
		require.Empty(t, res.Events)
		require.Equal(t, []string{known}, res.Unmatched)
		require.Equal(t, `No event found for "`+known+`", searched from 2026-11-02T00:00:00Z to 2026-11-09T00:00:00Z.`, res.Summary())
	})
}

func mustWeek(t *testing.T, s string) report.Week {
	t.Helper()
	w, err := report.ParseWeek(s)
	require.NoError(t, err)
	return w
}

func weeklyJSON(t *testing.T, rep *report.Weekly) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, rep.WriteJSON(&buf))
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	return m
}

var thousands = regexp.MustCompile(`(\d)(\d{3})$`)

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	for {
		t := thousands.ReplaceAllString(strings.SplitN(s, ",", 2)[0], "$1,$2")
		if rest := strings.SplitN(s, ",", 2); len(rest) == 2 {
			t += "," + rest[1]
		}
		if t == s {
			return s
		}
		s = t
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
