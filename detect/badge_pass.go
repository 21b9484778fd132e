//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"
)

// detectBadges is DetectText. On a pass it:
//
//   - searches the badge zone under every face and head (anchor.zone) for
//     a card's outline at the face's scale (findCards) and masks the card,
//     not the person: recall does not depend on the card's text being
//     legible;
//   - in mode badge-zone, masks the whole zone of every face and head
//     instead (the DPO's conservative choice: the shirt is lost, no name
//     can show);
//   - runs the text model on the whole frame: text on a person that no
//     card mask covers is grown to the card it is printed on (its outline
//     around the text, else a guess bounded by the face: see guessCard);
//     text in a card-sized outline is masked with no face in view (a
//     badge whose wearer's head is out of frame, a card held up); in mode
//     all every other text region too;
//   - keeps a card found on the previous pass whose wearer is still in
//     view but whose card was not found again (turned edge-on, blurred),
//     moved with the wearer, for cardKeepPasses passes.
func (c *Composite) detectBadges(img gocv.Mat, people []Box) ([]Box, error) {
	if c.text == nil {
		return nil, nil
	}
	if err := checkFrame(img); err != nil {
		return nil, err
	}
	size := image.Pt(img.Cols(), img.Rows())
	if !c.textDue(img) {
		c.textCalls++
		return c.betweenTextPasses(img, people), nil
	}
	c.textCalls = 1
	prev := c.carry
	c.carry, c.carrySize = nil, size
	regions, err := c.text.textRegions(img, c.cfg)
	if err != nil {
		c.textCalls = 0
		return nil, err
	}
	// The whole-frame pass sees a face this many times its size: a zone
	// it sees at zoneTextUnit or more needs no pass of its own.
	frameTextScale := min(1, float64(c.cfg.TextMaxSide)/float64(max(size.X, size.Y)))
	var worn []carriedText
	var taken []image.Rectangle
	as := anchors(people)
	for _, z := range c.zoneFinds(img, as) {
		r, zt, err := c.zoneCard(img, z, taken, frameTextScale, zoneTextMinUnit(as))
		if err != nil {
			c.textCalls = 0
			return nil, err
		}
		regions = append(regions, zt...)
		if !r.Empty() {
			worn = append(worn, carriedText{box: boxFromRect(r, 1, LabelText), face: z.a.face})
			taken = append(taken, r)
		}
	}
	worn = append(worn, c.textCards(img, regions, people, worn)...)
	worn = append(worn, keptCards(prev, people, worn)...)
	out := make([]Box, 0, len(worn))
	for _, w := range worn {
		out = append(out, w.box)
	}
	keep := NMS(out, 0.7)
	kept := map[Box]bool{}
	for _, b := range keep {
		kept[b] = true
	}
	for _, w := range worn {
		if kept[w.box] {
			c.carry = append(c.carry, w)
			delete(kept, w.box)
		}
	}
	return keep, nil
}

// textCards turns the text regions of a pass into masks: text that the
// card masks in cards already cover goes; text on a person is grown to
// its card; text in a card outline with no face is masked as a card; in
// mode all, the rest as it is.
func (c *Composite) textCards(img gocv.Mat, regions, people []Box, cards []carriedText) []carriedText {
	if len(regions) == 0 {
		return nil
	}
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	w, h := img.Cols(), img.Rows()
	frame := image.Rect(0, 0, w, h)
	var out []carriedText
	for _, cl := range clusterText(regions) {
		card, found := findCard(gray, cl)
		if i, ok := joinCard(cl.bounds, cards); ok {
			if found {
				growCard(cards, i, card)
			}
			continue
		}
		face, worn := wearer(cl.bounds, people)
		if worn && found && !cardFits(card, face) {
			found = false // the outline of the shirt, not of a card
		}
		var r image.Rectangle
		switch {
		case worn && !cardFits(cl.bounds, face):
			// More text than a card holds (a printed shirt, stripes
			// read as lines): masked as it is, not grown.
			for _, b := range cl.boxes {
				out = append(out, carriedText{box: b, face: face})
			}
			continue
		case worn && found:
			r = card.Union(cl.bounds)
		case worn:
			r = guessCard(cl, face)
		case found && card.Dx()*card.Dy() <= w*h/8:
			r = card.Union(cl.bounds)
		case c.textMode == TextAll:
			for _, b := range cl.boxes {
				out = append(out, carriedText{box: b})
			}
			continue
		default:
			continue
		}
		if cardDebug != nil {
			cardDebug(fmt.Sprintf("text %v worn %v (face %v) outline %v %v -> %v", cl.bounds, worn, face.Rect(), found, card, r))
		}
		pad := max(2, cl.lineH/4)
		b := boxFromRect(r.Inset(-pad).Intersect(frame), cl.score, LabelText)
		if !worn {
			face = Box{}
		}
		out = append(out, carriedText{box: b, face: face})
	}
	return out
}

// zoneFind is an anchor with the card candidates in its zone.
type zoneFind struct {
	a  anchor
	cs []cardCand
}

// zoneFinds searches the zone of every anchor (not in mode badge-zone),
// and orders them by their best card, best first: where two people's
// zones hold the same card, the one it stands out for more takes it, and
// the other's next best is its own card (zoneCard).
func (c *Composite) zoneFinds(img gocv.Mat, as []anchor) []zoneFind {
	zs := make([]zoneFind, len(as))
	for i, a := range as {
		zs[i].a = a
		if c.textMode != TextBadgeZone {
			zs[i].cs = findCards(img, a)
		}
	}
	best := func(z zoneFind) float64 {
		if len(z.cs) == 0 {
			return 0
		}
		return z.cs[0].score
	}
	sort.SliceStable(zs, func(i, j int) bool { return best(zs[i]) > best(zs[j]) })
	return zs
}

// zoneCard is the mask for the badge zone of z: the whole zone in mode
// badge-zone, else the card found in it (empty when none is) that is not
// one taken already by another person's zone. Unless a card outline
// stands out clearly (cardSure), the text model also reads the zone at
// zoneTextUnit (when the whole-frame pass, at frameTextScale, sees it
// smaller) for faces at least zoneTextMin wide: the text it finds
// completes a card found in part, or stands for one not found
// (textCards).
func (c *Composite) zoneCard(img gocv.Mat, z zoneFind, taken []image.Rectangle, frameTextScale, zoneTextMin float64) (image.Rectangle, []Box, error) {
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	if c.textMode == TextBadgeZone {
		return z.a.zone().Intersect(frame), nil, nil
	}
	cs := untaken(z.cs, taken)
	var zt []Box
	if (len(cs) == 0 || cs[0].score < cardSure) && z.a.unit*frameTextScale < zoneTextUnit && z.a.unit >= zoneTextMin {
		var err error
		if zt, err = c.text.zoneText(img, z.a, c.cfg); err != nil {
			return image.Rectangle{}, nil, err
		}
	}
	cr, ok := pickCard(cs, z.a.unit)
	if !ok {
		return image.Rectangle{}, zt, nil
	}
	return cardMask(cr, frame), zt, nil
}

// betweenTextPasses returns the badge masks on a call that does not run
// the text model: the last text pass's masks moved with their wearers,
// and the card outlines found now in every zone (the finder is cheap and
// needs no text model), which take the place of the moved mask they
// overlap (joined with it where the two stay card-sized): a card
// swings and turns on its lanyard between text passes, and its outline
// follows it where the wearer's face does not. In mode badge-zone the
// zones of the people in view.
func (c *Composite) betweenTextPasses(img gocv.Mat, people []Box) []Box {
	moved := moveWithWearer(c.carry, people)
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	var fresh []Box
	var taken []image.Rectangle
	for _, z := range c.zoneFinds(img, anchors(people)) {
		var r image.Rectangle
		if c.textMode == TextBadgeZone {
			r = z.a.zone().Intersect(frame)
		} else if cr, ok := pickCard(untaken(z.cs, taken), z.a.unit); ok {
			r = cardMask(cr, frame)
		}
		if !r.Empty() {
			fresh = append(fresh, boxFromRect(r, 1, LabelText))
			taken = append(taken, r)
		}
	}
	out := fresh
	for _, m := range moved {
		replaced := false
		for i, f := range fresh {
			if IoU(m, f) < 0.3 {
				continue
			}
			// The same card: the outline now, grown by the last pass's
			// mask where that stays card-sized (text the outline
			// missed).
			if u := f.Rect().Union(m.Rect()); area(u) <= cardJoinGrowth*math.Max(area(f.Rect()), area(m.Rect())) {
				out[i] = boxFromRect(u, f.Score, LabelText)
			}
			replaced = true
			break
		}
		if !replaced {
			out = append(out, m)
		}
	}
	return out
}

// zoneTextMinUnit is the face width from which zones get a text pass: that
// of the zoneTextMax-th largest face (0: all, when there are fewer).
func zoneTextMinUnit(as []anchor) float64 {
	if len(as) <= zoneTextMax {
		return 0
	}
	us := make([]float64, len(as))
	for i, a := range as {
		us[i] = a.unit
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(us)))
	return us[zoneTextMax-1]
}
