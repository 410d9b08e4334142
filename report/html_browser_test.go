package report_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
)

// browserLog collects what the page asked the network for and what went
// wrong while it loaded.
type browserLog struct {
	mu       sync.Mutex
	requests []string
	failures []string
}

func (b *browserLog) add(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *network.EventLoadingFailed:
		b.failures = append(b.failures, fmt.Sprintf("loading failed (%s): %s", ev.Type, ev.ErrorText))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			b.failures = append(b.failures, fmt.Sprintf("%s: status %d", ev.Response.URL, ev.Response.Status))
		}
	case *runtime.EventExceptionThrown:
		b.failures = append(b.failures, "exception: "+ev.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			b.failures = append(b.failures, "console "+string(ev.Type))
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			b.failures = append(b.failures, fmt.Sprintf("log %s (%s): %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
		}
	}
}

func (b *browserLog) snapshot() (requests, failures []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...), append([]string(nil), b.failures...)
}

// screenshotDir is where the test leaves the rendered report for people:
// the test's artifact directory under -artifacts, else a fixed directory
// under the system's temporary directory (written over by each run).
func screenshotDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir := filepath.Join(os.TempDir(), "faultline-weekly-report")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// testHTMLInChromium renders the weekly report of a week with traffic in
// headless Chromium: every chart is drawn, nothing is fetched and nothing
// fails; a screenshot is left for people to look at.
func testHTMLInChromium(t *testing.T, f *fixture) {
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "headless Chromium is needed: apt-get install chromium")
	ctx := testCtx(t)
	rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W46")})
	require.NoError(t, err)
	require.Len(t, rep.Providers, 5)

	dir := screenshotDir(t)
	htmlPath := filepath.Join(dir, "weekly-"+rep.Week+".html")
	out, err := os.Create(htmlPath)
	require.NoError(t, err)
	require.NoError(t, rep.WriteHTML(out))
	require.NoError(t, out.Close())
	html, err := os.ReadFile(htmlPath)
	require.NoError(t, err)
	for _, banned := range []string{"<script", "<link", "<img", "<iframe", " src=", "@import", "url("} {
		require.NotContains(t, string(html), banned, "self-contained: nothing to fetch or run")
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(900, 1200),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	var log browserLog
	require.NoError(t, chromedp.Listen(browser, log.add)) // starts the browser and the tab
	_, err = chromedp.Call(browser, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(browser, runtime.Enable, cdp.Empty{})
	require.NoError(t, err)
	_, err = chromedp.Call(browser, cdplog.Enable, cdp.Empty{})
	require.NoError(t, err)

	pageURL := (&url.URL{Scheme: "file", Path: htmlPath}).String()
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(pageURL)))

	type chartInfo struct {
		ID     string  `json:"id"`
		Kind   string  `json:"kind"`
		Width  float64 `json:"width"`
		Height float64 `json:"height"`
		Shapes int     `json:"shapes"`
		Title  string  `json:"title"`
	}
	charts, err := chromedp.Run(browser, chromedp.Evaluate[[]chartInfo](`
		Array.from(document.querySelectorAll("svg.chart")).map(svg => {
			const box = svg.getBoundingClientRect();
			return {id: svg.id, kind: svg.dataset.chart, width: box.width, height: box.height,
				shapes: svg.querySelectorAll("rect, polyline, circle").length,
				title: (svg.querySelector("title") || {}).textContent || ""};
		})`))
	require.NoError(t, err)
	require.Len(t, charts, 2*len(rep.Providers), "two charts per provider")
	for i, p := range rep.Providers {
		for j, kind := range []string{"requests", "categories"} {
			c := charts[2*i+j]
			require.Equal(t, kind, c.Kind, c.ID)
			require.Equal(t, fmt.Sprintf("chart-%d-%s", i, kind), c.ID)
			require.Greater(t, c.Width, 100.0, "%s is drawn", c.ID)
			require.Greater(t, c.Height, 50.0, "%s is drawn", c.ID)
			require.GreaterOrEqual(t, c.Shapes, 7, "%s has a bar per day", c.ID)
			require.True(t, strings.HasPrefix(c.Title, p.Provider+":"), c.Title)
		}
	}
	tables, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("table").length`))
	require.NoError(t, err)
	require.Greater(t, tables, len(rep.Providers), "the numbers are in tables too, for mail clients without SVG")
	state, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.readyState`))
	require.NoError(t, err)
	require.Equal(t, "complete", state)

	png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	pngPath := filepath.Join(dir, "weekly-"+rep.Week+".png")
	require.NoError(t, os.WriteFile(pngPath, png, 0o644))
	t.Logf("weekly report rendered by Chromium: %s (screenshot %s, %d bytes)", htmlPath, pngPath, len(png))

	requests, failures := log.snapshot()
	require.Empty(t, failures, "nothing failed to load")
	require.Equal(t, []string{pageURL}, requests, "the page fetched nothing but itself")
}
