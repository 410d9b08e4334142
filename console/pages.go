package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// pages are the parsed templates, one per page, each with the layout.
var pages = struct {
	index, lookup, search, groups, group, alerts, alert, provider, providers, errorPage, weeklyNav *template.Template
}{
	index:     parsePage("index.html"),
	lookup:    parsePage("lookup.html"),
	search:    parsePage("search.html"),
	groups:    parsePage("groups.html"),
	group:     parsePage("group.html"),
	alerts:    parsePage("alerts.html"),
	alert:     parsePage("alert.html"),
	provider:  parsePage("provider.html"),
	providers: parsePage("providers.html"),
	errorPage: parsePage("error.html"),
	weeklyNav: template.Must(template.New("weekly_nav.html").Funcs(funcs).ParseFS(templateFS, "templates/weekly_nav.html")),
}

var funcs = template.FuncMap{
	"group":   groupDigits,
	"percent": percent,
	"lines":   func(s string) int { return strings.Count(strings.TrimRight(s, "\n"), "\n") + 1 },
	"color":   report.CategoryColor,
	"add":     func(a, b int) int { return a + b },
	"share": func(n, of int64) string {
		if of == 0 {
			return "–"
		}
		return percent(float64(n) / float64(of))
	},
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 UTC") },
	"minute": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"span": func(from, to time.Time) string {
		if to.IsZero() {
			return "since " + from.UTC().Format("2006-01-02 15:04 UTC") + " (firing)"
		}
		return from.UTC().Format("2006-01-02 15:04") + " to " + to.UTC().Format("15:04 UTC") + " (" + report.DurationText(to.Sub(from)) + ")"
	},
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"sparkline": sparkline,
	"short":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"seconds":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
}

func parsePage(name string) *template.Template {
	return template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

// groupDigits formats n with thousands separators.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	start := 0
	if n < 0 {
		start = 1
	}
	var b strings.Builder
	b.WriteString(s[:start])
	digits := s[start:]
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func percent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return strconv.FormatFloat(100*f, 'f', 2, 64) + "%"
}

func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, pages.index, page{Title: "faultline console", Data: struct {
		Providers []string
		MaxIDs    int
	}{c.providers, MaxIDs}})
}

// lookupData is the lookup page: the form as typed and the result.
type lookupData struct {
	IDs, From, To string
	MaxIDs        int
	Zone          string
	Error         string
	Result        *report.LookupResult
	Local         func(time.Time) string
}

// lookup answers GET /lookup?id=A&id=B (or ids=one per line) with
// optional from and to: every event of the ids, newest first.
func (c *Console) lookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := splitIDs(append(q["id"], q["ids"]...))
	d := &lookupData{IDs: strings.Join(ids, "\n"), From: q.Get("from"), To: q.Get("to"), MaxIDs: MaxIDs,
		Zone: c.o.Location.String(), Local: c.localTime}
	p := page{Title: "Lookup", Nav: "lookup", Data: d}
	bad := func(msg string) {
		d.Error = msg
		c.render(w, r, http.StatusBadRequest, pages.lookup, p)
	}
	if len(ids) == 0 {
		if d.From != "" || d.To != "" || q.Has("id") || q.Has("ids") {
			bad("Type at least one id.")
			return
		}
		c.render(w, r, http.StatusOK, pages.lookup, p)
		return
	}
	if len(ids) > MaxIDs {
		bad(fmt.Sprintf("%d ids: at most %d at once.", len(ids), MaxIDs))
		return
	}
	from, err := c.parseTime(d.From)
	if err != nil {
		bad("From: " + err.Error())
		return
	}
	to, err := c.parseTime(d.To)
	if err != nil {
		bad("To: " + err.Error())
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		bad("From must be before To.")
		return
	}
	if ok, wait := c.limits.allow(info(r).user, c.o.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.Error = fmt.Sprintf("Too many lookups: try again in %d s.", int(math.Ceil(wait.Seconds())))
		c.render(w, r, http.StatusTooManyRequests, pages.lookup, p)
		return
	}
	res, err := report.Lookup(r.Context(), c.o.Store, report.LookupOptions{
		IDs: ids, From: from, To: to, Limit: lookupLimit, Location: c.o.Location, Catalogs: c.cats,
	})
	if errors.Is(err, store.ErrBadID) {
		bad("One of the ids cannot be an id: ids are at most 512 bytes of text.")
		return
	}
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	d.Result = res
	status := http.StatusOK
	if len(res.Events) == 0 {
		status = http.StatusNotFound
	}
	c.render(w, r, status, pages.lookup, p)
}

// splitIDs splits values on white space, each id once, in order.
func splitIDs(values []string) []string {
	var ids []string
	for _, v := range values {
		for _, id := range strings.Fields(v) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// parseTime reads a time typed in a form: RFC 3339, or a date and time
// (what a browser's datetime-local input sends) or a date in the console's
// time zone; "" is the zero time.
func (c *Console) parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, c.o.Location); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 like 2026-11-02T10:00:00Z, or 2026-11-02T10:00 in %s", s, c.o.Location)
}

// localTime is t in the console's time zone, "" when that is UTC.
func (c *Console) localTime(t time.Time) string {
	if c.o.Location == time.UTC || c.o.Location.String() == "UTC" {
		return ""
	}
	return t.In(c.o.Location).Format("2006-01-02 15:04:05.000 MST (-07:00), ") + c.o.Location.String()
}

// alertWindows are the windows the alerts page offers.
var alertWindows = []string{"24h", "7d", "30d", "90d", "400d"}

// alertsData is the alerts page.
type alertsData struct {
	Form                 url.Values
	Window               string
	Windows              []string
	Providers, Rules     []string
	Severities, Statuses []string
	From, To             time.Time
	Firing, Others       []store.Alert
	// Next is the address of the next page ("" on the last); Filtered is
	// set when a filter narrows the list.
	Next     string
	Filtered bool
	// Since is set when the window ends now.
	Since bool
}

// alerts answers GET /alerts?window=7d&provider=…&rule=…&severity=…&status=…
// (or from and to): the stored alerts whose incident overlaps the window
// (default the last seven days), firing ones on top, a page at a time.
func (c *Console) alerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &alertsData{Form: url.Values{}, Windows: alertWindows, Providers: c.providers, Severities: report.Severities, Statuses: store.AlertStatuses}
	for _, rule := range detect.Rules {
		d.Rules = append(d.Rules, string(rule))
	}
	for _, f := range []string{"provider", "rule", "severity", "status", "from", "to", "window", "after"} {
		if v := q.Get(f); v != "" {
			d.Form.Set(f, v)
		}
	}
	from, to, window, err := c.formWindow(q, "7d")
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.Window, d.Since = window, window != ""
	h, err := report.ReadAlertHistory(r.Context(), c.o.Store, report.HistoryOptions{
		From: from, To: to, Provider: q.Get("provider"), Rule: q.Get("rule"), Severity: q.Get("severity"),
		Status: q.Get("status"), After: q.Get("after"), Now: c.o.Now(),
	})
	if errors.Is(err, report.ErrBadQuery) {
		c.fail(w, r, http.StatusBadRequest, sentence(err))
		return
	}
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	d.From, d.To = h.From, h.To
	for _, a := range h.Alerts {
		if a.Firing() {
			d.Firing = append(d.Firing, a)
		} else {
			d.Others = append(d.Others, a)
		}
	}
	for _, f := range []string{"provider", "rule", "severity", "status"} {
		d.Filtered = d.Filtered || d.Form.Get(f) != ""
	}
	if h.Next != "" {
		next := url.Values{"from": {h.From.Format(time.RFC3339Nano)}, "to": {h.To.Format(time.RFC3339Nano)}, "after": {h.Next}}
		for _, f := range []string{"provider", "rule", "severity", "status"} {
			if v := d.Form.Get(f); v != "" {
				next.Set(f, v)
			}
		}
		d.Next = "/alerts?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, pages.alerts, page{Title: "Alerts", Nav: "alerts", Data: d})
}

func (c *Console) alert(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, http.StatusNotFound, "There is no alert with that id.")
		return
	}
	a, err := c.o.Store.GetAlert(r.Context(), id)
	if errors.Is(err, store.ErrNoAlert) {
		c.fail(w, r, http.StatusNotFound, "There is no alert with that id.")
		return
	}
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	// The provider page around the incident: an hour either side.
	end := a.EndsAt
	if end.IsZero() {
		end = c.o.Now()
	}
	from, to := a.StartsAt.Add(-time.Hour).Truncate(time.Minute), end.Add(time.Hour).Truncate(time.Minute)
	if to.Sub(from) > maxWindow {
		from = to.Add(-maxWindow)
	}
	// What to send the provider's support about the incident.
	x, err := report.EscalateAlert(r.Context(), c.o.Store, &a, report.EscalateOptions{Catalogs: c.cats})
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, pages.alert, page{Title: "Alert " + string(a.Rule) + " " + a.Provider, Nav: "alerts", Data: struct {
		A                *store.Alert
		WindowFrom, To   string
		Week             string
		KnownProvider    bool
		ObservedRequests int64
		X                *report.IncidentEscalation
		Escalation       string
	}{&a, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339),
		report.WeekOf(a.StartsAt.In(c.o.Location)).String(), slices.Contains(c.providers, a.Provider), a.ObservedRequests,
		x, x.Text()}})
}

// weekly serves the weekly report of ?week= (default: the last complete
// week) as the one self-contained document `report weekly --format html`
// writes, with the console's navigation (previous and next week) at its
// top. Rendered reports are kept for weeklyCacheTTL.
func (c *Console) weekly(w http.ResponseWriter, r *http.Request) {
	week := report.LastCompleteWeek(c.o.Now(), c.o.Location)
	if s := r.URL.Query().Get("week"); s != "" {
		var err error
		if week, err = report.ParseWeek(s); err != nil {
			c.fail(w, r, http.StatusBadRequest, "Week: "+err.Error()+".")
			return
		}
	}
	html, err := c.weeklies.get(week.String(), c.o.Now(), func() ([]byte, error) {
		// Not cancelled with the request that happens to render it: others
		// may be waiting for it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		rep, err := report.BuildWeekly(ctx, c.o.Store, report.WeeklyOptions{
			Week: week, Location: c.o.Location, Catalogs: c.cats, Alerts: c.o.Store,
		})
		if err != nil {
			return nil, err
		}
		var doc bytes.Buffer
		if err := rep.WriteHTML(&doc); err != nil {
			return nil, err
		}
		return doc.Bytes(), nil
	})
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	var nav bytes.Buffer
	next := report.WeekOf(week.End(time.UTC))
	if err := pages.weeklyNav.Execute(&nav, struct {
		Week, Previous, Next, User string
	}{week.String(), week.Previous().String(), next.String(), info(r).user}); err != nil {
		c.failStore(w, r, err)
		return
	}
	at := bytes.Index(html, []byte("<body>"))
	if at < 0 {
		c.failStore(w, r, errors.New("weekly report without <body>"))
		return
	}
	at += len("<body>")
	out := make([]byte, 0, len(html)+nav.Len())
	out = append(append(append(out, html[:at]...), nav.Bytes()...), html[at:]...)
	w.Header().Set("Content-Security-Policy", cspWeekly)
	c.write(w, r, http.StatusOK, "text/html; charset=utf-8", out)
}

func (c *Console) providerList(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, pages.providers, page{Title: "Providers", Nav: "provider", Data: c.providers})
}

// Windows of the provider page.
const (
	defaultWindow = 24 * time.Hour
	maxWindow     = 90 * 24 * time.Hour
)

// windowChoices are the windows the provider page offers.
var windowChoices = []string{"1h", "6h", "24h", "7d", "30d", "90d"}

// parseWindow reads a window like 90m, 6h or 7d.
func parseWindow(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q is not a window: want 1h, 24h, 7d…", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%q is not a window: want 1h, 24h, 7d… (at least a minute)", s)
	}
	return d, nil
}

// provider answers GET /provider/{name}?window=24h (or ?from=&to=): the
// provider's requests, errors, error rate, errors by category and top codes.
func (c *Console) provider(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(c.providers, name) {
		c.fail(w, r, http.StatusNotFound, "There is no provider of that name.")
		return
	}
	q := r.URL.Query()
	now := c.o.Now().UTC().Truncate(time.Minute)
	window := q.Get("window")
	from, to := now.Add(-defaultWindow), now
	if q.Get("from") != "" || q.Get("to") != "" {
		var err error
		if to, err = c.parseTime(q.Get("to")); err != nil {
			c.fail(w, r, http.StatusBadRequest, "To: "+err.Error())
			return
		}
		if to.IsZero() {
			to = now
		}
		if from, err = c.parseTime(q.Get("from")); err != nil {
			c.fail(w, r, http.StatusBadRequest, "From: "+err.Error())
			return
		}
		if from.IsZero() {
			from = to.Add(-defaultWindow)
		}
		window = ""
	} else if window != "" {
		d, err := parseWindow(window)
		if err != nil {
			c.fail(w, r, http.StatusBadRequest, "Window: "+err.Error()+".")
			return
		}
		from = now.Add(-d)
	} else {
		window = "24h"
	}
	from, to = from.Truncate(time.Minute), to.Truncate(time.Minute)
	switch {
	case !from.Before(to):
		c.fail(w, r, http.StatusBadRequest, "The window is empty: from must be at least a minute before to.")
		return
	case to.Sub(from) > maxWindow:
		c.fail(w, r, http.StatusBadRequest, "The window is longer than 90 days.")
		return
	}
	pw, err := c.providerWindow(r.Context(), name, from, to)
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	type category struct {
		Name  string
		Count int64
	}
	var cats []category
	for k, n := range pw.ByCategory {
		cats = append(cats, category{k, n})
	}
	slices.SortFunc(cats, func(a, b category) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Name, b.Name)
	})
	rate := 0.0
	if pw.Requests > 0 {
		rate = float64(pw.Errors) / float64(pw.Requests)
	}
	c.render(w, r, http.StatusOK, pages.provider, page{Title: name, Nav: "provider", Data: struct {
		Name       string
		W          *report.ProviderWindow
		Rate       float64
		Categories []category
		Window     string
		Windows    []string
		From, To   string
		Charts     []chart
		Providers  []string
	}{name, pw, rate, cats, window, windowChoices, from.Format(time.RFC3339), to.Format(time.RFC3339),
		trafficCharts(pw), c.providers}})
}
