package console_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// waitCopied clicks a copy button and waits for it to say it copied.
func (b *browser) waitCopied(t *testing.T, sel string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(sel), chromedp.Click(sel))
	copied := b.eval(t, `(async () => {
		const b = document.querySelector(`+"`"+sel+"`"+`);
		for (let i = 0; i < 50 && b.textContent !== "Copied"; i++) {
			await new Promise(r => requestAnimationFrame(r));
		}
		return b.textContent;
	})()`)
	require.Equal(t, "Copied", copied)
}

// TestBrowserSearch: a search typed in the form, its next page, an event's
// lookup, all by following the page's links.
func TestBrowserSearch(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#ids"))
	b.do(t, chromedp.Click(`a[href="/search"]`), chromedp.WaitVisible(`form.search`))
	b.do(t,
		chromedp.SendKeys(`input[name="tenant"]`, "paged-tenant"),
		chromedp.SendKeys(`input[name="from"]`, "2026-11-18T00:00:00Z"),
		chromedp.SendKeys(`input[name="to"]`, "2026-11-19T00:00:00Z"),
		chromedp.Submit(`form.search`),
		chromedp.WaitVisible("#events"),
	)
	require.True(t, strings.HasPrefix(b.location(t), "/search?tenant=paged-tenant&"), b.location(t))
	require.Equal(t, "50 events from 2026-11-18 00:00 UTC to 2026-11-19 00:00 UTC, newest first (more on the next page).", b.text(t, "#summary"))
	b.screenshot(t, "search")
	b.clean(t)

	b.do(t, chromedp.Click("#next"), chromedp.WaitVisible("#events"))
	require.Contains(t, b.location(t), "after=")
	require.Equal(t, "10", b.eval(t, `String(document.querySelectorAll("#events tbody tr").length)`))
	b.screenshot(t, "search-next-page")
	b.clean(t)

	first := b.eval(t, `document.querySelector("#events a.lookup").getAttribute("href")`)
	b.do(t, chromedp.Click("#events a.lookup"), chromedp.WaitVisible("#event-1"))
	require.Equal(t, first, b.location(t))
	require.Contains(t, b.text(t, "#event-1"), "auth.expired_token")
	b.clean(t)
}

// TestBrowserGroups: the groups of a week with their sparklines, a
// group's page with its chart, its escalation block copied, and an
// event's lookup.
func TestBrowserGroups(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "oncall", oncallPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#ids"))
	b.do(t, chromedp.Click(`a[href="/groups"]`), chromedp.WaitVisible("form.window"))
	b.do(t, chromedp.Click(`a[href="/groups?window=7d"]`), chromedp.WaitVisible("#groups"))
	require.Equal(t, "/groups?window=7d", b.location(t))
	type box struct{ Width, Height float64 }
	sparks, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]box](`Array.from(document.querySelectorAll("svg.sparkline")).map(s => {
		const r = s.getBoundingClientRect(); return {Width: r.width, Height: r.height}; })`))
	require.NoError(t, err)
	require.Len(t, sparks, 3)
	for _, s := range sparks {
		require.Equal(t, box{120, 24}, s)
	}
	require.Equal(t, "regressed", b.text(t, "#groups tr.regressed .badge"))
	b.screenshot(t, "groups")
	b.clean(t)

	b.do(t, chromedp.Click("#groups tr.regressed a.group"), chromedp.WaitVisible("#latest"))
	require.True(t, strings.HasPrefix(b.location(t), "/groups/"), b.location(t))
	require.Contains(t, b.text(t, "#count"), "90 events")
	bars, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-group rect").length`))
	require.NoError(t, err)
	require.Equal(t, 56, bars, "a bar per three hours of the week")
	block, err := chromedp.Run(b.ctx, chromedp.Value("#escalation"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(block, "escalation: paste to paylera support\n  trace_id: pl-89\n"), block)
	b.waitCopied(t, `button[data-copy="escalation"]`)
	b.screenshot(t, "group")
	b.clean(t)

	b.do(t, chromedp.Click("#latest a.lookup"), chromedp.WaitVisible("#event-1"))
	require.Equal(t, "/lookup?id=pl-89", b.location(t))
	b.clean(t)
}

// TestBrowserAlertHistoryAndEscalation: the alerts filtered in the form,
// an alert's incident escalation copied, and a sample's lookup.
func TestBrowserAlertHistoryAndEscalation(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "oncall", oncallPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/alerts"), chromedp.WaitVisible("table.alerts"))
	require.Equal(t, "3", b.eval(t, `String(document.querySelectorAll("table.alerts tbody tr").length)`))
	b.do(t,
		chromedp.SetValue(`select[name="provider"]`, "paylera"),
		chromedp.SetValue(`select[name="status"]`, "resolved"),
		chromedp.Submit(`form.window`),
		chromedp.WaitVisible("#none-firing"),
	)
	q, err := url.ParseQuery(strings.TrimPrefix(b.location(t), "/alerts?"))
	require.NoError(t, err)
	require.Equal(t, "paylera", q.Get("provider"))
	require.Equal(t, "resolved", q.Get("status"))
	require.Equal(t, "1", b.eval(t, `String(document.querySelectorAll("table.alerts tbody tr").length)`))
	b.screenshot(t, "alerts-filtered")
	b.clean(t)

	b.do(t, chromedp.Click(fmt.Sprintf(`a[href="/alerts/%d"]`, f.tokens.ID)), chromedp.WaitVisible("#escalation"))
	block, err := chromedp.Run(b.ctx, chromedp.Value("#escalation"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(block, "escalation: paste to paylera support (an incident, not one request)\n"), block)
	require.Equal(t, 15, strings.Count(block, "POST /v1/invoices/{id}/pay, auth.expired_token"), block)
	b.waitCopied(t, `button[data-copy="escalation"]`)
	b.screenshot(t, "alert-escalation")
	b.clean(t)

	b.do(t, chromedp.Click(`#samples a[href="/lookup?id=pl-05"]`), chromedp.WaitVisible("#event-1"))
	require.Equal(t, "/lookup?id=pl-05", b.location(t))
	b.clean(t)
}

// The new pages work without JavaScript: forms submit, links lead on, the
// escalation blocks are read-only text boxes and their copy buttons stay
// hidden.
func TestBrowserBeyondOneIDWithoutJavaScript(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)
	_, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)

	b.do(t, chromedp.Navigate(srv.URL+"/search"), chromedp.WaitVisible("form.search"))
	b.do(t,
		chromedp.SendKeys(`input[name="service"]`, "billing"),
		chromedp.SendKeys(`input[name="from"]`, "2026-11-18T10:00:00Z"),
		chromedp.SendKeys(`input[name="to"]`, "2026-11-18T10:05:00Z"),
		chromedp.Click(`form.search button[type="submit"]`),
		chromedp.WaitVisible("#events"),
	)
	require.Contains(t, b.text(t, "#summary"), "10 events")
	b.do(t, chromedp.Navigate(srv.URL+fmt.Sprintf("/alerts/%d", f.tokens.ID)), chromedp.WaitVisible("#escalation"))
	hidden, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('button[data-copy="escalation"]').hidden`))
	require.NoError(t, err)
	require.True(t, hidden, "no script ran: the copy button stays hidden")
	readOnly, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#escalation").readOnly`))
	require.NoError(t, err)
	require.True(t, readOnly)
	b.do(t, chromedp.Navigate(srv.URL+"/groups?window=7d"), chromedp.WaitVisible("#groups"))
	b.do(t, chromedp.Click("#groups tr.regressed a.group"), chromedp.WaitVisible("#escalation"))
	b.screenshot(t, "group-without-javascript")
	requests, failures := b.log.Snapshot()
	require.Empty(t, failures)
	for _, r := range requests {
		require.True(t, strings.HasPrefix(r, srv.URL+"/"), "a request elsewhere: %s", r)
	}
}

// Stored text that is markup, in a tenant, a service, a code and a
// message, shows as text on the search and group pages and never runs.
func TestBrowserStoredMarkupOnTheNewPages(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/search?provider=paylera&from=2026-11-18T08:00:00Z&to=2026-11-18T09:30:00Z"), chromedp.WaitVisible("#events"))
	require.Equal(t, "undefined", b.eval(t, `typeof window.__pwned`), "nothing ran")
	require.Equal(t, "0", b.eval(t, `String(document.querySelectorAll("main img, main script, main b").length)`), "no element made of stored text")
	require.Contains(t, b.text(t, "#events"), scriptPayload)
	require.Contains(t, b.text(t, "#events"), codePayload)
	b.screenshot(t, "search-stored-markup")
	b.clean(t)

	b.do(t, chromedp.Navigate(srv.URL+"/groups?window=7d"), chromedp.WaitVisible("#groups"))
	require.Equal(t, "0", b.eval(t, `String(document.querySelectorAll("main img, main script, main b").length)`))
	b.do(t, chromedp.Click(`#groups a.group[href*="`+groupOf(t, b, codePayload)+`"]`), chromedp.WaitVisible("#latest"))
	require.Equal(t, "undefined", b.eval(t, `typeof window.__pwned`))
	require.Equal(t, "0", b.eval(t, `String(document.querySelectorAll("main img, main script, main b").length)`))
	require.Contains(t, b.text(t, "#tenants"), scriptPayload)
	require.Contains(t, b.text(t, "#services"), imgPayload)
	b.screenshot(t, "group-stored-markup")
	b.clean(t)
}

// groupOf is the id of the listed group whose code is code.
func groupOf(t *testing.T, b *browser, code string) string {
	t.Helper()
	href := b.eval(t, `(() => {
		for (const a of document.querySelectorAll("#groups a.group")) {
			if (a.textContent.includes(`+"`"+code+"`"+`)) return a.getAttribute("href");
		}
		return "";
	})()`)
	require.NotEmpty(t, href)
	return strings.TrimPrefix(strings.SplitN(href, "?", 2)[0], "/groups/")
}
