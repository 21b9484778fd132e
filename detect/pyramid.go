package detect

import (
	"image"
	"math"
)

// faceRange is the span of face sides, in network-input pixels, that a
// model finds reliably.
type faceRange struct{ min, max float64 }

// planScales chooses the resize factors of the passes a face detector runs
// on a frame so that every face from minFace pixels up to the size of the
// whole frame lands, in at least one pass, inside the model's reliable
// range. The finest pass brings minFace up to r.min (upscaling at most
// maxUp); the coarsest brings a frame-sized face down to r.max; passes in
// between are spaced geometrically no more than ratio apart. Scales are
// returned finest first.
func planScales(frameW, frameH, minFace int, r faceRange, ratio, maxUp float64) []float64 {
	if frameW <= 0 || frameH <= 0 || minFace <= 0 {
		return nil
	}
	fine := r.min / float64(minFace)
	if fine > maxUp {
		fine = maxUp
	}
	maxFace := float64(max(frameW, frameH))
	coarse := r.max / maxFace
	if fine <= coarse {
		// One pass covers every size: run it at native resolution if
		// that is inside the window, else as close to it as allowed.
		return []float64{math.Min(coarse, math.Max(fine, 1))}
	}
	n := int(math.Ceil(math.Log(fine/coarse)/math.Log(ratio) - 1e-9))
	out := make([]float64, n+1)
	step := math.Pow(fine/coarse, 1/float64(n))
	s := fine
	for i := range out {
		out[i] = s
		s /= step
	}
	out[n] = coarse
	return out
}

// bandMax is the largest box side (in level pixels) a pass keeps when a
// coarser pass follows at ratio times smaller: three times the size at
// which the coarser pass starts finding faces reliably. Larger boxes in a
// fine pass are mostly false positives on the model's largest anchors
// (walls, dark corners) and any true one is found again, inside its
// reliable range, by the coarser pass.
func bandMax(r faceRange, ratio float64) float64 {
	return math.Min(r.max, 3*r.min*ratio)
}

// scaledSize is the frame size after resizing by s, at least 1×1.
func scaledSize(w, h int, s float64) image.Point {
	return image.Pt(max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s))))
}

// tileGrid covers a w×h image with tw×th tiles overlapping by at least
// overlap pixels, spread evenly; tiles are clipped to the image, so an
// image smaller than a tile gets one tile (which the caller pads).
func tileGrid(w, h, tw, th, overlap int) []image.Rectangle {
	xs := tileStarts(w, tw, overlap)
	ys := tileStarts(h, th, overlap)
	out := make([]image.Rectangle, 0, len(xs)*len(ys))
	for _, y := range ys {
		for _, x := range xs {
			out = append(out, image.Rect(x, y, min(x+tw, w), min(y+th, h)))
		}
	}
	return out
}

func tileStarts(size, tile, overlap int) []int {
	if size <= tile {
		return []int{0}
	}
	if overlap >= tile {
		overlap = tile - 1
	}
	n := int(math.Ceil(float64(size-overlap) / float64(tile-overlap)))
	if n < 2 {
		n = 2
	}
	out := make([]int, n)
	for i := range out {
		out[i] = int(math.Round(float64(i) * float64(size-tile) / float64(n-1)))
	}
	return out
}

// scaleBox maps a box found in a pass (offset by the tile origin, in an
// image resized by sx×sy) back to frame pixels, rounding outwards.
func scaleBox(b Box, off image.Point, sx, sy float64) Box {
	x0 := math.Floor(float64(b.X+off.X) / sx)
	y0 := math.Floor(float64(b.Y+off.Y) / sy)
	x1 := math.Ceil(float64(b.X+b.W+off.X) / sx)
	y1 := math.Ceil(float64(b.Y+b.H+off.Y) / sy)
	return Box{X: int(x0), Y: int(y0), W: int(x1 - x0), H: int(y1 - y0), Score: b.Score, Label: b.Label}
}

// inFrame drops boxes that do not intersect a w×h frame. Boxes that
// cross the edge keep their full extent: a face cut by the frame edge keeps
// its true size, so margins and tracking see a consistent box.
func inFrame(boxes []Box, w, h int) []Box {
	bounds := image.Rect(0, 0, w, h)
	out := boxes[:0]
	for _, b := range boxes {
		if b.Area() > 0 && b.Rect().Overlaps(bounds) {
			out = append(out, b)
		}
	}
	return out
}
