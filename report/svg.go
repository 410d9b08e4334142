package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart is an SVG chart laid out in Go and drawn by the HTML template:
// shapes in user units of a Width x Height view box, text escaped by
// html/template.
type chart struct {
	ID, Kind      string // Kind: requests or categories
	Title         string
	Width, Height int
	Rects         []rect
	Lines         []polyline
	Dots          []dot
	Texts         []svgText
	Legend        []legendItem
	// Src is where a mail's HTML finds the chart's PNG (cid:…); empty in
	// the HTML file, which draws the SVG.
	Src template.URL
}

type rect struct {
	X, Y, W, H float64
	Fill       string
	Title      string // a tooltip
}

type polyline struct {
	Points []point
	Stroke string
}

type point struct{ X, Y float64 }

type dot struct {
	X, Y  float64
	Fill  string
	Title string
}

type svgText struct {
	X, Y   float64
	Anchor string // start, middle, end
	Fill   string
	Text   string
}

type legendItem struct {
	Fill, Text string
}

// Chart geometry, in user units.
const (
	chartW, chartH                    = 640, 220
	plotL, plotR, plotTop, plotBottom = 64, 576, 16, 184
)

// categoryColors are fixed per category so that charts compare across
// providers and weeks (colour-blind-safe hues first).
var categoryColors = map[string]string{
	"auth": "#0072b2", "auth_expired": "#56b4e9", "permission": "#009e73", "validation": "#f0e442",
	"idempotency": "#e69f00", "conflict": "#cc79a7", "not_found": "#999999", "decline": "#d55e00",
	"rate_limit": "#8c564b", "blocked": "#17becf", "provider_error": "#b2182b", "timeout": "#6a3d9a",
	"unknown": "#444444",
}

func categoryColor(c string) string {
	if col, ok := categoryColors[c]; ok {
		return col
	}
	return "#bbbbbb"
}

// num writes a coordinate for SVG: at most two decimals, no trailing zeros.
func num(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// svgPoints writes a polyline's points attribute: "x,y x,y …".
func svgPoints(pts []point) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = num(p.X) + "," + num(p.Y)
	}
	return strings.Join(parts, " ")
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten, for an axis.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// dayAxis adds the day labels under the plot and returns the x of each
// day's slot and the slot width.
func dayAxis(c *chart, days []DayCount) (xs []float64, slot float64) {
	slot = float64(plotR-plotL) / float64(max(len(days), 1))
	for i, d := range days {
		x := plotL + slot*float64(i)
		xs = append(xs, x)
		c.Texts = append(c.Texts, svgText{X: x + slot/2, Y: plotBottom + 16, Anchor: "middle", Fill: "#333", Text: dayLabel(d.Date)})
	}
	c.Lines = append(c.Lines, polyline{Points: []point{{plotL, plotBottom}, {plotR, plotBottom}}, Stroke: "#333"})
	return xs, slot
}

// requestsChart draws a provider's daily requests as bars and its error
// rate as a line on its own scale (right axis).
func requestsChart(id string, p *ProviderWeek) chart {
	c := chart{ID: id, Kind: "requests", Width: chartW, Height: chartH,
		Title: p.Provider + ": requests per day (bars, left axis) and error rate (line, right axis)"}
	xs, slot := dayAxis(&c, p.Daily)
	var maxReq, maxRate float64
	for _, d := range p.Daily {
		maxReq, maxRate = max(maxReq, float64(d.Requests)), max(maxRate, d.ErrorRate)
	}
	maxReq, maxRate = niceMax(maxReq), niceMax(maxRate*100)/100
	h := float64(plotBottom - plotTop)
	var pts []point
	for i, d := range p.Daily {
		bh := h * float64(d.Requests) / maxReq
		c.Rects = append(c.Rects, rect{X: xs[i] + slot*0.15, Y: plotBottom - bh, W: slot * 0.7, H: bh,
			Fill: "#9ecae1", Title: fmt.Sprintf("%s: %s requests, %s errors", d.Date, group(d.Requests), group(d.Errors))})
		y := plotBottom - h*d.ErrorRate/maxRate
		pts = append(pts, point{xs[i] + slot/2, y})
		c.Dots = append(c.Dots, dot{X: xs[i] + slot/2, Y: y, Fill: "#b2182b",
			Title: fmt.Sprintf("%s: error rate %s", d.Date, percent(d.ErrorRate))})
	}
	c.Lines = append(c.Lines, polyline{Points: pts, Stroke: "#b2182b"})
	c.Texts = append(c.Texts,
		svgText{X: plotL - 6, Y: plotTop + 4, Anchor: "end", Fill: "#3182bd", Text: group(int64(maxReq))},
		svgText{X: plotL - 6, Y: plotBottom, Anchor: "end", Fill: "#3182bd", Text: "0"},
		svgText{X: plotR + 6, Y: plotTop + 4, Anchor: "start", Fill: "#b2182b", Text: percent(maxRate)},
		svgText{X: plotR + 6, Y: plotBottom, Anchor: "start", Fill: "#b2182b", Text: "0%"},
	)
	c.Legend = []legendItem{{Fill: "#9ecae1", Text: "requests"}, {Fill: "#b2182b", Text: "error rate"}}
	return c
}

// categoriesChart draws a provider's daily errors as bars stacked by
// category.
func categoriesChart(id string, p *ProviderWeek) chart {
	c := chart{ID: id, Kind: "categories", Width: chartW, Height: chartH,
		Title: p.Provider + ": errors per day by category"}
	xs, slot := dayAxis(&c, p.Daily)
	var maxErr float64
	for _, d := range p.Daily {
		maxErr = max(maxErr, float64(d.Errors))
	}
	maxErr = niceMax(maxErr)
	h := float64(plotBottom - plotTop)
	cats := categoriesByCount(p.ByCategory)
	for i, d := range p.Daily {
		y := float64(plotBottom)
		for _, cat := range cats {
			n := d.ByCategory[cat]
			if n == 0 {
				continue
			}
			bh := h * float64(n) / maxErr
			y -= bh
			c.Rects = append(c.Rects, rect{X: xs[i] + slot*0.15, Y: y, W: slot * 0.7, H: bh,
				Fill: categoryColor(cat), Title: fmt.Sprintf("%s: %s %s", d.Date, group(n), cat)})
		}
	}
	c.Texts = append(c.Texts,
		svgText{X: plotL - 6, Y: plotTop + 4, Anchor: "end", Fill: "#333", Text: group(int64(maxErr))},
		svgText{X: plotL - 6, Y: plotBottom, Anchor: "end", Fill: "#333", Text: "0"},
	)
	for _, cat := range cats {
		c.Legend = append(c.Legend, legendItem{Fill: categoryColor(cat), Text: cat})
	}
	return c
}

// CategoryColor is the color charts give a category, the same in every
// report.
func CategoryColor(c string) string { return categoryColor(c) }
