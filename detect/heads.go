package detect

import (
	"image"
	"math"
)

// LabelHead marks the head region of a person whose face was not found
// (seen from above, from behind, masked). It is masked and tracked like a
// face.
const LabelHead Label = "head"

// Head geometry, as shares of a person box, measured on the faces of
// faces_dlib and the shared clips against YOLOX-Nano's person boxes (see
// TestHeadGeometry): the face's centre lies 0.1–0.35 of the box height
// below its top and anywhere in the middle 0.3–0.7 of its width, and is
// 0.25–0.8 of the box width wide; the head is larger (hair, back of the
// head, seen from above).
const (
	// uprightAspect: a box at least this much taller than wide is a
	// person upright (standing, walking, sitting seen from the side), head
	// at the top.
	uprightAspect = 1.4
	// headDepthW and headDepthH: an upright person's head region reaches
	// down from the box top the larger of these shares of the box width
	// and height (narrow boxes are whole bodies, arms down, whose head
	// is wider than the box's width share suggests).
	headDepthW = 0.7
	headDepthH = 0.22
	// headAbove: the region starts this share of its depth above the box
	// top (hair, and a box cut at the crown).
	headAbove = 0.1
	// roundDepth: a box about as wide as tall is a person sitting, bending,
	// an upper body, or seen from straight above, head and shoulders
	// (head in the middle): the region is the top roundDepth of the box.
	roundDepth = 0.75
)

// headRegions returns where the head of the person in box p may be, in
// frame pixels, before the mask margin:
//
//   - upright (height >= 1.4 × width): the top of the box, its full
//     width (people lean, turn and raise an arm);
//   - about square: the top three quarters, full width: sitting and upper
//     bodies have the head at the top, people seen from straight above
//     have it in the middle;
//   - lying (width >= 1.4 × height: in bed, on the floor): a square at
//     each end, the middle (the body) left visible, for the head may be
//     at either end.
//
// Upside-down people (the far side of an overhead fisheye) are not
// covered here: the fisheye views turn them upright first.
func headRegions(p Box) []image.Rectangle {
	w, h := float64(p.W), float64(p.H)
	if w <= 0 || h <= 0 {
		return nil
	}
	x0, y0 := float64(p.X), float64(p.Y)
	rect := func(x0, y0, x1, y1 float64) image.Rectangle {
		return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
	}
	switch {
	case h >= uprightAspect*w:
		d := math.Min(h, math.Max(headDepthW*w, headDepthH*h))
		return []image.Rectangle{rect(x0, y0-headAbove*d, x0+w, y0+d)}
	case w >= uprightAspect*h:
		return []image.Rectangle{rect(x0, y0, x0+h, y0+h), rect(x0+w-h, y0, x0+w, y0+h)}
	default:
		d := roundDepth * h
		return []image.Rectangle{rect(x0, y0-headAbove*d, x0+w, y0+d)}
	}
}

// headsWithoutFaces returns a head box for every head region of every
// person none of whose regions holds a face. A face excuses one person
// only, and only when it clearly belongs to them: in a crowd a face also
// lies in a neighbour's region, and the neighbour's own face may be the
// one not found. A face counts for the person in whose region it sits
// most centrally, when it sits there at most faceClaim times as far from
// the centre as in any other person's region; a face as central in two
// people's regions excuses neither. Two boxes whose head regions overlap
// by half or more (IoU) are one person found twice (the whole frame and a
// tile, whole and upper body): a face excuses both. Heads are labelled
// LabelHead and scored with the person's score.
func headsWithoutFaces(people, faces []Box) []Box {
	regions := make([][]image.Rectangle, len(people))
	for i, p := range people {
		regions[i] = headRegions(p)
	}
	hasFace := make([]bool, len(people))
	for _, f := range faces {
		for _, i := range faceOwners(image.Pt(f.X+f.W/2, f.Y+f.H/2), regions) {
			hasFace[i] = true
		}
	}
	var out []Box
	for i, p := range people {
		if hasFace[i] {
			continue
		}
		for _, r := range regions[i] {
			out = append(out, boxFromRect(r, p.Score, LabelHead))
		}
	}
	return out
}

// faceClaim: how much more central a face must sit in one person's head
// region than in any other's to count as that person's.
const faceClaim = 0.5

// samePerson: head regions overlapping by this IoU are one person's.
const samePerson = 0.5

// faceOwners are the indices of the person whose head region the face
// centre c clearly belongs to, with that person's duplicates; none when
// it is ambiguous.
func faceOwners(c image.Point, regions [][]image.Rectangle) []int {
	dist := make([]float64, len(regions))
	best := -1
	for i, rs := range regions {
		dist[i] = math.Inf(1)
		for _, r := range rs {
			if !c.In(r) {
				continue
			}
			// Distance from the region's centre, in half sizes.
			dx := float64(2*c.X-r.Min.X-r.Max.X) / float64(r.Dx())
			dy := float64(2*c.Y-r.Min.Y-r.Max.Y) / float64(r.Dy())
			dist[i] = math.Min(dist[i], math.Hypot(dx, dy))
		}
		if !math.IsInf(dist[i], 1) && (best < 0 || dist[i] < dist[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	owners := []int{best}
	for i, d := range dist {
		switch {
		case i == best || math.IsInf(d, 1):
		case sameRegions(regions[i], regions[best]):
			owners = append(owners, i)
		case dist[best] > faceClaim*d:
			return nil // as much another person's
		}
	}
	return owners
}

// sameRegions reports whether two people's head regions are one head's.
func sameRegions(a, b []image.Rectangle) bool {
	for _, ra := range a {
		for _, rb := range b {
			if IoU(boxFromRect(ra, 0, ""), boxFromRect(rb, 0, "")) >= samePerson {
				return true
			}
		}
	}
	return false
}
