package redact

import (
	"fmt"
	"image"
)

// Masks are painted in pure Go straight onto the decoder's BGR buffer: no
// Mat, no copy, nothing for cgo to leak, and the arithmetic that makes the
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

// bgrImage is a BGR24 frame buffer without padding.
type bgrImage struct {
	pix  []byte
	w, h int
}

// paint masks rectangle r (frame coordinates, clipped here) of img.
func paint(img bgrImage, r image.Rectangle, style Style, ellipse bool) {
	r = r.Intersect(image.Rect(0, 0, img.w, img.h))
	if r.Empty() {
		return
	}
	switch style {
	case StyleSolid:
		fillSolid(img, r, ellipse)
	case StylePixelate:
		cellMask(img, r, PixelateCells, false, ellipse)
	default:
		cellMask(img, r, BlurCells, true, ellipse)
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

func fillSolid(img bgrImage, r image.Rectangle, ellipse bool) {
	el := newEllipse(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.pix[(y*img.w)*3:]
		for x := r.Min.X; x < r.Max.X; x++ {
			if ellipse && !el.inside(x, y) {
				continue
			}
			row[x*3], row[x*3+1], row[x*3+2] = 0, 0, 0
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

// means computes each cell's average colour (B, G, R as float64).
func (g grid) means(img bgrImage) []float64 {
	m := make([]float64, g.cols*g.rows*3)
	w, h := g.r.Dx(), g.r.Dy()
	for cy := 0; cy < g.rows; cy++ {
		y0, y1 := g.r.Min.Y+edge(cy, g.rows, h), g.r.Min.Y+edge(cy+1, g.rows, h)
		for cx := 0; cx < g.cols; cx++ {
			x0, x1 := g.r.Min.X+edge(cx, g.cols, w), g.r.Min.X+edge(cx+1, g.cols, w)
			var sb, sg, sr int
			for y := y0; y < y1; y++ {
				row := img.pix[(y*img.w+x0)*3 : (y*img.w+x1)*3]
				for i := 0; i < len(row); i += 3 {
					sb += int(row[i])
					sg += int(row[i+1])
					sr += int(row[i+2])
				}
			}
			n := float64((y1 - y0) * (x1 - x0))
			k := (cy*g.cols + cx) * 3
			m[k], m[k+1], m[k+2] = float64(sb)/n, float64(sg)/n, float64(sr)/n
		}
	}
	return m
}

// cellMask replaces r by its cell averages: flat cells (pixelate) or a
// bilinear surface through the cell centres (blur). Either way every output
// pixel depends on the cell averages alone.
func cellMask(img bgrImage, r image.Rectangle, n int, smooth, ellipse bool) {
	g := newGrid(r, n)
	m := g.means(img)
	el := newEllipse(r)
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
			cols[lx] = colInterp{x0 * 3, x1 * 3, fx}
		}
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		ly := y - r.Min.Y
		row := img.pix[(y*img.w)*3:]
		var y0, y1 int
		var fy float64
		if smooth {
			y0, y1, fy = interp(cys, float64(ly)+0.5)
		} else {
			y0 = cellOf(ly, g.rows, h)
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			if ellipse && !el.inside(x, y) {
				continue
			}
			lx := x - r.Min.X
			if !smooth {
				k := (y0*g.cols + cellOf(lx, g.cols, w)) * 3
				row[x*3], row[x*3+1], row[x*3+2] = byte(m[k]+0.5), byte(m[k+1]+0.5), byte(m[k+2]+0.5)
				continue
			}
			ci := cols[lx]
			fx := ci.fx
			m0, m1 := m[y0*g.cols*3:], m[y1*g.cols*3:]
			for c := 0; c < 3; c++ {
				a := m0[ci.k0+c]*(1-fx) + m0[ci.k1+c]*fx
				b := m1[ci.k0+c]*(1-fx) + m1[ci.k1+c]*fx
				row[x*3+c] = byte(a*(1-fy) + b*fy + 0.5)
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
