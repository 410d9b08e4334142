package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// groupWindows are the windows the groups pages offer.
var groupWindows = []string{"24h", "7d", "30d", "90d"}

// maxCachedGroupDays bounds the days of group hours kept (report reads
// settled days through the cache, like the provider page's).
const maxCachedGroupDays = 400

// groupsData is the groups page.
type groupsData struct {
	Form       url.Values
	Window     string
	Windows    []string
	Sorts      []string
	Providers  []string
	Categories []string
	Groups     *report.Groups
	// Rows are the table's rows (groupRows).
	Rows template.HTML
}

// formWindow reads a page's window: ?window=7d (ending now), or ?from=
// and ?to= (RFC 3339 or a date and time in the console's zone; to
// defaults to now, from to def before to), or def ending now.
func (c *Console) formWindow(q url.Values, def string) (from, to time.Time, window string, err error) {
	now := c.o.Now().UTC()
	if q.Get("from") != "" || q.Get("to") != "" {
		if to, err = c.parseTime(q.Get("to")); err != nil {
			return from, to, "", errors.New("To: " + err.Error())
		}
		if from, err = c.parseTime(q.Get("from")); err != nil {
			return from, to, "", errors.New("From: " + err.Error())
		}
		if to.IsZero() {
			to = now
		}
		if from.IsZero() {
			d, _ := parseWindow(def)
			from = to.Add(-d)
		}
		return from, to, "", nil
	}
	window = def
	if q.Get("window") != "" {
		window = q.Get("window")
	}
	d, err := parseWindow(window)
	if err != nil {
		return from, to, "", errors.New("Window: " + err.Error() + ".")
	}
	return now.Add(-d), now, window, nil
}

// groups answers GET /groups?window=7d&provider=…&category=…&sort=…: the
// error groups of a window.
func (c *Console) groups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &groupsData{Form: url.Values{}, Windows: groupWindows, Sorts: report.GroupSorts, Providers: c.providers}
	for _, cat := range classify.Categories {
		d.Categories = append(d.Categories, string(cat))
	}
	for _, f := range []string{"provider", "category", "sort", "from", "to", "window"} {
		if v := q.Get(f); v != "" {
			d.Form.Set(f, v)
		}
	}
	from, to, window, err := c.formWindow(q, "24h")
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.Window = window
	g, err := report.ListGroups(r.Context(), c.o.Store, report.GroupsOptions{
		From: from, To: to, Provider: q.Get("provider"), Category: q.Get("category"), Sort: q.Get("sort"),
		Catalogs: c.cats, Now: c.o.Now(), Days: c.settledGroupDays,
	})
	if errors.Is(err, report.ErrBadQuery) {
		c.fail(w, r, http.StatusBadRequest, sentence(err))
		return
	}
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	d.Groups = g
	d.Rows = groupRows(g.Groups, url.Values{"from": {g.From.Format(time.RFC3339)}, "to": {g.To.Format(time.RFC3339)}}.Encode())
	c.render(w, r, http.StatusOK, pages.groups, page{Title: "Error groups", Nav: "groups", Data: d})
}

// groupRows writes the groups table's rows, a group each: its provider,
// code and badge linking to its page (with query, the window), endpoint
// and remedy; category, count, sparkline, first and last seen. They are
// written here, every string escaped, rather than by html/template: a
// page of hundreds of groups spent most of its time in the template's
// reflective calls and escapers (as the provider page's charts did).
func groupRows(groups []report.GroupSummary, query string) template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	for i := range groups {
		g := &groups[i]
		class, badge := "", ""
		switch {
		case g.New:
			class, badge = ` class="new"`, ` <span class="badge">new</span>`
		case g.Regressed:
			class, badge = ` class="regressed"`, ` <span class="badge">regressed</span>`
		}
		code := g.Code
		if code == "" {
			code = "(" + g.Category
			if g.Status != 0 {
				code += " " + strconv.Itoa(g.Status)
			}
			code += ")"
		}
		if g.Subcode != "" {
			code += " " + g.Subcode
		}
		fmt.Fprintf(&b, "<tr%s>\n<td>%s <a class=\"group\" href=\"/groups/%s?%s\"><code>%s</code></a>%s\n<br><code class=\"endpoint\">%s %s</code>",
			class, esc(g.Provider), url.PathEscape(g.ID), esc(query), esc(code), badge, esc(g.Method), esc(g.Endpoint))
		if g.Remediation != "" {
			fmt.Fprintf(&b, "<br><span class=\"remedy\">%s</span>", esc(g.Remediation))
		}
		fmt.Fprintf(&b, "</td>\n<td>%s</td>\n<td class=\"n\">%s</td>\n<td>%s</td>\n<td>%s</td>\n<td>%s</td>\n</tr>\n",
			esc(g.Category), groupDigits(g.Count), sparkline(g.Hourly),
			g.FirstSeen.UTC().Format("2006-01-02 15:04"), g.LastSeen.UTC().Format("2006-01-02 15:04"))
	}
	return template.HTML(b.String()) // every string escaped above
}

// settledGroupDays returns every group's hours of the whole settled days
// [first, last), a day at a time from the cache (slices it keeps: read
// only).
func (c *Console) settledGroupDays(ctx context.Context, first, last time.Time) ([][]store.GroupHour, error) {
	const day = 24 * time.Hour
	now := c.o.Now()
	var out [][]store.GroupHour
	for d := first; d.Before(last); d = d.Add(day) {
		hours, err := c.groupDays.get(d, now, func() ([]store.GroupHour, error) {
			// Not cancelled with the request that reads it: others may
			// wait for it.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return c.o.Store.ReadGroupHours(ctx, d, d.Add(day), "")
		})
		if err != nil {
			return nil, err
		}
		out = append(out, hours)
	}
	return out, nil
}

// fingerprintPattern is what a group id looks like (classify.Fingerprint).
var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// groupData is one group's page.
type groupData struct {
	G        *report.Group
	Window   string
	Windows  []string
	Chart    chart
	Escalate string
	Local    func(time.Time) string
}

// group answers GET /groups/{id}?window=…: a group's hourly chart, its
// latest events (each linking to its lookup), the tenants and services
// affected, and the escalation block of its latest event.
func (c *Console) group(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !fingerprintPattern.MatchString(id) {
		c.fail(w, r, http.StatusNotFound, "There is no error group with that id.")
		return
	}
	from, to, window, err := c.formWindow(r.URL.Query(), "7d")
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	g, err := report.ReadGroup(r.Context(), c.o.Store, id, report.GroupOptions{
		From: from, To: to, Catalogs: c.cats, Location: c.o.Location, Now: c.o.Now(),
	})
	switch {
	case errors.Is(err, report.ErrNoGroup):
		c.fail(w, r, http.StatusNotFound, "There is no error group with that id.")
		return
	case errors.Is(err, report.ErrBadQuery):
		c.fail(w, r, http.StatusBadRequest, sentence(err))
		return
	case err != nil:
		c.failStore(w, r, err)
		return
	}
	d := &groupData{G: g, Window: window, Windows: groupWindows, Chart: hourlyChart(g.Hourly, g.From), Local: c.localTime}
	if g.Escalation != nil {
		d.Escalate = g.Escalation.Text()
	}
	c.render(w, r, http.StatusOK, pages.group, page{Title: "Group " + g.Provider + " " + g.Code, Nav: "groups", Data: d})
}
