package redact

import (
	"fmt"
	"image"
	"math"
)

// Masks are painted in pure Go straight onto the decoder's frame buffer
// (BGR24 or yuv420p planes): no Mat, no copy, nothing for cgo to leak, and the arithmetic that makes the
// blur irreversible is plain to read.

// Style is how a masked region is made unreadable.
type Style string

const (
	// StyleBlur replaces the region with a smooth blob computed from a
	// coarse grid of cell averages (at most BlurCells along its longer
	// side). Everything finer than a cell is gone, not just smoothed: the
	// output is a function of those few averages only, so no
	// deconvolution can bring the detail back. The default.
	StyleBlur Style = "blur"
	// StylePixelate fills the region with flat cells (at most
	// PixelateCells along its longer side).
	StylePixelate Style = "pixelate"
	// StyleSolid fills the region with black.
	StyleSolid Style = "solid"
)

// Shape is the outline of a masked region inside its box.
type Shape string

const (
	// ShapeEllipse masks the ellipse inscribed in the (margin-expanded)
	// box. Faces are oval; the margin is raised as needed so that the
	// ellipse still covers the whole detected box. Text is always masked
	// with a box. The default.
	ShapeEllipse Shape = "ellipse"
	// ShapeBox masks the whole box.
	ShapeBox Shape = "box"
)

const (
	// BlurCells is the number of cells along the longer side of a blurred
	// region. With the default margin a face spans about three of them:
	// far below what identifies a person.
	BlurCells = 4
	// PixelateCells is the number of cells along the longer side of a
	// pixelated region.
	PixelateCells = 8
	// minEllipseMargin is the smallest margin at which the ellipse
	// inscribed in the expanded box contains the detected box:
	// (1+2m) >= sqrt(2).
	minEllipseMargin = 0.2072
)

// ParseStyle accepts "blur", "pixelate" or "solid".
func ParseStyle(s string) (Style, error) {
	switch Style(s) {
	case StyleBlur, StylePixelate, StyleSolid:
		return Style(s), nil
	case "":
		return StyleBlur, nil
	}
	return "", fmt.Errorf("%w: style %q: use blur, pixelate or solid", ErrOptions, s)
}

// ParseShape accepts "ellipse" or "box".
func ParseShape(s string) (Shape, error) {
	switch Shape(s) {
	case ShapeEllipse, ShapeBox:
		return Shape(s), nil
	case "":
		return ShapeEllipse, nil
	}
	return "", fmt.Errorf("%w: shape %q: use ellipse or box", ErrOptions, s)
}

// frameImage is a decoded frame buffer without padding, in the decoder's
// pixel format: BGR24, or yuv420p (a Y plane, then U and V planes of half
// the width and height, rounded up). Masks are painted plane by plane, so a
// yuv420p frame goes from decoder to encoder without a colour conversion.
type frameImage struct {
	pix  []byte
	w, h int
	yuv  bool
}

// plane is one plane of a frameImage: h rows of w pixels of ch bytes. Its
// coordinates are the frame's shifted right by shift (chroma subsampling);
// black is the value a solid mask fills it with (limited-range black in
// Y'CbCr).
type plane struct {
	pix   []byte
	w, h  int
	ch    int
	shift int
	black byte
}

func (f frameImage) planes() []plane {
	if !f.yuv {
		return []plane{{pix: f.pix, w: f.w, h: f.h, ch: 3}}
	}
	cw, chh := (f.w+1)/2, (f.h+1)/2
	ys, cs := f.w*f.h, cw*chh
	return []plane{
		{pix: f.pix[:ys], w: f.w, h: f.h, ch: 1, black: 16},
		{pix: f.pix[ys : ys+cs], w: cw, h: chh, ch: 1, shift: 1, black: 128},
		{pix: f.pix[ys+cs : ys+2*cs], w: cw, h: chh, ch: 1, shift: 1, black: 128},
	}
}

// rect maps r (frame coordinates, inside the frame) to the plane: a
// subsampled plane covers every sample that touches r.
func (p plane) rect(r image.Rectangle) image.Rectangle {
	if p.shift == 0 {
		return r
	}
	round := 1<<p.shift - 1
	return image.Rect(r.Min.X>>p.shift, r.Min.Y>>p.shift, (r.Max.X+round)>>p.shift, (r.Max.Y+round)>>p.shift)
}

// rgb returns the colour of pixel (x, y). yuv420p is read as BT.601
// limited range, as ffmpeg and OpenCV convert untagged video.
func (f frameImage) rgb(x, y int) (r, g, b uint8) {
	if !f.yuv {
		p := f.pix[(y*f.w+x)*3:]
		return p[2], p[1], p[0]
	}
	cw, chh := (f.w+1)/2, (f.h+1)/2
	c := int(f.pix[y*f.w+x]) - 16
	o := f.w*f.h + (y/2)*cw + x/2
	d := int(f.pix[o]) - 128
	e := int(f.pix[o+cw*chh]) - 128
	return clamp8((298*c + 409*e + 128) >> 8), clamp8((298*c - 100*d - 208*e + 128) >> 8), clamp8((298*c + 516*d + 128) >> 8)
}

func clamp8(v int) uint8 { return uint8(min(255, max(0, v))) }

// paint masks rectangle r (frame coordinates, clipped here) of img.
func paint(img frameImage, r image.Rectangle, style Style, ellipse bool) {
	r = r.Intersect(image.Rect(0, 0, img.w, img.h))
	if r.Empty() {
		return
	}
	for _, p := range img.planes() {
		pr, span := p.rect(r), p.spans(r, ellipse)
		switch style {
		case StyleSolid:
			fillSolid(p, pr, span)
		case StylePixelate:
			cellMask(p, pr, PixelateCells, false, span)
		default:
			cellMask(p, pr, BlurCells, true, span)
		}
	}
}

// inside reports whether pixel (x, y) lies in the ellipse inscribed in r.
type ellipseTest struct {
	cx, cy, rx2, ry2 float64
}

func newEllipse(r image.Rectangle) ellipseTest {
	rx, ry := float64(r.Dx())/2, float64(r.Dy())/2
	return ellipseTest{cx: float64(r.Min.X) + rx, cy: float64(r.Min.Y) + ry, rx2: rx * rx, ry2: ry * ry}
}

func (e ellipseTest) inside(x, y int) bool {
	dx, dy := float64(x)+0.5-e.cx, float64(y)+0.5-e.cy
	return dx*dx/e.rx2+dy*dy/e.ry2 <= 1
}

// span returns the columns [x0, x1) of row y inside the ellipse inscribed
// in r: exactly the pixels inside reports, without testing each one.
func (e ellipseTest) span(r image.Rectangle, y int) (int, int) {
	dy := float64(y) + 0.5 - e.cy
	q := 1 - dy*dy/e.ry2
	if q < 0 {
		return r.Min.X, r.Min.X
	}
	half := math.Sqrt(q * e.rx2)
	x0 := max(r.Min.X, int(math.Floor(e.cx-half-0.5)))
	x1 := min(r.Max.X, int(math.Ceil(e.cx+half-0.5))+1)
	// The square root is inexact in the last bit: settle the ends with
	// the test itself.
	for x0 < x1 && !e.inside(x0, y) {
		x0++
	}
	for x0 > r.Min.X && e.inside(x0-1, y) {
		x0--
	}
	for x1 > x0 && !e.inside(x1-1, y) {
		x1--
	}
	for x1 < r.Max.X && e.inside(x1, y) {
		x1++
	}
	return x0, x1
}

// spanFunc gives the columns [x0, x1) of a plane row to mask.
type spanFunc func(y int) (int, int)

// spans returns which columns of each of p's rows to mask for region r
// (frame coordinates, inside the frame): the whole width of p.rect(r), or
// the ellipse inscribed in r. A subsampled plane masks every sample whose
// block of frame pixels meets the ellipse, so that no masked pixel keeps
// its own colour.
func (p plane) spans(r image.Rectangle, ellipse bool) spanFunc {
	pr := p.rect(r)
	if !ellipse {
		return func(int) (int, int) { return pr.Min.X, pr.Max.X }
	}
	el := newEllipse(r)
	if p.shift == 0 {
		return func(y int) (int, int) { return el.span(r, y) }
	}
	round := 1<<p.shift - 1
	return func(y int) (int, int) {
		x0, x1 := r.Max.X, r.Min.X
		for fy := max(y<<p.shift, r.Min.Y); fy < min((y+1)<<p.shift, r.Max.Y); fy++ {
			if a, b := el.span(r, fy); a < b {
				x0, x1 = min(x0, a), max(x1, b)
			}
		}
		if x0 >= x1 {
			return pr.Min.X, pr.Min.X
		}
		return x0 >> p.shift, (x1 + round) >> p.shift
	}
}

func fillSolid(p plane, r image.Rectangle, span spanFunc) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		x0, x1 := span(y)
		row := p.pix[(y*p.w+x0)*p.ch : (y*p.w+x1)*p.ch]
		for i := range row {
			row[i] = p.black
		}
	}
}

// grid splits r into cols x rows cells of near-equal size, with integer
// edges, at most n along the longer side.
type grid struct {
	r          image.Rectangle
	cols, rows int
}

func newGrid(r image.Rectangle, n int) grid {
	w, h := r.Dx(), r.Dy()
	long := max(w, h)
	cell := (long + n - 1) / n // ceil
	return grid{r: r, cols: max(1, (w+cell-1)/cell), rows: max(1, (h+cell-1)/cell)}
}

// edge returns the i-th cell edge along a side of length l split in n.
func edge(i, n, l int) int { return i * l / n }

// means computes each cell's average value per channel (ch per cell).
func (g grid) means(p plane) []float64 {
	ch := p.ch
	m := make([]float64, g.cols*g.rows*ch)
	w, h := g.r.Dx(), g.r.Dy()
	var sum [3]int
	for cy := 0; cy < g.rows; cy++ {
		y0, y1 := g.r.Min.Y+edge(cy, g.rows, h), g.r.Min.Y+edge(cy+1, g.rows, h)
		for cx := 0; cx < g.cols; cx++ {
			x0, x1 := g.r.Min.X+edge(cx, g.cols, w), g.r.Min.X+edge(cx+1, g.cols, w)
			sum = [3]int{}
			for y := y0; y < y1; y++ {
				row := p.pix[(y*p.w+x0)*ch : (y*p.w+x1)*ch]
				if ch == 1 {
					for _, v := range row {
						sum[0] += int(v)
					}
					continue
				}
				for i := 0; i < len(row); i += 3 {
					sum[0] += int(row[i])
					sum[1] += int(row[i+1])
					sum[2] += int(row[i+2])
				}
			}
			n := float64((y1 - y0) * (x1 - x0))
			k := (cy*g.cols + cx) * ch
			for c := range ch {
				m[k+c] = float64(sum[c]) / n
			}
		}
	}
	return m
}

// cellMask replaces r by its cell averages: flat cells (pixelate) or a
// bilinear surface through the cell centres (blur). Either way every output
// pixel depends on the cell averages alone.
func cellMask(p plane, r image.Rectangle, n int, smooth bool, span spanFunc) {
	g := newGrid(r, n)
	m := g.means(p)
	ch := p.ch
	w, h := r.Dx(), r.Dy()
	// Cell centres in region coordinates.
	cxs := make([]float64, g.cols)
	for i := range cxs {
		cxs[i] = float64(edge(i, g.cols, w)+edge(i+1, g.cols, w)) / 2
	}
	cys := make([]float64, g.rows)
	for i := range cys {
		cys[i] = float64(edge(i, g.rows, h)+edge(i+1, g.rows, h)) / 2
	}
	// The horizontal interpolation depends on the column only.
	type colInterp struct {
		k0, k1 int // offsets of the two cells' means in a row of cells
		fx     float64
	}
	var cols []colInterp
	if smooth {
		cols = make([]colInterp, w)
		for lx := range cols {
			x0, x1, fx := interp(cxs, float64(lx)+0.5)
			cols[lx] = colInterp{x0 * ch, x1 * ch, fx}
		}
	}
	// One row of cell values, interpolated vertically for this row.
	rowMeans := make([]float64, g.cols*ch)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		ly := y - r.Min.Y
		x0, x1 := span(y)
		row := p.pix[y*p.w*ch:]
		if !smooth {
			m0 := m[cellOf(ly, g.rows, h)*g.cols*ch:]
			for x := x0; x < x1; x++ {
				k := cellOf(x-r.Min.X, g.cols, w) * ch
				for c := range ch {
					row[x*ch+c] = byte(m0[k+c] + 0.5)
				}
			}
			continue
		}
		y0, y1, fy := interp(cys, float64(ly)+0.5)
		m0, m1 := m[y0*g.cols*ch:], m[y1*g.cols*ch:]
		for k := range rowMeans {
			rowMeans[k] = m0[k]*(1-fy) + m1[k]*fy
		}
		for x := x0; x < x1; x++ {
			ci := cols[x-r.Min.X]
			fx := ci.fx
			for c := range ch {
				row[x*ch+c] = byte(rowMeans[ci.k0+c]*(1-fx) + rowMeans[ci.k1+c]*fx + 0.5)
			}
		}
	}
}

// cellOf is the cell holding coordinate p of a side of length l cut in n.
func cellOf(p, n, l int) int {
	c := p * n / l
	for c > 0 && edge(c, n, l) > p {
		c--
	}
	for c < n-1 && edge(c+1, n, l) <= p {
		c++
	}
	return c
}

// interp finds the two centres around p and the weight of the second.
func interp(centres []float64, p float64) (int, int, float64) {
	if len(centres) == 1 || p <= centres[0] {
		return 0, 0, 0
	}
	last := len(centres) - 1
	if p >= centres[last] {
		return last, last, 0
	}
	i := 0
	for i < last-1 && centres[i+1] <= p {
		i++
	}
	return i, i + 1, (p - centres[i]) / (centres[i+1] - centres[i])
}
