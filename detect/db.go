package detect

import (
	"image"
	"math"
)

// The pure-Go half of DB (differentiable binarisation) post-processing for
// the PP-OCR text detector: the network outputs a per-pixel text
// probability map; text regions are the contours of the thresholded map,
// scored by their mean probability and grown ("unclipped") because the
// network is trained to predict shrunken text kernels.

// dbBitmap thresholds a probability map into a 0/255 mask.
func dbBitmap(prob []float32, thresh float32) []byte {
	out := make([]byte, len(prob))
	for i, p := range prob {
		if p > thresh {
			out[i] = 255
		}
	}
	return out
}

// polygonMean is the mean probability of the map pixels whose centres lie
// inside poly (or on its boundary). A polygon too thin to contain a pixel
// centre falls back to the mean over its bounding rectangle.
func polygonMean(prob []float32, w, h int, poly []image.Point) float64 {
	if len(poly) < 3 || w <= 0 || h <= 0 {
		return 0
	}
	bb := image.Rectangle{Min: poly[0], Max: poly[0]}
	for _, p := range poly[1:] {
		bb.Min.X, bb.Min.Y = min(bb.Min.X, p.X), min(bb.Min.Y, p.Y)
		bb.Max.X, bb.Max.Y = max(bb.Max.X, p.X), max(bb.Max.Y, p.Y)
	}
	bb.Max = bb.Max.Add(image.Pt(1, 1)) // inclusive corners
	bb = bb.Intersect(image.Rect(0, 0, w, h))
	if bb.Empty() {
		return 0
	}
	var sum, all float64
	var n, nAll int
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			p := float64(prob[y*w+x])
			all += p
			nAll++
			if insidePolygon(poly, float64(x), float64(y)) {
				sum += p
				n++
			}
		}
	}
	if n == 0 {
		return all / float64(nAll)
	}
	return sum / float64(n)
}

// insidePolygon reports whether (x, y) lies inside poly or on an edge.
func insidePolygon(poly []image.Point, x, y float64) bool {
	in := false
	j := len(poly) - 1
	for i := range poly {
		xi, yi := float64(poly[i].X), float64(poly[i].Y)
		xj, yj := float64(poly[j].X), float64(poly[j].Y)
		if onSegment(xi, yi, xj, yj, x, y) {
			return true
		}
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
		j = i
	}
	return in
}

func onSegment(x1, y1, x2, y2, x, y float64) bool {
	cross := (x2-x1)*(y-y1) - (y2-y1)*(x-x1)
	if math.Abs(cross) > 1e-9 {
		return false
	}
	return x >= math.Min(x1, x2) && x <= math.Max(x1, x2) && y >= math.Min(y1, y2) && y <= math.Max(y1, y2)
}

// unclipDistance is how far DB grows a w×h text kernel: area × ratio /
// perimeter, the offset PaddleOCR applies with pyclipper.
func unclipDistance(w, h, ratio float64) float64 {
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h * ratio / (2 * (w + h))
}

// unclipRect grows the axis-aligned bounds of a (possibly rotated)
// rectangle with sides w×h by the unclip distance. The bounds of a polygon
// offset by d are the polygon's bounds grown by d, so no polygon clipping
// is needed to get the axis-aligned mask.
func unclipRect(bounds image.Rectangle, w, h, ratio float64) image.Rectangle {
	d := int(math.Ceil(unclipDistance(w, h, ratio)))
	return image.Rect(bounds.Min.X-d, bounds.Min.Y-d, bounds.Max.X+d, bounds.Max.Y+d)
}

// mapToFrame scales a rectangle from a mapW×mapH probability map to a
// frameW×frameH frame, rounding outwards.
func mapToFrame(r image.Rectangle, mapW, mapH, frameW, frameH int) image.Rectangle {
	sx := float64(frameW) / float64(mapW)
	sy := float64(frameH) / float64(mapH)
	return image.Rect(
		int(math.Floor(float64(r.Min.X)*sx)), int(math.Floor(float64(r.Min.Y)*sy)),
		int(math.Ceil(float64(r.Max.X)*sx)), int(math.Ceil(float64(r.Max.Y)*sy)),
	)
}

// textInputSize picks the PP-OCR input for a w×h frame: the long side at
// most maxSide, both sides multiples of 32 (at least 32), aspect kept as
// closely as the rounding allows.
func textInputSize(w, h, maxSide int) image.Point {
	s := 1.0
	if long := max(w, h); long > maxSide {
		s = float64(maxSide) / float64(long)
	}
	r := func(v int) int {
		n := int(math.Round(float64(v)*s/32)) * 32
		if n < 32 {
			n = 32
		}
		for n > maxSide && n > 32 {
			n -= 32
		}
		return n
	}
	return image.Pt(r(w), r(h))
}
