package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/store"
)

// lookupLinks are the ids the page links to lookups of, in order.
func lookupLinks(body string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<a class="lookup" href="/lookup\?id=([^"]+)">`).FindAllStringSubmatch(body, -1) {
		id, _ := url.QueryUnescape(m[1])
		ids = append(ids, id)
	}
	return ids
}

// nextLink is the page's link to its next page, "" when none.
func nextLink(body string) string {
	m := regexp.MustCompile(`<a id="next" href="([^"]+)" rel="next">`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

func TestSearchPage(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	search := func(t *testing.T, query string) (*http.Response, string) {
		return get(t, srv, "/search?"+query, "support", supportPassword)
	}

	t.Run("the empty form", func(t *testing.T) {
		resp, body := search(t, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `<input type="text" name="tenant" value=""`)
		require.NotContains(t, body, `id="summary"`)
	})
	t.Run("a tenant, a page at a time", func(t *testing.T) {
		resp, body := search(t, "tenant=paged-tenant&from=2026-11-18T00:00:00Z&to=2026-11-19T00:00:00Z")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "50 events from 2026-11-18 00:00 UTC to 2026-11-19 00:00 UTC, newest first (more on the next page).")
		first := lookupLinks(body)
		require.Len(t, first, 50)
		require.Equal(t, "pl-89", first[0], "newest first")
		next := nextLink(body)
		require.NotEmpty(t, next)
		resp, body = get(t, srv, next, "support", supportPassword)
		require.Equal(t, http.StatusOK, resp.StatusCode, next)
		second := lookupLinks(body)
		require.Len(t, second, 10)
		require.Empty(t, nextLink(body), "the last page")
		seen := map[string]bool{}
		for _, id := range append(first, second...) {
			require.False(t, seen[id], "once: %s", id)
			seen[id] = true
			var n int
			_, err := fmt.Sscanf(id, "pl-%d", &n)
			require.NoError(t, err)
			require.NotZero(t, n%3, "umbrella's events are not paged-tenant's")
		}
		require.Len(t, seen, 60)
	})
	t.Run("the default window is the last 24 hours", func(t *testing.T) {
		resp, body := search(t, "provider=paylera")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "No event from 2026-11-19 12:00 UTC to 2026-11-20 12:00 UTC")
	})
	t.Run("filters narrow the scope", func(t *testing.T) {
		for query, want := range map[string][]string{
			"service=billing&code=auth.expired_token&from=2026-10-25&to=2026-11-10":                                                {"pl-old"},
			"provider=finix&status=402&from=2026-11-10&to=2026-11-12":                                                              {"d4ee0b6cdb67686f0c1ec0780e5b4296"},
			"tenant=acme-foods&category=auth_expired&from=2026-10-25&to=2026-11-20":                                                {"req_01j2abc", "pl-old"},
			"tenant=hooli&endpoint=" + url.QueryEscape("/loyalty/v2/transactions/{id}/preview") + "&from=2026-11-12&to=2026-11-13": {"chr-0001"},
			"tenant=acme-foods&code=NEVER&from=2026-11-01&to=2026-11-20":                                                           nil,
		} {
			resp, body := search(t, query)
			require.Equal(t, http.StatusOK, resp.StatusCode, query)
			require.Equal(t, want, lookupLinks(body), query)
		}
	})
	t.Run("bad searches", func(t *testing.T) {
		for query, want := range map[string]string{
			"code=DECLINED":                          "Search needs a tenant, a service or a provider.",
			"tenant=x&from=2026-10-01&to=2026-11-02": "longer than 31 days",
			"tenant=x&status=abc":                    "Status: &#34;abc&#34; is not an HTTP status.",
			"tenant=x&from=yesterday":                "From: &#34;yesterday&#34; is not a time",
			"tenant=x&after=bm90IGEgY3Vyc29y":        "The cursor (--after, after=) is not one",
			"tenant=x&after=" + url.QueryEscape("<script>alert(1)</script>"): "The cursor (--after, after=) is not one",
		} {
			resp, body := search(t, query)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, query)
			require.Contains(t, body, want, query)
			require.NotContains(t, body, "<script>alert(1)", query)
		}
		// A cursor from another search.
		_, body := search(t, "tenant=paged-tenant&from=2026-11-18T00:00:00Z&to=2026-11-19T00:00:00Z")
		next, err := url.Parse(nextLink(body))
		require.NoError(t, err)
		q := next.Query()
		q.Set("tenant", "umbrella")
		resp, body := search(t, q.Encode())
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, body, "was made for other filters")
	})
	t.Run("stored markup is escaped", func(t *testing.T) {
		resp, body := search(t, "provider=paylera&from=2026-11-18T08:00:00Z&to=2026-11-18T09:30:00Z")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, body, "<script>window")
		require.NotContains(t, body, "<img src=x")
		require.NotContains(t, body, "<b onmouseover")
		require.Contains(t, body, "&lt;script&gt;window.__pwned=1&lt;/script&gt;")
		require.Contains(t, body, "&lt;img src=x onerror=")
		resp, body = search(t, "tenant="+url.QueryEscape(scriptPayload)+"&from=2026-11-18T08:00:00Z&to=2026-11-18T09:30:00Z")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, []string{"pl-xss"}, lookupLinks(body), "a tenant that is markup is found, and shown as text")
		require.NotContains(t, body, "<script>window")
	})
}

func TestSearchCountsAgainstTheLookupAllowance(t *testing.T) {
	f := newFixture(t)
	o := f.options(t)
	o.LookupRate, o.LookupBurst = 1.0/3600, 2
	srv := f.server(t, o)
	for range 2 {
		resp, _ := get(t, srv, "/search?tenant=globex", "support", supportPassword)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, body := get(t, srv, "/search?tenant=globex", "support", supportPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Contains(t, body, "Too many lookups and searches")
	resp, _ = get(t, srv, "/search", "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the empty form is not a search")
}

// groupIDs are the groups the page links to, in order.
func groupIDs(body string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<a class="group" href="/groups/([0-9a-f]{16})\?`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestGroupsPages(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	page := func(t *testing.T, path string) (*http.Response, string) {
		return get(t, srv, path, "support", supportPassword)
	}

	resp, body := page(t, "/groups?window=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "3 error groups seen from 2026-11-13 12:00 UTC to 2026-11-20 12:00 UTC (whole hours), by count.")
	ids := groupIDs(body)
	require.Len(t, ids, 3)
	rows := regexp.MustCompile(`(?s)<tr( class="[a-z]+")?>\s*<td>[^<]*<a class="group".*?</tr>`).FindAllString(body, -1)
	require.Len(t, rows, 3)
	require.Contains(t, rows[0], `class="regressed"`, "paylera's expired tokens: 90 events, back after 19 days")
	require.Contains(t, rows[0], `<code>auth.expired_token</code></a> <span class="badge">regressed</span>`)
	require.Contains(t, rows[0], `<td class="n">90</td>`)
	require.Contains(t, rows[0], `<svg class="sparkline"`)
	require.Contains(t, rows[0], "<title>90 events, at most 90 in an hour</title>")
	require.Contains(t, rows[0], "<td>2026-10-30 10:00</td>", "first seen")
	require.Contains(t, rows[0], `<span class="remedy">The token&#39;s rotation grace period elapsed; use the rotated token.</span>`)
	for _, r := range rows[1:] {
		require.Contains(t, r, `<span class="badge">new</span>`)
	}
	require.NotContains(t, body, "<script>window")
	require.NotContains(t, body, "<b onmouseover")
	require.Contains(t, body, "&lt;b onmouseover=window.__pwned=1&gt;x&lt;/b&gt;", "a code that is markup, as text")
	require.NotContains(t, body, "style=", "no inline style: the CSP forbids it")

	for query, want := range map[string]int{
		"window=7d&provider=finterra":                       1,
		"window=7d&category=auth_expired":                   1,
		"window=24h":                                        0,
		"from=2026-11-01&to=2026-11-20":                     6,
		"from=2026-11-18T10:10:00Z&to=2026-11-18T10:20:00Z": 1,
	} {
		resp, body := page(t, "/groups?"+query)
		require.Equal(t, http.StatusOK, resp.StatusCode, query)
		require.Len(t, groupIDs(body), want, query)
	}
	resp, body = page(t, "/groups?from=2026-11-01&to=2026-11-20&sort=new")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "by new.")
	for path, status := range map[string]int{
		"/groups?window=91d":                      400,
		"/groups?window=soon":                     400,
		"/groups?sort=size":                       400,
		"/groups?from=last+week":                  400,
		"/groups/0123456789abcdef":                404,
		"/groups/not-a-fingerprint":               404,
		"/groups/" + ids[0] + "?window=2d&from=x": 400,
	} {
		resp, body := page(t, path)
		require.Equal(t, status, resp.StatusCode, path)
		require.NotContains(t, body, "<script>", path)
	}

	// A group's page: its chart, latest events linking to their lookups,
	// tenants and services, the escalation block of the latest event.
	resp, body = page(t, "/groups/"+ids[0]+"?from=2026-11-13T12:00:00Z&to=2026-11-20T12:00:00Z")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `<dd id="count"><strong>90</strong> events from 2026-11-13 12:00 UTC to 2026-11-20 12:00 UTC</dd>`)
	require.Contains(t, body, "before the window, last seen in the hour of 2026-10-30 10:00 UTC")
	require.Contains(t, body, `<svg class="chart" id="chart-group"`)
	require.Contains(t, body, "<title>2026-11-18 09:00 UTC: 90 events</title>", "a bar per three hours over a week")
	latest := lookupLinks(body)
	require.Len(t, latest, 20)
	require.Equal(t, "pl-89", latest[0])
	require.Contains(t, body, `<tr><td>paged-tenant</td><td class="n">60</td></tr>`)
	require.Contains(t, body, `<tr><td>umbrella</td><td class="n">30</td></tr>`)
	require.Contains(t, body, `<tr><td>billing</td><td class="n">90</td></tr>`)
	require.Contains(t, body, "escalation: paste to paylera support\n  trace_id: pl-89\n  time: 2026-11-18T10:44:30.000Z\n")
	require.Contains(t, body, `<button type="button" class="copy" data-copy="escalation" hidden>Copy</button>`)
	require.Contains(t, body, "The token&#39;s rotation grace period elapsed; use the rotated token.", "the catalog's remedy")

	// The markup group's page shows it as text.
	var xss string
	for _, id := range ids {
		_, b := page(t, "/groups/"+id+"?window=7d")
		if strings.Contains(b, "pl-xss") {
			xss = b
		}
	}
	require.NotEmpty(t, xss)
	require.NotContains(t, xss, "<script>window")
	require.NotContains(t, xss, "<img src=x")
	require.NotContains(t, xss, "<b onmouseover")
	require.Contains(t, xss, "&lt;script&gt;window.__pwned=1&lt;/script&gt;")
}

func TestAlertHistoryPage(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	page := func(t *testing.T, path string) (*http.Response, string) {
		return get(t, srv, path, "support", supportPassword)
	}
	alertLinks := func(body string) []string {
		var ids []string
		for _, m := range regexp.MustCompile(`<a href="/alerts/([0-9]+)">`).FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	id := func(a store.Alert) string { return fmt.Sprint(a.ID) }

	resp, body := page(t, "/alerts")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{id(f.firing), id(f.tokens), id(f.resolved)}, alertLinks(body), "firing first, then newest first")
	for query, want := range map[string][]string{
		"provider=paylera":   {id(f.tokens)},
		"rule=decline_spike": {id(f.resolved)},
		"severity=critical":  {id(f.firing), id(f.tokens)},
		"status=firing":      {id(f.firing)},
		"status=resolved":    {id(f.tokens), id(f.resolved)},
		"status=suppressed":  nil,
		"window=24h":         {id(f.firing)},
		"from=2026-11-14T00:00:00Z&to=2026-11-15T00:00:00Z": {id(f.resolved)},
	} {
		resp, body := page(t, "/alerts?"+query)
		require.Equal(t, http.StatusOK, resp.StatusCode, query)
		require.Equal(t, want, alertLinks(body), query)
	}
	for query, want := range map[string]string{
		"rule=outage":     "Unknown rule",
		"severity=page":   "Severity",
		"status=snoozed":  "Status",
		"window=401d":     "longer than 400 days",
		"after=AAAA":      "cursor",
		"from=2026-13-01": "not a time",
		"provider=" + url.QueryEscape(scriptPayload) + "&rule=" + url.QueryEscape(scriptPayload): "Unknown rule &#34;&lt;script&gt;",
	} {
		resp, body := page(t, "/alerts?"+query)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, query)
		require.Contains(t, body, want, query)
		require.NotContains(t, body, "<script>window", query)
	}

	// Many alerts: pages of 50, firing ones on the first.
	st, err := store.Open(testCtx(t), f.url)
	require.NoError(t, err)
	defer st.Close()
	var more []store.Alert
	require.NoError(t, st.RunAlerts(testCtx(t), true, func(run *store.AlertRun) error {
		for i := range 60 {
			a := f.tokens
			a.ID, a.Subject = 0, fmt.Sprint("x", i)
			a.Rule, a.Code = "new_code", fmt.Sprint("X", i)
			a.StartsAt = time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
			a.DetectedAt, a.LastEvaluated = a.StartsAt, a.StartsAt.Add(time.Minute)
			a.EndsAt, a.ResolvedAt = a.StartsAt.Add(time.Minute), a.StartsAt.Add(time.Minute)
			if err := run.SaveAlert(testCtx(t), &a, 0); err != nil {
				return err
			}
			more = append(more, a)
		}
		return nil
	}))
	_, body = page(t, "/alerts")
	first := alertLinks(body)
	require.Len(t, first, 50)
	require.Equal(t, id(f.firing), first[0])
	require.Equal(t, id(more[59]), first[1])
	next := nextLink(body)
	require.NotEmpty(t, next)
	resp, body = page(t, next)
	require.Equal(t, http.StatusOK, resp.StatusCode, next)
	second := alertLinks(body)
	require.Len(t, second, 13)
	require.Empty(t, nextLink(body))
	require.Equal(t, []string{id(f.tokens), id(f.resolved)}, second[11:])
}

func TestAlertEscalationBox(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	resp, body := get(t, srv, fmt.Sprintf("/alerts/%d", f.tokens.ID), "oncall", oncallPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	box := regexp.MustCompile(`(?s)<textarea class="escalation" id="escalation"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body)
	require.NotNil(t, box)
	text := strings.ReplaceAll(box[1], "&#39;", "'")
	for _, want := range []string{
		"escalation: paste to paylera support (an incident, not one request)\n",
		"  errors: auth_expired, every code\n",
		"  window: 2026-11-18T10:00:00Z to 2026-11-18T10:45:00Z (45 min)\n",
		"  failed: 90 of our 90 requests (100.00%)\n",
		"  statuses: 401 90\n",
		"  sample requests (trace_id, time, status; endpoint, code):\n",
		"    pl-05  2026-11-18T10:02:30.000Z  401\n      POST /v1/invoices/{id}/pay, auth.expired_token\n",
		"    pl-89  2026-11-18T10:44:30.000Z  401\n",
		"paylera asks:",
	} {
		require.Contains(t, text, want)
	}
	samples := regexp.MustCompile(`(?m)^    (pl-[0-9]+) `).FindAllStringSubmatch(text, -1)
	require.Len(t, samples, 15, "15 distinct samples spread over the window")
	require.Contains(t, body, `<button type="button" class="copy" data-copy="escalation" hidden>Copy</button>`)
	require.Contains(t, body, `<a href="/lookup?id=pl-05"><code>pl-05</code></a>`)

	// The Alertmanager annotation's link is this page, at the box.
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	link := console.AlertPageURL(base, f.tokens.ID)
	require.Equal(t, fmt.Sprintf("%s/alerts/%d#escalation", srv.URL, f.tokens.ID), link)
	resp, _ = get(t, srv, strings.TrimPrefix(link, srv.URL), "oncall", oncallPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// An alert without events in its window says so.
	_, body = get(t, srv, fmt.Sprintf("/alerts/%d", f.resolved.ID), "oncall", oncallPassword)
	require.Contains(t, body, "(no request of the incident carried an id of the provider&#39;s)")
}
