package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// pngScale is how many pixels a PNG chart has per unit of its view box:
// two, so that it stays sharp on high-density screens when shown at the
// size of the SVG chart.
const pngScale = 2

// chartFont is the typeface of PNG charts (the Go font, embedded in the
// binary): mail clients show the image as drawn, whatever fonts they have.
var chartFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) })

// PNG rasterizes the chart as laid out for SVG: the same rectangles,
// lines, dots and labels, anti-aliased, on white, at pngScale. It is what
// e-mail shows, since mail clients drop SVG.
func (c *chart) PNG() ([]byte, error) {
	f, err := chartFont()
	if err != nil {
		return nil, fmt.Errorf("report: chart font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 11 * pngScale, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("report: chart font: %w", err)
	}
	defer face.Close()

	w, h := c.Width*pngScale, c.Height*pngScale
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	r := &raster{img: img, z: vector.NewRasterizer(w, h)}
	for _, b := range c.Rects {
		r.polygon(b.Fill, point{b.X, b.Y}, point{b.X + b.W, b.Y}, point{b.X + b.W, b.Y + b.H}, point{b.X, b.Y + b.H})
	}
	for _, l := range c.Lines {
		r.polyline(l.Stroke, 2, l.Points)
	}
	for _, d := range c.Dots {
		r.circle(d.Fill, point{d.X, d.Y}, 3)
	}
	for _, t := range c.Texts {
		d := font.Drawer{Dst: img, Src: image.NewUniform(parseColor(t.Fill)), Face: face}
		x := t.X * pngScale
		switch width := float64(d.MeasureString(t.Text)) / 64; t.Anchor {
		case "end":
			x -= width
		case "middle":
			x -= width / 2
		}
		d.Dot = fixed.Point26_6{X: fixed.Int26_6(math.Round(x * 64)), Y: fixed.Int26_6(math.Round(t.Y * pngScale * 64))}
		d.DrawString(t.Text)
	}
	var buf bytes.Buffer
	enc := png.Encoder{}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("report: chart %s: %w", c.ID, err)
	}
	return buf.Bytes(), nil
}

// raster fills shapes given in view-box units onto an image, anti-aliased.
type raster struct {
	img *image.RGBA
	z   *vector.Rasterizer
}

// polygon fills the polygon through pts. The rasterizer covers only the
// polygon's bounding box: a chart is a few dozen small shapes.
func (r *raster) polygon(fill string, pts ...point) {
	if len(pts) < 3 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, minY = min(minX, p.X*pngScale), min(minY, p.Y*pngScale)
		maxX, maxY = max(maxX, p.X*pngScale), max(maxY, p.Y*pngScale)
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY))).Intersect(r.img.Bounds())
	if box.Empty() {
		return
	}
	ox, oy := float64(box.Min.X), float64(box.Min.Y)
	r.z.Reset(box.Dx(), box.Dy())
	r.z.DrawOp = draw.Over
	r.z.MoveTo(float32(pts[0].X*pngScale-ox), float32(pts[0].Y*pngScale-oy))
	for _, p := range pts[1:] {
		r.z.LineTo(float32(p.X*pngScale-ox), float32(p.Y*pngScale-oy))
	}
	r.z.ClosePath()
	r.z.Draw(r.img, box, image.NewUniform(parseColor(fill)), image.Point{})
}

// polyline strokes the line through pts, width units wide, with round
// joins.
func (r *raster) polyline(stroke string, width float64, pts []point) {
	half := width / 2
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		dx, dy := b.X-a.X, b.Y-a.Y
		n := math.Hypot(dx, dy)
		if n == 0 {
			continue
		}
		nx, ny := -dy/n*half, dx/n*half
		r.polygon(stroke, point{a.X + nx, a.Y + ny}, point{b.X + nx, b.Y + ny}, point{b.X - nx, b.Y - ny}, point{a.X - nx, a.Y - ny})
	}
	for i := 1; i < len(pts)-1; i++ {
		r.circle(stroke, pts[i], half)
	}
}

// circle fills a disc of radius units around c.
func (r *raster) circle(fill string, c point, radius float64) {
	const sides = 32
	pts := make([]point, sides)
	for i := range pts {
		a := 2 * math.Pi * float64(i) / sides
		pts[i] = point{c.X + radius*math.Cos(a), c.Y + radius*math.Sin(a)}
	}
	r.polygon(fill, pts...)
}

// parseColor reads the #rrggbb and #rgb colours the charts use; anything
// else is black.
func parseColor(s string) color.RGBA {
	if len(s) == 4 && s[0] == '#' {
		s = string([]byte{'#', s[1], s[1], s[2], s[2], s[3], s[3]})
	}
	if len(s) != 7 || s[0] != '#' {
		return color.RGBA{A: 255}
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.RGBA{A: 255}
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}
