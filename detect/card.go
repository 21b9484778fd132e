package detect

import (
	"fmt"
	"image"
	"math"
	"sort"
)

// Worn cards: a staff badge or ID card hangs on a lanyard or is clipped to
// the chest of the person wearing it, below the face. The card finder
// (card_cv.go) searches that zone of every face and head at a resolution
// set by the face's size, not the frame's, so that a card 25 px wide in
// the frame is searched at the same scale as one 150 px wide; it finds the
// card's outline (a bright or coloured quadrilateral full of detail:
// photo, name, role, barcode) and masks that, not the person.

// cardUnit is the face width, in zone pixels, that a badge zone is scaled
// to: a card (half to one face width wide) is then 30 to 70 px wide.
const cardUnit = 64

// Badge zone geometry, in face widths (u) from the bottom centre of the
// face: lanyards hang from the neck to the belly, clips sit on breast
// pockets either side, and a card is at most about a face wide.
const (
	zoneSide   = 1.8 // either side of the face centre
	zoneTop    = 0.1 // below the face box
	zoneBottom = 4.0
)

// anchor is a face (or the head of a person whose face was not found) a
// badge zone hangs from: cx is its centre, bottom the y of its chin, unit
// its width.
type anchor struct {
	cx, bottom, unit float64
	face             Box // the face or head box it came from
}

// headFaceShare: the face of a person is about this share of the width of
// the head region headRegions gives (the person box's width, shoulders
// included).
const headFaceShare = 0.45

// anchors returns the badge anchors of the faces and heads in boxes.
// A head region (see headRegions) is as wide as the person; the face in
// it is about headFaceShare of that, its chin near the region's bottom.
func anchors(boxes []Box) []anchor {
	var out []anchor
	for _, b := range boxes {
		if b.W <= 0 || b.H <= 0 {
			continue
		}
		cx := float64(b.X) + float64(b.W)/2
		switch b.Label {
		case LabelFace:
			out = append(out, anchor{cx: cx, bottom: float64(b.Y + b.H), unit: float64(b.W), face: b})
		case LabelHead:
			u := math.Max(headFaceShare*float64(b.W), 4)
			out = append(out, anchor{cx: cx, bottom: float64(b.Y+b.H) - 0.5*u, unit: u, face: b})
		}
	}
	return out
}

// faceBox is the face a implies: the face itself, or for a head the face
// the person's head region holds.
func (a anchor) faceBox() Box {
	if a.face.Label == LabelFace {
		return a.face
	}
	u := a.unit
	return floatBox(float32(a.cx-u/2), float32(a.bottom-u), float32(u), float32(u), a.face.Score, LabelFace)
}

// zone is where a card worn by the person of a can be, in frame pixels
// (not clipped).
func (a anchor) zone() image.Rectangle {
	return image.Rect(
		int(math.Floor(a.cx-zoneSide*a.unit)), int(math.Floor(a.bottom+zoneTop*a.unit)),
		int(math.Ceil(a.cx+zoneSide*a.unit)), int(math.Ceil(a.bottom+zoneBottom*a.unit)),
	)
}

// Card shape limits, in face widths (u): a CR80 card (85.6 × 54 mm) is
// about half to one face width across; turned away by up to 60° it keeps
// half its width; seen in perspective its sides stay about 1.6:1 or
// narrower than 3.6:1 when turned.
const (
	cardMinArea   = 0.08 // u², a small card turned away
	cardMaxArea   = 1.4  // u², a large card face on
	cardMinShort  = 0.15 // u
	cardMaxLong   = 2.0  // u
	cardMaxAspect = 3.6
	cardMinFill   = 0.72 // contour area over its minimum-area rectangle
	cardMinDetail = 0.2  // share of strong-edge pixels inside
)

// cardCand is a card outline found in a zone: the corners of its
// minimum-area rectangle in frame pixels, and how card-like it is.
type cardCand struct {
	pts    [4]image.Point
	bounds image.Rectangle
	fill   float64 // contour area over rectangle area
	detail float64 // share of strong-edge pixels inside
	score  float64
}

// cardShape scores a candidate of rectangle sides w×h (zone pixels, unit u
// = face width in zone pixels), fill and detail; 0 when it is not a card.
func cardShape(w, h, u, fill, detail float64) float64 {
	long, short := math.Max(w, h), math.Min(w, h)
	area := w * h / (u * u)
	switch {
	case short < cardMinShort*u, long > cardMaxLong*u, long > cardMaxAspect*short,
		area < cardMinArea, area > cardMaxArea, fill < cardMinFill, detail < cardMinDetail:
		return 0
	}
	return fill * math.Min(1, detail/cardFullDetail) * math.Sqrt(area)
}

// cardMask is the box masked for a card: the bounds of its corners grown
// by a margin for the rounding of the outline to zone pixels and for the
// blur of a small card's edges, and clipped to the frame.
func cardMask(r, frame image.Rectangle) image.Rectangle {
	short := math.Min(float64(r.Dx()), float64(r.Dy()))
	pad := int(math.Ceil(math.Max(2, cardPad*short)))
	return r.Inset(-pad).Intersect(frame)
}

// cardPad is the margin grown around a card outline, a share of its
// shorter side.
const cardPad = 0.05

// cardFullDetail is the share of edge pixels at which a blob is as
// detailed as a card (text, bars, photo) can be.
const cardFullDetail = 0.5

// cardSupport is how much each other binarisation that finds about the
// same blob adds to its score: a card stands out at every threshold and
// in colour too, a fold of the shirt in one of them.
const cardSupport = 0.2

// supportCands raises the score of each candidate by cardSupport for
// every other candidate that is about the same blob (IoU >= 0.5), at
// most six.
func supportCands(cs []cardCand) {
	n := make([]int, len(cs))
	for i := range cs {
		bi := boxFromRect(cs[i].bounds, 0, "")
		for j := range cs {
			if i != j && IoU(bi, boxFromRect(cs[j].bounds, 0, "")) >= 0.5 {
				n[i]++
			}
		}
	}
	for i := range cs {
		cs[i].score *= 1 + cardSupport*float64(min(n[i], 6))
	}
}

// sortCands orders candidates best first.
func sortCands(cs []cardCand) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
}

// TextMargin is the margin the redactor grows text and card boxes by,
// whatever its --margin: detect returns them already grown to what must be
// hidden (a card's outline plus cardPad, text lines by the DB unclip
// ratio), and a card grown by the face margin would be twice its area.
const TextMargin = 0.02

// pickCard returns the bounds of the card the best candidate is part of.
// A card's header, body and role band are often found apart (a white card
// on a white coat shows only its coloured header and band; on a striped
// shirt the body merges with the stripes), so candidates next to the best
// (within cardJoinGap face widths) and about as wide are joined to it
// while the whole stays card-shaped (cardShape's size and aspect limits).
// unit is the face width in frame pixels.
func pickCard(cs []cardCand, unit float64) (image.Rectangle, bool) {
	if len(cs) == 0 || cs[0].score < cardMinScore {
		return image.Rectangle{}, false
	}
	r := cs[0].bounds
	gap := int(math.Ceil(cardJoinGap * unit))
	for joined := true; joined; {
		joined = false
		for _, c := range cs[1:] {
			b := c.bounds
			if b.In(r) || !b.Inset(-gap).Overlaps(r) {
				continue
			}
			if wr := float64(b.Dx()) / float64(r.Dx()); wr < 0.6 || wr > 1.6 {
				continue
			}
			if ov := min(b.Max.X, r.Max.X) - max(b.Min.X, r.Min.X); float64(ov) < 0.6*float64(min(b.Dx(), r.Dx())) {
				continue // side by side: a hanging card's parts are stacked
			}
			u := r.Union(b)
			long, short := float64(max(u.Dx(), u.Dy())), float64(min(u.Dx(), u.Dy()))
			if long > cardMaxLong*unit || long > cardMaxAspect*short || area(u) > cardMaxArea*unit*unit {
				continue
			}
			if area(u) > area(r)+area(b)+2*float64(gap)*float64(max(r.Dx(), r.Dy())) {
				continue // not side by side: the union would take in more than the gap
			}
			r, joined = u, true
		}
	}
	if r == cs[0].bounds {
		r = headedCard(cs[0], unit)
	}
	if cardDebug != nil {
		cardDebug(fmt.Sprintf("pick: best %v (fill %.2f detail %.2f score %.2f) -> %v", cs[0].bounds, cs[0].fill, cs[0].detail, cs[0].score, r))
	}
	return r, true
}

// headedCard grows a card part that is a band, card-wide, into the card
// it heads: the coloured header of a white card on a white coat is often
// all that stands out. The card hangs below its header, perpendicular to
// it, and is at most cardHeadedLength times as long as wide (a portrait
// card; a landscape one is shorter); a header narrowed by a turn is
// taken for a card at least 0.8 face widths wide.
func headedCard(c cardCand, unit float64) image.Rectangle {
	p := c.pts
	e1 := [2]float64{float64(p[1].X - p[0].X), float64(p[1].Y - p[0].Y)}
	e2 := [2]float64{float64(p[2].X - p[1].X), float64(p[2].Y - p[1].Y)}
	l1, l2 := math.Hypot(e1[0], e1[1]), math.Hypot(e2[0], e2[1])
	long, short, side := l1, l2, e2
	if l2 > l1 {
		long, short, side = l2, l1, e1
	}
	if short == 0 || long < cardHeadedAspect*short || long < 2*cardMinShort*unit || long > 0.6*cardMaxLong*unit {
		return c.bounds
	}
	n := [2]float64{side[0] / short, side[1] / short}
	if n[1] < 0 {
		n = [2]float64{-n[0], -n[1]}
	}
	if n[1] < 0.5 {
		return c.bounds // a band on end is no header
	}
	ext := cardHeadedLength*math.Max(long, 0.8*unit) - short
	r := c.bounds
	for _, q := range p {
		m := image.Pt(q.X+int(math.Round(n[0]*ext)), q.Y+int(math.Round(n[1]*ext)))
		r = r.Union(image.Rectangle{Min: m, Max: m.Add(image.Pt(1, 1))})
	}
	return r
}

// A band at least cardHeadedAspect times as wide as high is taken for a
// card's header; the card below it is cardHeadedLength times its width.
const (
	cardHeadedAspect = 1.8
	cardHeadedLength = 1.6
)

// cardMinScore is the least score (cardShape, raised by support) of a
// card: a lone blob found at one threshold only, on a shirt's fold, scores
// below it.
const cardMinScore = 0.5

// cardSure is the score of a card outline so clear that the badge zone
// needs no text pass of its own to complete it.
const cardSure = 1.0

// cardJoinGap is how far apart (in face widths) parts of one card may be
// found: the white between its header and its photo.
const cardJoinGap = 0.4

func area(r image.Rectangle) float64 { return float64(r.Dx()) * float64(r.Dy()) }

// cardDebug, when set, is told about every blob scored and every card
// picked (for the tuning tests).
var cardDebug func(string)

// cardFits reports whether r is no larger than a card worn by the person
// whose face is face can be (cardMaxArea, cardMaxLong).
func cardFits(r image.Rectangle, face Box) bool {
	u := float64(face.W)
	return area(r) <= cardMaxArea*u*u && float64(max(r.Dx(), r.Dy())) <= cardMaxLong*u
}

// untaken returns the candidates of cs that do not overlap a card in
// taken by more than a third of the smaller.
func untaken(cs []cardCand, taken []image.Rectangle) []cardCand {
	if len(taken) == 0 {
		return cs
	}
	out := make([]cardCand, 0, len(cs))
	for _, c := range cs {
		free := true
		for _, t := range taken {
			if area(c.bounds.Intersect(t)) > math.Min(area(c.bounds), area(t))/3 {
				free = false
				break
			}
		}
		if free {
			out = append(out, c)
		}
	}
	return out
}
