package console

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/report"
)

// chart is a bar chart drawn on the server as SVG (attributes only: the
// pages' Content Security Policy allows no inline style). SVG writes it
// out: a chart has a few hundred elements, which html/template would
// escape one reflective call at a time (half the CPU of a provider page).
type chart struct {
	ID, Title     string
	Width, Height int
	Fill          string
	Bars          []bar
	Labels        []label
	// Left, Top, Right, Bottom bound the plot area.
	Left, Top, Right, Bottom int
}

type bar struct {
	X, Y, W, H string
	Title      string
}

type label struct {
	X, Y   int
	Anchor string
	Text   string
}

// bucketSizes are the widths a chart's bars may have; the first that
// gives at most maxBars bars is taken.
var bucketSizes = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

const maxBars = 120

// trafficCharts draws the window's requests and error rate per bucket.
func trafficCharts(w *report.ProviderWindow) []chart {
	span := w.To.Sub(w.From)
	size := bucketSizes[len(bucketSizes)-1]
	for _, s := range bucketSizes {
		if (!w.Minutely && s < time.Hour) || span/s > maxBars {
			continue
		}
		size = s
		break
	}
	first := w.From.Truncate(size)
	n := int((w.To.Sub(first) + size - 1) / size)
	requests, errs := make([]int64, n), make([]int64, n)
	for _, p := range w.Series {
		i := int(p.Start.Sub(first) / size)
		if i >= 0 && i < n {
			requests[i] += p.Requests
			errs[i] += p.Errors
		}
	}
	rates := make([]float64, n)
	var maxReq int64
	maxRate := 0.0
	for i := range n {
		if requests[i] > 0 {
			rates[i] = float64(errs[i]) / float64(requests[i])
		}
		maxReq = max(maxReq, requests[i])
		maxRate = max(maxRate, rates[i])
	}
	label := "per " + bucketName(size)
	reqChart := newChart("chart-requests", "Requests "+label, "#4477aa")
	rateChart := newChart("chart-error-rate", "Error rate "+label, "#b2182b")
	reqTop, rateTop := niceCeil(float64(maxReq)), niceCeil(maxRate)
	for i := range n {
		start := first.Add(time.Duration(i) * size)
		when := start.UTC().Format("2006-01-02 15:04") + " UTC"
		reqChart.addBar(i, n, float64(requests[i])/reqTop,
			fmt.Sprintf("%s: %s requests, %s errors", when, groupDigits(requests[i]), groupDigits(errs[i])))
		rateChart.addBar(i, n, rates[i]/rateTop,
			fmt.Sprintf("%s: error rate %s (%s of %s)", when, percent(rates[i]), groupDigits(errs[i]), groupDigits(requests[i])))
	}
	reqChart.axis(groupDigits(int64(reqTop)), first, w.To)
	rateChart.axis(percent(rateTop), first, w.To)
	return []chart{reqChart, rateChart}
}

func newChart(id, title, fill string) chart {
	return chart{ID: id, Title: title, Fill: fill, Width: 720, Height: 180, Left: 60, Top: 10, Right: 710, Bottom: 150}
}

// addBar draws bar i of n, its height a fraction of the plot's.
func (c *chart) addBar(i, n int, frac float64, title string) {
	if math.IsNaN(frac) || frac < 0 {
		frac = 0
	}
	slot := float64(c.Right-c.Left) / float64(n)
	h := frac * float64(c.Bottom-c.Top)
	w := math.Max(slot*0.8, 0.5)
	c.Bars = append(c.Bars, bar{
		X: num(float64(c.Left) + slot*float64(i) + (slot-w)/2), Y: num(float64(c.Bottom) - h),
		W: num(w), H: num(h), Title: title,
	})
}

// axis labels the top of the scale and the window's ends.
func (c *chart) axis(top string, from, to time.Time) {
	layout := "01-02 15:04"
	c.Labels = append(c.Labels,
		label{X: c.Left - 6, Y: c.Top + 10, Anchor: "end", Text: top},
		label{X: c.Left - 6, Y: c.Bottom, Anchor: "end", Text: "0"},
		label{X: c.Left, Y: c.Bottom + 16, Anchor: "start", Text: from.UTC().Format(layout)},
		label{X: c.Right, Y: c.Bottom + 16, Anchor: "end", Text: to.UTC().Format(layout) + " UTC"},
	)
}

func bucketName(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "minute"
	case d == time.Hour:
		return "hour"
	case d == 24*time.Hour:
		return "day"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return strconv.Itoa(int(d/time.Hour)) + " hours"
}

// niceCeil is the scale's top: 1, 2 or 5 times a power of ten, at least v.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// SVG is the chart's markup. Every text in it is escaped here; numbers are
// formatted by the chart.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" id="%s" role="img" aria-labelledby="%s-title" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`,
		esc(c.ID), esc(c.ID), c.Width, c.Height, c.Width, c.Height)
	fmt.Fprintf(&b, "\n<title id=\"%s-title\">%s</title>\n", esc(c.ID), esc(c.Title))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`+"\n", c.Left, c.Bottom, c.Right, c.Bottom)
	fill := esc(c.Fill)
	for _, r := range c.Bars {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
			esc(r.X), esc(r.Y), esc(r.W), esc(r.H), fill, esc(r.Title))
	}
	for _, l := range c.Labels {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="%s" font-size="11" fill="#444">%s</text>`+"\n", l.X, l.Y, esc(l.Anchor), esc(l.Text))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) // every interpolated string escaped above
}

// hourlyChart draws a group's events per hour from from: a bar per hour,
// or per a few hours when the window is long (at most maxBars bars).
func hourlyChart(hourly []int64, from time.Time) chart {
	size := bucketSizes[len(bucketSizes)-1]
	for _, s := range bucketSizes {
		if s >= time.Hour && len(hourly) <= maxBars*int(s/time.Hour) {
			size = s
			break
		}
	}
	per := int(size / time.Hour)
	n := (len(hourly) + per - 1) / per
	sums := make([]int64, n)
	var most int64
	for i, v := range hourly {
		sums[i/per] += v
		most = max(most, sums[i/per])
	}
	c := newChart("chart-group", "Events per "+bucketName(size), "#b2182b")
	top := niceCeil(float64(most))
	for i, v := range sums {
		when := from.Add(time.Duration(i*per)*time.Hour).UTC().Format("2006-01-02 15:04") + " UTC"
		c.addBar(i, n, float64(v)/top, fmt.Sprintf("%s: %s events", when, groupDigits(v)))
	}
	c.axis(groupDigits(int64(top)), from, from.Add(time.Duration(len(hourly))*time.Hour))
	return c
}

// sparklineWidth and sparklineHeight are a sparkline's size, in pixels.
const (
	sparklineWidth  = 120
	sparklineHeight = 24
)

// sparkline draws counts as a small filled line (SVG, attributes only),
// neighbouring counts added up to at most a point per two pixels. Its
// title says the total and the busiest hour.
func sparkline(counts []int64) template.HTML {
	if len(counts) == 0 {
		return ""
	}
	sums := report.Fit(counts, sparklineWidth/2)
	var most, total, busiest int64
	for _, v := range counts {
		total += v
		busiest = max(busiest, v)
	}
	for _, n := range sums {
		most = max(most, n)
	}
	b := make([]byte, 0, 512+len(sums)*12)
	b = fmt.Appendf(b, `<svg class="sparkline" role="img" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`,
		sparklineWidth, sparklineHeight, sparklineWidth, sparklineHeight)
	b = append(b, "<title>"...)
	b = append(b, template.HTMLEscapeString(groupDigits(total)+" events, at most "+groupDigits(busiest)+" in an hour")...)
	b = append(b, `</title><polygon fill="#f4a582" stroke="#b2182b" stroke-width="1" points="0,24`...)
	step := float64(sparklineWidth) / float64(max(len(sums)-1, 1))
	for i, n := range sums {
		y := float64(sparklineHeight)
		if most > 0 {
			y -= float64(n) / float64(most) * (sparklineHeight - 2)
		}
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(i)*step, 'f', 1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, y, 'f', 1, 64)
	}
	b = fmt.Appendf(b, ` %d,24"/></svg>`, sparklineWidth)
	return template.HTML(b) // numbers and one escaped title
}
