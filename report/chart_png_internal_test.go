package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// chartWeek is a provider's week with traffic every day and errors of
// three categories.
func chartWeek() *ProviderWeek {
	p := &ProviderWeek{Provider: "finix", ByCategory: map[string]int64{"decline": 90, "timeout": 25, "auth": 6}}
	for i, d := range []string{"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-15"} {
		day := DayCount{Date: d, Requests: int64(1000 + 150*i), ByCategory: map[string]int64{"decline": int64(10 + i), "timeout": int64(2 + i%3), "auth": 1}}
		for _, n := range day.ByCategory {
			day.Errors += n
		}
		day.ErrorRate = rate(day.Errors, day.Requests)
		p.Daily = append(p.Daily, day)
	}
	return p
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

func pixel(img image.Image, x, y float64) color.RGBA {
	r, g, b, a := img.At(int(x*pngScale), int(y*pngScale)).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

// The PNG of a chart draws what its SVG draws, where the SVG draws it:
// every bar of the stacked categories chart in its category's colour at
// its centre, every error-rate dot in the line's colour, white elsewhere.
func TestChartPNGDrawsTheLayout(t *testing.T) {
	p := chartWeek()
	for _, c := range []chart{categoriesChart("c", p), requestsChart("r", p)} {
		b, err := c.PNG()
		require.NoError(t, err)
		img := decodePNG(t, b)
		require.Equal(t, image.Rect(0, 0, c.Width*pngScale, c.Height*pngScale), img.Bounds(), c.Kind)
		require.Equal(t, color.RGBA{255, 255, 255, 255}, pixel(img, plotL+2, plotTop+2), "%s: background", c.Kind)
		if c.Kind == "categories" {
			require.Len(t, c.Rects, 3*7)
			for _, r := range c.Rects {
				require.GreaterOrEqual(t, r.H, 2.0)
				require.Equal(t, parseColor(r.Fill), pixel(img, r.X+r.W/2, r.Y+r.H/2), "%s", r.Title)
			}
		} else {
			require.Len(t, c.Dots, 7)
			for _, d := range c.Dots {
				require.Equal(t, parseColor("#b2182b"), pixel(img, d.X, d.Y), "%s", d.Title)
			}
		}
		// The labels are drawn: the day labels' band under the plot has
		// dark pixels, and nothing is drawn beyond the chart's last label.
		dark := 0
		for x := plotL * pngScale; x < plotR*pngScale; x++ {
			for y := (plotBottom + 6) * pngScale; y < (plotBottom+20)*pngScale; y++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
					dark++
				}
			}
		}
		require.Greater(t, dark, 7*20, "%s: seven day labels", c.Kind)
		require.Less(t, len(b), 40<<10, "%s: a chart stays small in a mail (%d bytes)", c.Kind, len(b))
		t.Logf("%s chart: %d bytes", c.Kind, len(b))
	}
}

func TestParseColor(t *testing.T) {
	require.Equal(t, color.RGBA{0x9e, 0xca, 0xe1, 255}, parseColor("#9ecae1"))
	require.Equal(t, color.RGBA{0x33, 0x33, 0x33, 255}, parseColor("#333"))
	require.Equal(t, color.RGBA{A: 255}, parseColor("red"))
	require.Equal(t, color.RGBA{A: 255}, parseColor("#zzzzzz"))
}

// BenchmarkChartPNG renders one chart as PNG; BenchmarkChartSVG, the
// reference, writes the HTML file of a week of that one provider (its two
// SVG charts and its tables).
func BenchmarkChartPNG(b *testing.B) {
	p := chartWeek()
	for b.Loop() {
		c := requestsChart("r", p)
		if _, err := c.PNG(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChartSVG(b *testing.B) {
	rep := &Weekly{Week: "2026-W46", PreviousWeek: "2026-W45", Days: []string{"2026-11-09", "2026-11-15"}, Providers: []ProviderWeek{*chartWeek()}}
	for b.Loop() {
		if err := rep.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWeeklyMail renders the mail of a week of five providers: ten
// PNG charts, the Markdown and the HTML.
func BenchmarkWeeklyMail(b *testing.B) {
	rep := &Weekly{Week: "2026-W46", PreviousWeek: "2026-W45", Days: []string{"2026-11-09", "2026-11-15"}}
	for _, name := range []string{"cheers", "finix", "finterra", "flexiti", "paylera"} {
		p := *chartWeek()
		p.Provider = name
		rep.Providers = append(rep.Providers, p)
	}
	var size int
	for b.Loop() {
		m, err := rep.Mail(MailOptions{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(m.Text) + len(m.HTML)
		for _, img := range m.Images {
			size += len(img.PNG)
		}
	}
	b.ReportMetric(float64(size), "bytes/mail")
}
