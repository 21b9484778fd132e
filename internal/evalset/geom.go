package evalset

import (
	"fmt"
	"image"
	"math"
)

// Pt is a point in pixel coordinates (the top-left corner of the image is
// 0,0; pixel x,y covers [x, x+1) × [y, y+1)).
type Pt struct{ X, Y float64 }

// Quad is a convex quadrilateral, corners in order (top-left, top-right,
// bottom-right, bottom-left for an upright box): the ground truth of a face
// or a card after the image was warped, turned or tilted.
type Quad [4]Pt

// RectQuad is the quadrilateral of an axis-aligned rectangle.
func RectQuad(r image.Rectangle) Quad {
	x0, y0, x1, y1 := float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)
	return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

// Bounds is the smallest integer rectangle containing q.
func (q Quad) Bounds() image.Rectangle {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range q {
		x0, y0 = math.Min(x0, p.X), math.Min(y0, p.Y)
		x1, y1 = math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}

// Area is the quadrilateral's area (shoelace formula).
func (q Quad) Area() float64 {
	var a float64
	for i := range q {
		j := (i + 1) % 4
		a += q[i].X*q[j].Y - q[j].X*q[i].Y
	}
	return math.Abs(a) / 2
}

// Side is the geometric mean of the two mean side lengths: a face's size
// in pixels whatever its turn.
func (q Quad) Side() float64 {
	d := func(a, b Pt) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }
	w := (d(q[0], q[1]) + d(q[3], q[2])) / 2
	h := (d(q[0], q[3]) + d(q[1], q[2])) / 2
	return math.Sqrt(w * h)
}

// Width is the mean length of the top and bottom sides.
func (q Quad) Width() float64 {
	return (math.Hypot(q[0].X-q[1].X, q[0].Y-q[1].Y) + math.Hypot(q[3].X-q[2].X, q[3].Y-q[2].Y)) / 2
}

// contains reports whether p lies inside the convex quad (either winding).
func (q Quad) contains(p Pt) bool {
	var pos, neg bool
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		c := (b.X-a.X)*(p.Y-a.Y) - (b.Y-a.Y)*(p.X-a.X)
		if c > 0 {
			pos = true
		} else if c < 0 {
			neg = true
		}
		if pos && neg {
			return false
		}
	}
	return true
}

// Map applies f to every corner.
func (q Quad) Map(f func(Pt) Pt) Quad {
	var out Quad
	for i, p := range q {
		out[i] = f(p)
	}
	return out
}

// Homography is a 3×3 projective transform, row major, h[8] normally 1.
type Homography [9]float64

// Identity is the transform that changes nothing.
var Identity = Homography{1, 0, 0, 0, 1, 0, 0, 0, 1}

// Apply maps p.
func (h Homography) Apply(p Pt) Pt {
	w := h[6]*p.X + h[7]*p.Y + h[8]
	return Pt{(h[0]*p.X + h[1]*p.Y + h[2]) / w, (h[3]*p.X + h[4]*p.Y + h[5]) / w}
}

// Then is h followed by g.
func (h Homography) Then(g Homography) Homography {
	var out Homography
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			for k := 0; k < 3; k++ {
				out[3*r+c] += g[3*r+k] * h[3*k+c]
			}
		}
	}
	return out
}

// Inverse is the inverse transform.
func (h Homography) Inverse() (Homography, error) {
	a, b, c, d, e, f, g, hh, i := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
	det := a*(e*i-f*hh) - b*(d*i-f*g) + c*(d*hh-e*g)
	if math.Abs(det) < 1e-12 {
		return Homography{}, fmt.Errorf("evalset: singular homography %v", h)
	}
	inv := Homography{
		e*i - f*hh, c*hh - b*i, b*f - c*e,
		f*g - d*i, a*i - c*g, c*d - a*f,
		d*hh - e*g, b*g - a*hh, a*e - b*d,
	}
	for k := range inv {
		inv[k] /= det
	}
	return inv, nil
}

// Affine builds the transform x' = a x + b y + c, y' = d x + e y + f.
func Affine(a, b, c, d, e, f float64) Homography { return Homography{a, b, c, d, e, f, 0, 0, 1} }

// Translate, Scale and Rotate (radians, clockwise on screen since y points
// down) are the usual affine transforms.
func Translate(dx, dy float64) Homography { return Affine(1, 0, dx, 0, 1, dy) }
func Scale(sx, sy float64) Homography     { return Affine(sx, 0, 0, 0, sy, 0) }
func Rotate(a float64) Homography {
	c, s := math.Cos(a), math.Sin(a)
	return Affine(c, -s, 0, s, c, 0)
}

// QuadToQuad is the homography taking the corners of src to those of dst,
// found by solving the eight linear equations.
func QuadToQuad(src, dst Quad) (Homography, error) {
	var m [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := src[i].X, src[i].Y, dst[i].X, dst[i].Y
		m[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		m[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for col := 0; col < 8; col++ {
		piv := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-12 {
			return Homography{}, fmt.Errorf("evalset: degenerate quadrilaterals %v -> %v", src, dst)
		}
		m[col], m[piv] = m[piv], m[col]
		for r := 0; r < 8; r++ {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for c := col; c < 9; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	var h Homography
	for i := 0; i < 8; i++ {
		h[i] = m[i][8] / m[i][i]
	}
	h[8] = 1
	return h, nil
}
