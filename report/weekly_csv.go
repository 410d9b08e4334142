package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"week", "provider", "section", "date", "category", "code", "subcode", "endpoint", "count", "previous_count"}

// WriteCSV writes the report as one table for spreadsheets, a row per
// number: section is requests, errors, category, code, new_code, endpoint,
// day_requests, day_errors, day_category or alert (one row per alert, at
// its start); the columns that do not apply to a section are empty. A week
// without traffic or alerts has the header alone.
// Text that a spreadsheet would take for a formula is prefixed with '.
func (rep *Weekly) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	row := func(p, section, date, category, code, subcode, endpoint string, count, previous int64, hasPrevious bool) {
		prev := ""
		if hasPrevious {
			prev = strconv.FormatInt(previous, 10)
		}
		_ = cw.Write([]string{rep.Week, cell(p), section, date, cell(category), cell(code), cell(subcode), cell(endpoint),
			strconv.FormatInt(count, 10), prev})
	}
	for i := range rep.Providers {
		p := &rep.Providers[i]
		row(p.Provider, "requests", "", "", "", "", "", p.Requests, p.PreviousRequests, true)
		row(p.Provider, "errors", "", "", "", "", "", p.Errors, p.PreviousErrors, true)
		for _, c := range categoriesByCount(p.ByCategory) {
			row(p.Provider, "category", "", c, "", "", "", p.ByCategory[c], p.PreviousByCategory[c], true)
		}
		for _, c := range p.TopCodes {
			row(p.Provider, "code", "", c.Category, c.Code, c.Subcode, "", c.Count, c.PreviousCount, true)
		}
		for _, c := range p.NewCodes {
			row(p.Provider, "new_code", c.FirstSeen.Format(time.RFC3339), c.Category, c.Code, c.Subcode, "", c.Count, 0, false)
		}
		for _, e := range p.TopEndpoints {
			row(p.Provider, "endpoint", "", "", "", "", e.Endpoint, e.Errors, e.PreviousErrors, true)
		}
		for _, d := range p.Daily {
			row(p.Provider, "day_requests", d.Date, "", "", "", "", d.Requests, 0, false)
			row(p.Provider, "day_errors", d.Date, "", "", "", "", d.Errors, 0, false)
			for _, c := range categoriesByCount(d.ByCategory) {
				row(p.Provider, "day_category", d.Date, c, "", "", "", d.ByCategory[c], 0, false)
			}
		}
	}
	for _, a := range rep.Alerts {
		row(a.Provider, "alert", a.StartsAt.Format(time.RFC3339), a.Category, a.Code, a.Subcode, "", 1, 0, false)
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses text a spreadsheet would evaluate (=, +, -, @, tab, CR).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteJSON writes the report as JSON.
func (rep *Weekly) WriteJSON(w io.Writer) error { return writeJSON(w, rep) }

// WriteJSON writes the result as JSON.
func (r *LookupResult) WriteJSON(w io.Writer) error { return writeJSON(w, r) }
