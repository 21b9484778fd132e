package detect

import (
	"image"
	"math"
	"sort"
)

// Badges and ID cards identify by their photo as much as by the name, so
// text found on a person is grown to the extent of the card it is printed
// on: the card's own outline when one can be seen (findCard), else a
// conservative guess from the text's size and the layout of common cards.

// personZone is where a badge or ID card worn by the person whose face is
// f can be: about two face widths either side (shoulders, breast pockets,
// arms holding a card up) and from just above the face down to the belt
// (lanyards hang to the belly; clips sit on pockets and belts).
func personZone(f Box) image.Rectangle {
	return image.Rect(
		f.X-2*f.W, f.Y-f.H/2,
		f.X+3*f.W, f.Y+7*f.H,
	)
}

// wearer returns the largest face (or head: see anchors) whose person
// zone holds the centre of r, as the face box it implies (a head's face
// is a share of its width).
func wearer(r image.Rectangle, people []Box) (Box, bool) {
	c := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
	var best Box
	found := false
	for _, a := range anchors(people) {
		f := a.faceBox()
		if c.In(personZone(f)) && (!found || f.Area() > best.Area()) {
			best, found = f, true
		}
	}
	return best, found
}

// onPerson reports whether the centre of r lies in the zone of any face.
func onPerson(r image.Rectangle, faces []Box) bool {
	_, ok := wearer(r, faces)
	return ok
}

// textCluster is a group of text boxes that are probably printed on the
// same card or sign.
type textCluster struct {
	boxes  []Box
	bounds image.Rectangle
	lineH  int     // median box height: the text scale
	score  float64 // best box score
}

// clusterText groups text boxes whose gap is under one line height (of the
// smaller box), so the lines of one badge go together.
func clusterText(boxes []Box) []textCluster {
	n := len(boxes)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			g := min(boxes[i].H, boxes[j].H)
			a := boxes[i].Rect().Inset(-g)
			if a.Overlaps(boxes[j].Rect()) {
				parent[find(i)] = find(j)
			}
		}
	}
	groups := map[int][]Box{}
	var order []int
	for i, b := range boxes {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], b)
	}
	out := make([]textCluster, 0, len(groups))
	for _, r := range order {
		g := groups[r]
		c := textCluster{boxes: g, bounds: g[0].Rect()}
		hs := make([]int, len(g))
		for i, b := range g {
			c.bounds = c.bounds.Union(b.Rect())
			hs[i] = min(b.W, b.H)
			c.score = math.Max(c.score, b.Score)
		}
		sort.Ints(hs) // heights of the line boxes (min side: lines may run vertically)
		c.lineH = hs[len(hs)/2]
		out = append(out, c)
	}
	return out
}

// guessCard is the region a card carrying the text cluster c can occupy
// when its outline cannot be seen. It is the union of the two common
// layouts: portrait badges (photo above the name, about 1.4 name widths
// high, more lines below) and landscape ID cards (photo beside the text,
// about a text width away, the name anywhere from the top edge down).
// Short text (a first name) is bounded below by multiples of the line
// height, since the photo does not shrink with it. When the wearer's face
// is known, the card reaches no further than 1.2 face heights from the
// text: badges are smaller than faces.
func guessCard(c textCluster, face Box) image.Rectangle {
	cw := float64(c.bounds.Dx())
	l := float64(c.lineH)
	side := math.Max(0.9*cw, 4*l)
	up := math.Max(1.4*cw, 9*l)
	down := math.Max(0.9*cw, 5*l)
	if face.H > 0 {
		reach := guessReach * float64(face.H)
		side, up, down = math.Min(side, reach), math.Min(up, reach), math.Min(down, reach)
		// Text already as large as a card leaves less card around it:
		// the card is at most guessCardW × guessCardH face widths.
		u, ch := float64(face.W), float64(c.bounds.Dy())
		side = math.Min(side, math.Max(l, guessCardW*u-cw))
		up = math.Min(up, math.Max(l, guessCardH*u-ch))
		down = math.Min(down, math.Max(l, guessCardH*u-ch))
	}
	return image.Rect(
		c.bounds.Min.X-int(math.Ceil(side)), c.bounds.Min.Y-int(math.Ceil(up)),
		c.bounds.Max.X+int(math.Ceil(side)), c.bounds.Max.Y+int(math.Ceil(down)),
	)
}

// guessCardW and guessCardH bound the card a guess is made for, in face
// widths: at most a face wide (more when turned lengthways) and 1.6 high.
const (
	guessCardW = 1.2
	guessCardH = 1.8
)

// guessReach bounds a guessed card, in face heights from its text: a
// card is about a face wide at most.
const guessReach = 0.9

// cardSearchWindow is where findCard looks for a card outline around c:
// the guessed card extent, which contains every plausible card.
func cardSearchWindow(c textCluster) image.Rectangle {
	return guessCard(c, Box{}).Inset(-2)
}

// plausibleCard reports whether rectangle r (with fill = contour area over
// rectangle area) looks like a card holding the cluster: it contains the
// text, is larger than the text alone by a card's worth of photo and
// margin, is not much larger than a card could be, and is card-shaped.
func plausibleCard(r image.Rectangle, fill float64, c textCluster) bool {
	if r.Empty() || fill < 0.6 {
		return false
	}
	in := r.Intersect(c.bounds)
	ta := float64(c.bounds.Dx() * c.bounds.Dy())
	if ta == 0 || float64(in.Dx()*in.Dy()) < 0.8*ta {
		return false
	}
	a := float64(r.Dx() * r.Dy())
	if a < 1.5*ta || a > 20*ta {
		return false
	}
	ar := float64(r.Dx()) / float64(r.Dy())
	return ar >= 0.45 && ar <= 2.3
}

// carriedText is a text mask from the last text pass, with the face of the
// person wearing it (zero when it is not worn).
type carriedText struct {
	box  Box
	face Box
	// kept counts the passes since the card was last found (see
	// keptCards).
	kept int
}

// moveWithWearer maps the text masks of the last text pass onto a frame
// where only faces were detected: a worn mask follows the current face
// that best matches its wearer's (largest overlap, else the nearest face of
// similar size within three face sizes), translated with the face centre
// and scaled with the face size. Masks whose wearer is not found, and masks not worn
// (cards seen without a face), stay where they were.
func moveWithWearer(carry []carriedText, faces []Box) []Box {
	out := make([]Box, 0, len(carry))
	for _, c := range carry {
		b := c.box
		if c.face.Area() > 0 {
			if f, ok := matchFace(c.face, faces); ok {
				s := math.Sqrt(float64(f.Area()) / float64(c.face.Area()))
				fcx, fcy := center(c.face)
				ncx, ncy := center(f)
				bcx, bcy := center(b)
				cx := ncx + (bcx-fcx)*s
				cy := ncy + (bcy-fcy)*s
				w, h := float64(b.W)*s, float64(b.H)*s
				b = floatBox(float32(cx-w/2), float32(cy-h/2), float32(w), float32(h), b.Score, b.Label)
			}
		}
		out = append(out, b)
	}
	return out
}

func center(b Box) (float64, float64) {
	return float64(b.X) + float64(b.W)/2, float64(b.Y) + float64(b.H)/2
}

// matchFace finds the face in faces that is the same person as old.
func matchFace(old Box, faces []Box) (Box, bool) {
	var best Box
	bestIoU, bestDist := 0.0, math.Inf(1)
	ox, oy := center(old)
	reach := 3 * float64(max(old.W, old.H))
	for _, f := range faces {
		if f.Label != old.Label || f.Area() == 0 {
			continue
		}
		if iou := IoU(old, f); iou > bestIoU {
			best, bestIoU = f, iou
			continue
		}
		if bestIoU > 0 {
			continue
		}
		if r := float64(f.Area()) / float64(old.Area()); r < 0.25 || r > 4 {
			continue
		}
		fx, fy := center(f)
		if d := math.Hypot(fx-ox, fy-oy); d < reach && d < bestDist {
			best, bestDist = f, d
		}
	}
	return best, bestIoU > 0 || !math.IsInf(bestDist, 1)
}

// cardKeepPasses is how many text passes a worn card that is not found
// again is kept (moved with its wearer) while the wearer is in view: a
// card turned edge-on or blurred for a moment is still there.
const cardKeepPasses = 2

// keptCards returns the worn cards of the previous pass (prev) whose
// wearer is among people but which no card of this pass (found) stands
// for, moved with the wearer, until they have been kept cardKeepPasses
// times.
func keptCards(prev []carriedText, people []Box, found []carriedText) []carriedText {
	var out []carriedText
	for _, p := range prev {
		if p.face.Area() == 0 || p.kept >= cardKeepPasses {
			continue
		}
		f, ok := matchFace(p.face, people)
		if !ok {
			continue
		}
		moved := moveWithWearer([]carriedText{p}, people)[0]
		again := false
		for _, c := range found {
			if c.face.Area() > 0 && IoU(c.face, f) > 0.3 || IoU(c.box, moved) > 0.3 {
				again = true
				break
			}
		}
		if !again {
			out = append(out, carriedText{box: moved, face: f, kept: p.kept + 1})
		}
	}
	return out
}

// joinCard reports whether text r is taken care of by one of the card
// masks in cards: most of it (cardTextInside) lies under one already, or
// it overlaps one and the card grown to hold it stays card-sized (at most
// cardJoinGrowth times its area, or no larger than a card its wearer can
// wear: the card's outline was found short of its text, or only its
// header was). Text it does not take is masked on its own (textCards).
func joinCard(r image.Rectangle, cards []carriedText) (int, bool) {
	for i, c := range cards {
		cr := c.box.Rect()
		in := area(r.Intersect(cr))
		if in >= cardTextInside*area(r) {
			return i, true
		}
		if in == 0 && (c.face.W == 0 || !r.Inset(-int(cardJoinGap*float64(c.face.W))).Overlaps(cr)) {
			continue // neither on the card nor next to it
		}
		if u := cr.Union(r); area(u) <= cardJoinGrowth*area(cr) || c.face.W > 0 && cardFits(u, c.face) {
			cards[i].box = boxFromRect(u, c.box.Score, c.box.Label)
			return i, true
		}
	}
	return -1, false
}

// growCard grows card mask i of cards to take in the outline found
// around its text (findCard), when that at most cardOutlineGrowth times
// its area: a card found in part under a face (or under the photo on the
// card, taken for a face) is completed by the outline around its name.
func growCard(cards []carriedText, i int, outline image.Rectangle) {
	cr := cards[i].box.Rect()
	if u := cr.Union(outline); area(u) <= cardOutlineGrowth*area(cr) {
		cards[i].box = boxFromRect(u, cards[i].box.Score, cards[i].box.Label)
	}
}

// cardOutlineGrowth bounds growCard.
const cardOutlineGrowth = 2.5

// cardTextInside is the share of a text region under a card mask that
// counts as the card's own text.
const cardTextInside = 0.9

// cardJoinGrowth bounds how much a card mask grows to take in its text.
const cardJoinGrowth = 1.6
