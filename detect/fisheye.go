package detect

import (
	"image"
	"math"
	"sort"
)

// Wearable and ceiling cameras often have fisheye lenses: near the edge of
// the picture faces are squashed towards the centre and turned by where
// they are, and the models miss most of them (on faces_dlib seen through a
// synthetic 200° lens, YuNet finds under a third of the faces in the outer
// third of the image circle). Config.Fisheye also searches perspective
// (undistorted) views of the edge of the image circle, rendered as a
// pan-tilt camera at the lens's centre would see them.

// fisheyeLens is an equidistant fisheye (r = f·θ, the common model for
// wide lenses): its image circle's centre and the pixels per radian.
type fisheyeLens struct {
	cx, cy float64
	f      float64 // px per radian from the axis
	rmax   float64 // the image circle's radius in px (the lens's edge)
}

// newFisheyeLens is a lens whose image circle of radius r around the frame
// centre spans fovDeg.
func newFisheyeLens(w, h int, r, fovDeg float64) fisheyeLens {
	return fisheyeLens{cx: float64(w) / 2, cy: float64(h) / 2, f: r / (fovDeg * math.Pi / 360), rmax: r}
}

// project maps a ray (camera coordinates: x right, y down, z along the
// axis) to frame pixels.
func (l fisheyeLens) project(x, y, z float64) (float64, float64) {
	n := math.Sqrt(x*x + y*y + z*z)
	th := math.Acos(math.Max(-1, math.Min(1, z/n)))
	phi := math.Atan2(y, x)
	return l.cx + l.f*th*math.Cos(phi), l.cy + l.f*th*math.Sin(phi)
}

// fisheyeView is a perspective camera at the lens's centre, turned by yaw
// (right positive) then pitch (down positive), size×size px with focal
// length focal px.
type fisheyeView struct {
	yaw, pitch float64
	size       int
	focal      float64
	rot        [3][3]float64 // view ray -> lens ray
}

func newFisheyeView(yaw, pitch float64, size int, focal float64) fisheyeView {
	cy, sy := math.Cos(yaw), math.Sin(yaw)
	cp, sp := math.Cos(pitch), math.Sin(pitch)
	// R = Ry(yaw)·Rx(pitch): a pan-tilt head keeps the view's horizon
	// level, so faces upright in the scene are upright in the view.
	ry := [3][3]float64{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	rx := [3][3]float64{{1, 0, 0}, {0, cp, sp}, {0, -sp, cp}}
	var r [3][3]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				r[i][j] += ry[i][k] * rx[k][j]
			}
		}
	}
	return fisheyeView{yaw: yaw, pitch: pitch, size: size, focal: focal, rot: r}
}

// toFrame maps a view pixel to frame pixels through lens l.
func (v fisheyeView) toFrame(l fisheyeLens, u, w float64) (float64, float64) {
	x, y, z := u-float64(v.size)/2, w-float64(v.size)/2, v.focal
	r := v.rot
	return l.project(r[0][0]*x+r[0][1]*y+r[0][2]*z, r[1][0]*x+r[1][1]*y+r[1][2]*z, r[2][0]*x+r[2][1]*y+r[2][2]*z)
}

// boxToFrame maps a box found in the view to the bounding box of its
// outline in the frame.
func (v fisheyeView) boxToFrame(l fisheyeLens, b Box) Box {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	const n = 6
	for i := 0; i <= n; i++ {
		t := float64(i) / n
		bx, by := float64(b.X)+t*float64(b.W), float64(b.Y)+t*float64(b.H)
		for _, p := range [4][2]float64{
			{bx, float64(b.Y)}, {bx, float64(b.Y + b.H)}, {float64(b.X), by}, {float64(b.X + b.W), by},
		} {
			x, y := v.toFrame(l, p[0], p[1])
			x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
		}
	}
	out := floatBox(float32(x0), float32(y0), float32(x1-x0), float32(y1-y0), b.Score, b.Label)
	return out
}

// Views of the edge of the image circle: eight pan-tilt directions
// (left, right, up, down and the diagonals) at fisheyeViewAngle of the
// lens's half field of view, each fisheyeViewFOV wide, at the lens's
// angular resolution (so faces keep the size they have in the frame).
const (
	fisheyeViewAngle = 0.62
	fisheyeViewFOV   = 75 * math.Pi / 180
	// fisheyeMaxView caps a view's side: a lens on a 4K frame needs no
	// more to find faces of MinFace, and the view's passes are planned
	// like a frame's.
	fisheyeMaxView = 1600
)

// fisheyeViews lays out the edge views for lens l, whose field of view is
// fovDeg.
func fisheyeViews(l fisheyeLens, fovDeg float64) []fisheyeView {
	a := fisheyeViewAngle * fovDeg / 2 * math.Pi / 180
	size := min(fisheyeMaxView, int(math.Round(2*l.f*math.Tan(fisheyeViewFOV/2))))
	focal := float64(size) / 2 / math.Tan(fisheyeViewFOV/2)
	d := a / math.Sqrt2
	var out []fisheyeView
	for _, yp := range [][2]float64{{-a, 0}, {a, 0}, {0, -a}, {0, a}, {-d, -d}, {d, -d}, {-d, d}, {d, d}} {
		out = append(out, newFisheyeView(yp[0], yp[1], size, focal))
	}
	return out
}

// A circular fisheye frame shows its image circle: black all round beyond
// a radius. findImageCircle looks along rays from the frame centre
// (luma(x, y) reads the frame) and returns that radius, or 0 when the
// frame does not show one: the rays to the four corners must each end in
// a black run out to the frame edge, starting at radii within 6% of their
// median, and so must at least 80% of every ray that ends in black.
func findImageCircle(w, h int, luma func(x, y int) uint8) float64 {
	const (
		black   = 24 // luma at most this is outside the circle
		rays    = 16
		minDark = 0.04 // a black run of at least 4% of the half diagonal
	)
	cx, cy := float64(w)/2, float64(h)/2
	diag := math.Hypot(cx, cy)
	var radii []float64
	corners := 0
	for i := range rays {
		a := (float64(i) + 0.5) * 2 * math.Pi / rays
		dx, dy := math.Cos(a), math.Sin(a)
		// Distance to the frame edge along the ray.
		end := math.Min(math.Abs(cx/dx), math.Abs(cy/dy)) - 1
		r := end
		for ; r > 0; r-- {
			if luma(int(cx+r*dx), int(cy+r*dy)) > black {
				break
			}
		}
		if end-r < minDark*diag {
			continue // the ray ends in picture
		}
		radii = append(radii, r+1)
		if dx != 0 && dy != 0 && math.Abs(math.Abs(dy/dx)-cy/cx) < 0.6*cy/cx {
			corners++
		}
	}
	if len(radii) < 4 || corners < 4 {
		return 0
	}
	sort.Float64s(radii)
	med := radii[len(radii)/2]
	agree := 0
	for _, r := range radii {
		if math.Abs(r-med) <= 0.06*med {
			agree++
		}
	}
	// Every dark ray must meet the circle: black bars (letterboxing) end
	// the rays at radii that change with their angle.
	if agree < 4 || float64(agree) < 0.8*float64(len(radii)) || med < 0.3*diag {
		return 0
	}
	return med
}

// fullFrameRadius is the image circle of a full-frame (diagonal) fisheye,
// which shows no black border: the circle through the frame's corners.
func fullFrameRadius(w, h int) float64 { return math.Hypot(float64(w), float64(h)) / 2 }

// clipToFrame keeps the part of a box mapped from a view inside the frame.
func clipToFrame(b Box, w, h int) (Box, bool) {
	r := b.Rect().Intersect(image.Rect(0, 0, w, h))
	if r.Empty() {
		return Box{}, false
	}
	return boxFromRect(r, b.Score, b.Label), true
}
