package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// WriteMarkdown writes the report as Markdown that pastes well into chat:
// a summary table, then per provider its categories, top codes, new codes,
// top endpoints and its days (with sparklines).
func (rep *Weekly) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("# Weekly error report %s\n\n", rep.Week)
	ew.printf("%s to %s (%s), compared with %s.\n\n", rep.Days[0], rep.Days[len(rep.Days)-1], rep.Timezone, rep.PreviousWeek)
	if rep.NoTraffic {
		ew.printf("**No traffic was recorded in %s**: no requests and no errors from any provider.\n", rep.Week)
		rep.writeMarkdownAlerts(ew)
		return ew.err
	}
	t := rep.Totals
	ew.printf("All providers: %s requests, %s errors, error rate **%s** (%s).\n\n",
		group(t.Requests), group(t.Errors), percent(t.ErrorRate), comparison(t, rep.PreviousWeek+": "))
	ew.printf("| provider | requests | errors | error rate | vs %s |\n|---|---:|---:|---:|---:|\n", rep.PreviousWeek)
	for _, p := range rep.Providers {
		ew.printf("| %s | %s | %s | %s | %s |\n", mdText(p.Provider), group(p.Requests), group(p.Errors), percent(p.ErrorRate), rateChange(p.Totals))
	}
	rep.writeMarkdownAlerts(ew)
	for i := range rep.Providers {
		rep.Providers[i].writeMarkdown(ew, rep)
	}
	return ew.err
}

// writeMarkdownAlerts lists the week's alerts, when any.
func (rep *Weekly) writeMarkdownAlerts(ew *errWriter) {
	if len(rep.Alerts) == 0 {
		return
	}
	ew.printf("\n**Alerts this week (%d):**\n\n", len(rep.Alerts))
	for _, a := range rep.Alerts {
		ew.printf("- %s %s %s %s: %s (%s)\n", mdText(a.Severity), mdText(a.Rule), mdText(a.Provider),
			codeSpan(alertSubject(a)), mdText(a.Summary), alertSpan(a))
	}
}

// alertSubject is what an alert is about: its code, or its category.
func alertSubject(a WeekAlert) string {
	if a.Code == "" {
		return oneLine(a.Category)
	}
	return codeText(a.Code, a.Subcode)
}

// alertSpan is when an alert fired: "Tue 10 14:03 to 15:20" or "… firing".
func alertSpan(a WeekAlert) string {
	const f = "Mon 02 15:04"
	if a.EndsAt == nil {
		return a.StartsAt.Format(f) + ", still firing"
	}
	if a.EndsAt.Format(time.DateOnly) == a.StartsAt.Format(time.DateOnly) {
		return a.StartsAt.Format(f) + " to " + a.EndsAt.Format("15:04")
	}
	return a.StartsAt.Format(f) + " to " + a.EndsAt.Format(f)
}

func (p *ProviderWeek) writeMarkdown(ew *errWriter, rep *Weekly) {
	ew.printf("\n## %s\n\n", mdText(p.Provider))
	ew.printf("%s requests (%s), %s errors (%s), error rate %s (%s).\n\n",
		group(p.Requests), countChange(p.Requests, p.PreviousRequests), group(p.Errors), countChange(p.Errors, p.PreviousErrors),
		percent(p.ErrorRate), comparison(p.Totals, "was "))
	requests, rates := make([]float64, len(p.Daily)), make([]float64, len(p.Daily))
	for i, d := range p.Daily {
		requests[i], rates[i] = float64(d.Requests), d.ErrorRate
	}
	ew.printf("Daily requests `%s`  error rate `%s`\n\n", sparkline(requests), sparkline(rates))

	if len(p.ByCategory) > 0 {
		var parts []string
		for _, c := range categoriesByCount(p.ByCategory) {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", mdText(c), group(p.ByCategory[c]), countChange(p.ByCategory[c], p.PreviousByCategory[c])))
		}
		ew.printf("**By category:** %s.\n\n", strings.Join(parts, ", "))
	}
	if len(p.TopCodes) > 0 {
		ew.printf("| top code | category | errors | vs %s |\n|---|---|---:|---:|\n", rep.PreviousWeek)
		for _, c := range p.TopCodes {
			code := codeSpan(codeText(c.Code, c.Subcode))
			if !c.Known && c.Code != "" {
				code += " (undocumented)"
			}
			ew.printf("| %s | %s | %s | %s |\n", code, mdText(c.Category), group(c.Count), countChange(c.Count, c.PreviousCount))
		}
		ew.printf("\n")
	}
	if len(p.NewCodes) > 0 {
		var parts []string
		for _, c := range p.NewCodes {
			doc := "undocumented"
			if c.Known {
				doc = "documented"
			}
			parts = append(parts, fmt.Sprintf("%s (%s, %s) %s, first seen %s", codeSpan(codeText(c.Code, c.Subcode)),
				mdText(c.Category), doc, group(c.Count), c.FirstSeen.Format("Mon 2006-01-02 15:04")))
		}
		ew.printf("**New codes:** %s.\n\n", strings.Join(parts, "; "))
	}
	if len(p.TopEndpoints) > 0 {
		ew.printf("| endpoint | errors | error rate | vs %s |\n|---|---:|---:|---:|\n", rep.PreviousWeek)
		for _, e := range p.TopEndpoints {
			ew.printf("| %s | %s | %s | %s |\n", codeSpan(e.Endpoint), group(e.Errors), percent(e.ErrorRate), countChange(e.Errors, e.PreviousErrors))
		}
		ew.printf("\n")
	}
	// The days, with a row per category.
	ew.printf("| |")
	for _, d := range p.Daily {
		ew.printf(" %s |", dayLabel(d.Date))
	}
	ew.printf("\n|---|%s\n", strings.Repeat("---:|", len(p.Daily)))
	row := func(name string, v func(DayCount) string) {
		ew.printf("| %s |", name)
		for _, d := range p.Daily {
			ew.printf(" %s |", v(d))
		}
		ew.printf("\n")
	}
	row("requests", func(d DayCount) string { return group(d.Requests) })
	row("errors", func(d DayCount) string { return group(d.Errors) })
	row("error rate", func(d DayCount) string { return percent(d.ErrorRate) })
	for _, c := range categoriesByCount(p.ByCategory) {
		row(mdText(c), func(d DayCount) string { return group(d.ByCategory[c]) })
	}
}

// categoriesByCount lists the categories, most errors first.
func categoriesByCount(m map[string]int64) []string {
	cats := slices.Collect(maps.Keys(m))
	slices.SortFunc(cats, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return cats
}

// dayLabel is "Mon 09" for 2026-11-09.
func dayLabel(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return d.Format("Mon 02")
}

// comparison compares a week's error rate with the previous week's (after
// prefix: "2026-W45: 3.10%, +0.40 pts"), or says that the previous week had
// no traffic: "0%, +4.97 pts" would be made up.
func comparison(t Totals, prefix string) string {
	if t.PreviousRequests == 0 {
		return "no traffic the week before"
	}
	return prefix + percent(t.PreviousErrorRate) + ", " + points(t.ErrorRateChange)
}

// rateChange is the change of the error rate against the previous week.
func rateChange(t Totals) string {
	if t.PreviousRequests == 0 {
		return "no traffic before"
	}
	return points(t.ErrorRateChange)
}

// points is a change of rate in percentage points.
func points(d float64) string {
	if math.Abs(d) < 0.00005 {
		return "±0 pts"
	}
	return fmt.Sprintf("%+.2f pts", 100*d)
}

// countChange is the relative change of a count, or "new" from zero.
func countChange(now, before int64) string {
	switch {
	case before == 0 && now == 0:
		return "±0%"
	case before == 0:
		return "new"
	}
	return signedPercent(float64(now)/float64(before) - 1)
}

// sparkline draws values as block characters, lowest to highest.
func sparkline(values []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	blocks := []rune(bars)
	hi := 0.0
	for _, v := range values {
		hi = max(hi, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if hi > 0 {
			i = int(math.Round(v / hi * float64(len(blocks)-1)))
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}

// plainWord is text that Markdown shows as it is (decline, auth_expired).
var plainWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$`)

// mdText escapes text for Markdown outside code spans.
func mdText(s string) string {
	s = oneLine(s)
	if plainWord.MatchString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]<>#|~&", r) { // no link without [ ], no list or heading mid-line
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// codeSpan puts text in a Markdown code span, safe in a table cell.
func codeSpan(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", "'")
	return "`" + strings.ReplaceAll(s, "|", "\\|") + "`"
}
