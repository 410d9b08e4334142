package report_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/browsertest"
	"github.com/faultline-dev/faultline/report"
)

// testHTMLInChromium renders the weekly report of a week with traffic in
// headless Chromium: every chart is drawn, nothing is fetched and nothing
// fails; a screenshot is left for people to look at.
func testHTMLInChromium(t *testing.T, f *fixture) {
	ctx := testCtx(t)
	rep, err := report.BuildWeekly(ctx, f.st, report.WeeklyOptions{Week: mustWeek(t, "2026-W46")})
	require.NoError(t, err)
	require.Len(t, rep.Providers, 5)

	dir := browsertest.ScreenshotDir(t, "faultline-weekly-report")
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

	tab := browsertest.Start(t, 900, 1200)
	browser := tab.Ctx

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

	requests, failures := tab.Log.Snapshot()
	require.Empty(t, failures, "nothing failed to load")
	require.Equal(t, []string{pageURL}, requests, "the page fetched nothing but itself")
}
