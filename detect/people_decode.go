package detect

import (
	"fmt"
	"image"
	"math"
)

// LabelPerson marks a person box. Person boxes are not masked themselves
// (the body is evidence): Composite turns them into head regions.
const LabelPerson Label = "person"

// YOLOX-Nano's fixed input side and output layout: 85 values per anchor
// (dx, dy, log w, log h, objectness, 80 COCO class scores, already through
// a sigmoid) over grids at strides 8, 16 and 32, one anchor per cell.
const (
	yoloxSide    = 416
	yoloxStride  = 85
	yoloxClasses = 80
	yoloxPerson  = 0
	yoloxFill    = 114
)

var yoloxStrides = [...]int{8, 16, 32}

// yoloxAnchors is the number of anchors for a side×side input: 3549 for 416.
func yoloxAnchors(side int) int {
	n := 0
	for _, s := range yoloxStrides {
		g := side / s
		n += g * g
	}
	return n
}

// yoloxDecode turns YOLOX's raw output for a side×side input into boxes
// of class cls scoring at least thresh (score = objectness × class score),
// in input pixels, before NMS. Malformed output is an error, never a
// panic: the values come from a model file.
func yoloxDecode(out []float32, side, cls int, thresh float64) ([]Box, error) {
	n := yoloxAnchors(side)
	if len(out) != n*yoloxStride {
		return nil, fmt.Errorf("yolox: %d output values, want %d×%d", len(out), n, yoloxStride)
	}
	if cls < 0 || cls >= yoloxClasses {
		return nil, fmt.Errorf("yolox: class %d out of range", cls)
	}
	var boxes []Box
	i := 0
	for _, s := range yoloxStrides {
		g := side / s
		for gy := 0; gy < g; gy++ {
			for gx := 0; gx < g; gx++ {
				v := out[i*yoloxStride : (i+1)*yoloxStride]
				i++
				score := float64(v[4]) * float64(v[5+cls])
				if !(score >= thresh) || score > 1 {
					continue // NaN and out-of-range scores too
				}
				cx := (float64(gx) + float64(v[0])) * float64(s)
				cy := (float64(gy) + float64(v[1])) * float64(s)
				w := math.Exp(math.Min(float64(v[2]), 8)) * float64(s)
				h := math.Exp(math.Min(float64(v[3]), 8)) * float64(s)
				if !finiteAll(cx, cy, w, h) || w < 1 || h < 1 {
					continue
				}
				x0, y0 := math.Floor(cx-w/2), math.Floor(cy-h/2)
				x1, y1 := math.Ceil(cx+w/2), math.Ceil(cy+h/2)
				boxes = append(boxes, Box{X: int(x0), Y: int(y0), W: int(x1 - x0), H: int(y1 - y0),
					Score: score, Label: LabelPerson})
			}
		}
	}
	return boxes, nil
}

func finiteAll(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
			return false
		}
	}
	return true
}

// ModelYOLOXNano is the person detector's audit name (see KnownModels).

// personNMSIoU is the overlap above which two person boxes are one
// person. Plain IoU only: a child in front of an adult, or a seated
// patient in front of a nurse, lies inside another person's box and must
// keep its own.
const personNMSIoU = 0.55

// personNMS keeps the best-scoring of boxes overlapping by iou or more.
func personNMS(boxes []Box, iou float64) []Box {
	return nms(boxes, iou, 2) // no containment: people in front of people
}

// personTiles are the square views, beside the whole frame, that the
// person detector runs on: side the frame's shorter side, spread evenly
// along the longer one overlapping by at least an eighth of a side (two
// tiles for 16:9, 160 px apart at 720p): a small person cut by one
// tile's edge is whole in the next, a large one in the whole-frame pass. A frame near square gets none (the whole-frame pass
// already runs at that scale), nor does one the whole-frame pass shrinks
// by less than 1.5.
func personTiles(w, h int) []image.Rectangle {
	side := min(w, h)
	if side <= 0 || 4*max(w, h) < 5*side || 2*max(w, h) <= 3*yoloxSide {
		return nil
	}
	return tileGrid(w, h, side, side, side/8)
}

// cutByTile reports whether a person box found in tile t of a w×h frame
// reaches (within 1/32 of its side) the tile's edge inside the frame: that person is cut, and the
// part seen (a torso, legs) would put a head region in the wrong place.
// They are found whole in the next tile (the tiles overlap) or in the
// whole-frame pass.
func cutByTile(b, t image.Rectangle, w, h int) bool {
	// YOLOX puts a cut person's edge a few pixels inside the tile.
	near := max(4, min(t.Dx(), t.Dy())/32)
	return t.Min.X > 0 && b.Min.X <= t.Min.X+near || t.Max.X < w && b.Max.X >= t.Max.X-near ||
		t.Min.Y > 0 && b.Min.Y <= t.Min.Y+near || t.Max.Y < h && b.Max.Y >= t.Max.Y-near
}
