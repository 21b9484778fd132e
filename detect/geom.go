package detect

import (
	"image"
	"math"
	"sort"
)

// DefaultMargin is the share of a box's width (and height) that the
// redactor adds on every side before masking. Face boxes from detectors hug
// the inner face; hair, ears and jaw line identify too.
const DefaultMargin = 0.20

// Rect returns the box as an image.Rectangle.
func (b Box) Rect() image.Rectangle {
	return image.Rect(b.X, b.Y, b.X+b.W, b.Y+b.H)
}

// Area is the box area in pixels (0 for an empty box).
func (b Box) Area() int {
	if b.W <= 0 || b.H <= 0 {
		return 0
	}
	return b.W * b.H
}

// boxFromRect builds a Box from a rectangle, keeping score and label.
func boxFromRect(r image.Rectangle, score float64, label Label) Box {
	return Box{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Score: score, Label: label}
}

// Expand grows b by margin times its width on the left and right and margin
// times its height on the top and bottom, then clips it to bounds (unless
// bounds is empty). Edges are rounded outwards so that the result always
// contains the exact expansion. The redactor and the evaluation both use
// this one function, so the recall measured is the recall delivered.
func Expand(b Box, margin float64, bounds image.Rectangle) Box {
	if margin < 0 {
		margin = 0
	}
	dx := margin * float64(b.W)
	dy := margin * float64(b.H)
	r := image.Rect(
		int(math.Floor(float64(b.X)-dx)),
		int(math.Floor(float64(b.Y)-dy)),
		int(math.Ceil(float64(b.X+b.W)+dx)),
		int(math.Ceil(float64(b.Y+b.H)+dy)),
	)
	if !bounds.Empty() {
		r = r.Intersect(bounds)
	}
	return boxFromRect(r, b.Score, b.Label)
}

// ExpandAll applies Expand to every box.
func ExpandAll(boxes []Box, margin float64, bounds image.Rectangle) []Box {
	out := make([]Box, 0, len(boxes))
	for _, b := range boxes {
		if e := Expand(b, margin, bounds); e.Area() > 0 {
			out = append(out, e)
		}
	}
	return out
}

// IoU is the intersection over union of two boxes.
func IoU(a, b Box) float64 {
	in := a.Rect().Intersect(b.Rect())
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	u := float64(a.Area()+b.Area()) - i
	if u <= 0 {
		return 0
	}
	return i / u
}

// containedIn is the share of a's area that lies inside b.
func containedIn(a, b Box) float64 {
	in := a.Rect().Intersect(b.Rect())
	if in.Empty() || a.Area() == 0 {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(a.Area())
}

// NMS is greedy non-maximum suppression over boxes of the same label: boxes
// are taken by descending score and dropped when their IoU with a kept box
// of the same label is at least iou, or when at least 85% of them lies
// inside a kept box (dropping those never uncovers a pixel, and multi-scale
// passes produce many of them). The input slice is not modified.
func NMS(boxes []Box, iou float64) []Box {
	return nms(boxes, iou, 0.85)
}

// nms is NMS dropping boxes at least contained inside a kept one (above
// 1: never).
func nms(boxes []Box, iou, contained float64) []Box {
	sorted := append([]Box(nil), boxes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	kept := make([]Box, 0, len(sorted))
next:
	for _, b := range sorted {
		if b.Area() == 0 {
			continue
		}
		for _, k := range kept {
			if k.Label != b.Label {
				continue
			}
			if IoU(k, b) >= iou || containedIn(b, k) >= contained {
				continue next
			}
		}
		kept = append(kept, b)
	}
	return kept
}

// Coverage is the share of target's area that lies under the union of
// masks: 1 when the target is fully hidden. It is how the evaluation
// decides whether a ground-truth face was redacted.
func Coverage(target image.Rectangle, masks []image.Rectangle) float64 {
	if target.Empty() {
		return 0
	}
	clipped := make([]image.Rectangle, 0, len(masks))
	for _, m := range masks {
		if c := m.Intersect(target); !c.Empty() {
			clipped = append(clipped, c)
		}
	}
	return float64(UnionArea(clipped)) / float64(target.Dx()*target.Dy())
}

// UnionArea is the area in pixels covered by at least one rectangle.
func UnionArea(rects []image.Rectangle) int {
	xs := make([]int, 0, 2*len(rects))
	for _, r := range rects {
		if r.Empty() {
			continue
		}
		xs = append(xs, r.Min.X, r.Max.X)
	}
	if len(xs) == 0 {
		return 0
	}
	sort.Ints(xs)
	area := 0
	type span struct{ lo, hi int }
	spans := make([]span, 0, len(rects))
	for i := 0; i+1 < len(xs); i++ {
		x0, x1 := xs[i], xs[i+1]
		if x0 == x1 {
			continue
		}
		spans = spans[:0]
		for _, r := range rects {
			if !r.Empty() && r.Min.X <= x0 && r.Max.X >= x1 {
				spans = append(spans, span{r.Min.Y, r.Max.Y})
			}
		}
		if len(spans) == 0 {
			continue
		}
		sort.Slice(spans, func(a, b int) bool { return spans[a].lo < spans[b].lo })
		covered, lo, hi := 0, spans[0].lo, spans[0].hi
		for _, s := range spans[1:] {
			if s.lo > hi {
				covered += hi - lo
				lo, hi = s.lo, s.hi
			} else if s.hi > hi {
				hi = s.hi
			}
		}
		covered += hi - lo
		area += covered * (x1 - x0)
	}
	return area
}

// Rects returns the rectangles of boxes.
func Rects(boxes []Box) []image.Rectangle {
	out := make([]image.Rectangle, len(boxes))
	for i, b := range boxes {
		out[i] = b.Rect()
	}
	return out
}
