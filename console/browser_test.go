package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/browsertest"
)

// browser is a headless Chromium tab signed in to a console.
type browser struct {
	ctx  context.Context
	base string
	log  *browsertest.Log
}

// cspWatch records, in every document, the Content Security Policy
// violations the page reports to itself.
const cspWatch = `window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`

// newBrowser starts headless Chromium (it must be installed: CI installs
// it) with a tab that sends user's basic credentials to srv.
func newBrowser(t *testing.T, srv *httptest.Server, user, password string) *browser {
	t.Helper()
	tab := browsertest.Start(t, 1000, 1000)
	ctx := tab.Ctx
	b := &browser{ctx: ctx, base: srv.URL, log: tab.Log}
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
	require.NoError(t, err)
	// Signing in: the tab sends the credentials with every request, as a
	// browser does once its user typed them in the basic-auth prompt.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
	require.NoError(t, err)
	return b
}

// step bounds a browser step: a page that never shows what the test waits
// for fails the test instead of hanging it.
const step = 30 * time.Second

func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	require.NoError(t, err)
	return s
}

func (b *browser) eval(t *testing.T, js string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	return s
}

func (b *browser) location(t *testing.T) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	return strings.TrimPrefix(s, b.base)
}

// clean requires that nothing failed, no Content Security Policy was
// violated, and that every request went to the console.
func (b *browser) clean(t *testing.T) {
	t.Helper()
	require.Equal(t, "[]", b.eval(t, `JSON.stringify(window.__csp)`), "no Content Security Policy violation")
	requests, failures := b.log.Snapshot()
	require.Empty(t, failures)
	for _, r := range requests {
		require.True(t, strings.HasPrefix(r, b.base+"/"), "a request elsewhere: %s", r)
	}
}

// screenshot leaves a full-page screenshot for people to look at: in the
// test's artifact directory under -artifacts, else in
// $TMPDIR/faultline-console/ (written over by each run).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := browsertest.ScreenshotDir(t, "faultline-console")
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

func TestBrowserLookup(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#ids"))
	require.Contains(t, b.text(t, "header"), "signed in as support")
	b.do(t,
		chromedp.SendKeys("#ids", "req_01j2abc"),
		chromedp.Submit("#ids"),
		chromedp.WaitVisible("#event-1"),
	)
	require.Equal(t, "/lookup?ids=req_01j2abc", b.location(t), "the id is in the URL: a link can carry it")
	require.Equal(t, `1 event found for "req_01j2abc", searched in every stored event.`, b.text(t, "#summary"))
	event := b.text(t, "#event-1")
	for _, want := range []string{"finterra", "token_expired", "auth_expired; not retryable; documented", "Re-mint a token."} {
		require.Contains(t, event, want)
	}
	block, err := chromedp.Run(b.ctx, chromedp.Value("#escalation-1"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(block, "escalation: paste to finterra support\n  request_id: req_01j2abc\n"), block)
	// The script ran under the CSP: the copy button shows, and copies.
	b.do(t, chromedp.WaitVisible(`button[data-copy="escalation-1"]`), chromedp.Click(`button[data-copy="escalation-1"]`))
	copied := b.eval(t, `(async () => {
		for (let i = 0; i < 50 && document.querySelector('button[data-copy="escalation-1"]').textContent !== "Copied"; i++) {
			await new Promise(r => requestAnimationFrame(r));
		}
		return document.querySelector('button[data-copy="escalation-1"]').textContent;
	})()`)
	require.Equal(t, "Copied", copied)
	b.screenshot(t, "lookup")
	b.clean(t)

	// Several ids, one per line.
	b.do(t,
		chromedp.Clear("#ids"),
		chromedp.SendKeys("#ids", "trace-aaa\nAUabc\nnope"),
		chromedp.Submit("#ids"),
		chromedp.WaitVisible("#event-2"),
	)
	require.Contains(t, b.text(t, "#summary"), `2 events found for "trace-aaa", "AUabc", "nope"`)
	require.Contains(t, b.text(t, "#unmatched"), "nope")
	b.screenshot(t, "lookup-several")
	b.clean(t)
}

// The console works without JavaScript: a lookup is a form submitted by
// the browser, the escalation block a read-only text box to select, and
// the copy button (the one script) stays hidden.
func TestBrowserWithoutJavaScript(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "oncall", oncallPassword)
	_, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)

	b.do(t, chromedp.Navigate(srv.URL+"/lookup"), chromedp.WaitVisible("#ids"))
	b.do(t,
		chromedp.SendKeys("#ids", "req_01j2abc"),
		chromedp.Click(`form.lookup button[type="submit"]`),
		chromedp.WaitVisible("#event-1"),
	)
	require.Equal(t, "/lookup?ids=req_01j2abc&from=&to=", b.location(t), "the form as the browser submits it")
	require.Contains(t, b.text(t, "#event-1"), "Re-mint a token.")
	block, err := chromedp.Run(b.ctx, chromedp.Value("#escalation-1"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(block, "escalation: paste to finterra support\n  request_id: req_01j2abc\n"), block)
	hidden, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('button[data-copy="escalation-1"]').hidden`))
	require.NoError(t, err)
	require.True(t, hidden, "no script ran: the copy button stays hidden")

	// Alert to its sample's lookup, by links alone.
	b.do(t, chromedp.Navigate(srv.URL+"/alerts"), chromedp.WaitVisible("table.alerts"))
	b.do(t, chromedp.Click(fmt.Sprintf(`a[href="/alerts/%d"]`, f.resolved.ID)), chromedp.WaitVisible("#sample"))
	b.do(t, chromedp.Click("#sample"), chromedp.WaitVisible("#event-1"))
	require.Equal(t, "/lookup?id=d4ee0b6cdb67686f0c1ec0780e5b4296", b.location(t))
	b.screenshot(t, "lookup-without-javascript")
	requests, failures := b.log.Snapshot()
	require.Empty(t, failures)
	for _, r := range requests {
		require.True(t, strings.HasPrefix(r, srv.URL+"/"), "a request elsewhere: %s", r)
	}
}

func TestBrowserAlertToLookup(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "oncall", oncallPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/alerts"), chromedp.WaitVisible("table.alerts"))
	b.screenshot(t, "alerts")
	b.do(t, chromedp.Click(fmt.Sprintf(`a[href="/alerts/%d"]`, f.resolved.ID)), chromedp.WaitVisible("#sample"))
	require.Equal(t, fmt.Sprintf("/alerts/%d", f.resolved.ID), b.location(t))
	require.Equal(t, "3", b.text(t, "#tenants"))
	b.screenshot(t, "alert")
	b.clean(t)

	b.do(t, chromedp.Click("#sample"), chromedp.WaitVisible("#event-1"))
	require.Equal(t, "/lookup?id=d4ee0b6cdb67686f0c1ec0780e5b4296", b.location(t))
	block, err := chromedp.Run(b.ctx, chromedp.Value("#escalation-1"))
	require.NoError(t, err)
	require.Contains(t, block, "escalation: paste to finix support\n  logref: d4ee0b6cdb67686f0c1ec0780e5b4296\n  authorization: AUabc\n")
	require.Contains(t, block, "code: DECLINED (failure_code INSUFFICIENT_FUNDS)")
	b.screenshot(t, "alert-sample-lookup")
	b.clean(t)
}

func TestBrowserWeeklyAndProvider(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)

	// (WaitReady for SVG: chromedp's visibility test is for HTML elements;
	// the charts' sizes are checked below.)
	b.do(t, chromedp.Navigate(srv.URL+"/weekly?week=2026-W46"), chromedp.WaitReady("svg.chart"))
	type box struct {
		ID            string
		Width, Height float64
		Shapes        int
	}
	charts := func() []box {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]box](`
			Array.from(document.querySelectorAll("svg.chart")).map(svg => {
				const r = svg.getBoundingClientRect();
				return {ID: svg.id, Width: r.width, Height: r.height, Shapes: svg.querySelectorAll("rect, polyline, circle").length};
			})`))
		require.NoError(t, err)
		return v
	}
	weekly := charts()
	require.Len(t, weekly, 6, "two charts for each of the three providers of the week")
	for _, c := range weekly {
		require.Greater(t, c.Width, 100.0, c.ID)
		require.Greater(t, c.Height, 50.0, c.ID)
		require.GreaterOrEqual(t, c.Shapes, 2, c.ID)
	}
	// The report's inline stylesheet applies under the CSP: its tables
	// have collapsed borders.
	require.Equal(t, "collapse", b.eval(t, `getComputedStyle(document.querySelector("table#summary")).borderCollapse`))
	b.screenshot(t, "weekly-2026-W46")
	b.clean(t)

	b.do(t, chromedp.Click("#next-week"), chromedp.WaitVisible("#console-nav"))
	require.Equal(t, "/weekly?week=2026-W47", b.location(t))
	require.Contains(t, b.text(t, "h1"), "Weekly error report 2026-W47")
	b.do(t, chromedp.Click("#previous-week"), chromedp.WaitReady("svg.chart"))
	require.Equal(t, "/weekly?week=2026-W46", b.location(t))
	b.clean(t)

	b.do(t, chromedp.Navigate(srv.URL+"/provider/finix?from=2026-11-11T00:00:00Z&to=2026-11-12T00:00:00Z"), chromedp.WaitReady("#chart-requests"))
	require.Equal(t, "33.33%", b.text(t, "#rate"))
	provider := charts()
	require.Len(t, provider, 2)
	for _, c := range provider {
		require.Greater(t, c.Width, 100.0, c.ID)
		require.Equal(t, 24, c.Shapes, "a bar per hour of the day (windows over 6 hours read the hourly rollups)")
	}
	require.Equal(t, "rgb(244, 244, 244)", b.eval(t, `getComputedStyle(document.querySelector("th")).backgroundColor`), "the console's stylesheet applies")
	b.screenshot(t, "provider-finix")
	b.clean(t)
}

func TestBrowserStoredMarkupDoesNotRun(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	b := newBrowser(t, srv, "support", supportPassword)

	b.do(t, chromedp.Navigate(srv.URL+"/lookup?id=req_xss"), chromedp.WaitVisible("#event-1"))
	require.Equal(t, "undefined", b.eval(t, `typeof window.__pwned`), "nothing ran")
	require.Equal(t, "0", b.eval(t, `String(document.querySelectorAll("main img, main script").length)`), "no element made of stored text")
	message := b.text(t, "#event-1 dd.message")
	require.Equal(t, scriptPayload+imgPayload, message, "the message shows as text")
	body := b.text(t, "#event-1 pre.body")
	require.Contains(t, body, `<script>window.__pwned=1</script>`)
	require.Contains(t, body, `<img src=x onerror=\"window.__pwned=1\">`, "the body as stored (JSON)")
	b.screenshot(t, "lookup-stored-markup")
	b.clean(t)
}
