//go:build cgo

package detect

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// cardEdgeThresholds are the strengths of edge (colour morphological
// gradient, 0–255) at which the zone is binarised: a printed card has the
// strongest contrast in the zone (black text and bars on white), a shirt's
// folds and patterns weaker, so at a high threshold the card stands alone
// and at a low one a card in shade still shows.
var cardEdgeThresholds = []float64{50, 90, 140}

// cardOpenSizes are the openings (zone pixels) that cut a card from what
// touches it: straps and thin lines go at the smallest, a striped shirt's
// stripes at the largest, which keeps cards turned to a third of a face
// width.
var cardOpenSizes = []int{cardUnit / 10, cardUnit / 6, cardUnit / 4}

// findCards returns the card outlines found in the badge zone of a,
// best first. The zone is cut from img and scaled so that the face is
// cardUnit pixels wide.
func findCards(img gocv.Mat, a anchor) []cardCand {
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	zone := a.zone().Intersect(frame)
	s := cardUnit / a.unit
	sz := image.Pt(int(math.Round(float64(zone.Dx())*s)), int(math.Round(float64(zone.Dy())*s)))
	if sz.X < 16 || sz.Y < 16 {
		return nil
	}
	roi := img.Region(zone)
	defer roi.Close()
	z := resized(roi, sz)
	defer z.Close()
	grad := colourGradient(z)
	defer grad.Close()

	sx, sy := float64(zone.Dx())/float64(sz.X), float64(zone.Dy())/float64(sz.Y)
	toFrame := func(p image.Point) image.Point {
		return image.Pt(zone.Min.X+int(math.Round(float64(p.X)*sx)), zone.Min.Y+int(math.Round(float64(p.Y)*sy)))
	}
	edges := gocv.NewMat()
	defer edges.Close()
	gocv.Threshold(grad, &edges, float32(cardEdgeThresholds[0]), 255, gocv.ThresholdBinary)
	var out []cardCand
	add := func(blobs gocv.Mat, tag string) {
		out = append(out, scoreBlobs(blobs, edges, tag, toFrame)...)
		blobs.Close()
	}
	for _, t := range cardEdgeThresholds {
		add(gradientBlobs(grad, t, cardUnit/8, cardUnit/10), fmt.Sprintf("dense%.0f", t))
		for _, o := range cardOpenSizes {
			add(gradientBlobs(grad, t, 0, o), fmt.Sprintf("outline%.0f/%d", t, o))
		}
	}
	for _, o := range cardOpenSizes {
		add(colourBlobs(z, o), fmt.Sprintf("colour/%d", o))
	}
	supportCands(out)
	sortCands(out)
	return out
}

// colourGradient is the largest per-channel morphological gradient (3×3):
// strong at text, bars and the card's outline, in any colour. The caller
// closes it.
func colourGradient(z gocv.Mat) gocv.Mat {
	k := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3))
	defer k.Close()
	g3 := gocv.NewMat()
	defer g3.Close()
	gocv.MorphologyEx(z, &g3, gocv.MorphGradient, k)
	ch := gocv.Split(g3)
	defer closeAll(ch)
	out := ch[0].Clone()
	for _, c := range ch[1:] {
		gocv.Max(out, c, &out)
	}
	return out
}

// gradientBlobs binarises the gradient at t, closes the text and bars of
// a card into one solid blob (closeSize > 0) or keeps the edges thin,
// fills the holes, and opens away lanyard straps and thin lines: the
// blobs left are card candidates.
func gradientBlobs(grad gocv.Mat, t float64, closeSize, openSize int) gocv.Mat {
	edges := gocv.NewMat()
	defer edges.Close()
	gocv.Threshold(grad, &edges, float32(t), 255, gocv.ThresholdBinary)
	if closeSize > 0 {
		closeK := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(closeSize, closeSize))
		defer closeK.Close()
		gocv.MorphologyEx(edges, &edges, gocv.MorphClose, closeK)
	}
	filled := fillHoles(edges)
	openK := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(openSize, openSize))
	defer openK.Close()
	gocv.MorphologyEx(filled, &filled, gocv.MorphOpen, openK)
	return filled
}

// colourBlobs are the regions of card colours: white or light grey (the
// card's body) or strongly coloured (its header and role band), with the
// text and bars printed on them closed over, and thin parts (straps,
// stripes) opened away. Against a dark or dull shirt the card stands out
// whole, even where its outline does not.
func colourBlobs(z gocv.Mat, openSize int) gocv.Mat {
	hsv := gocv.NewMat()
	defer hsv.Close()
	gocv.CvtColor(z, &hsv, gocv.ColorBGRToHSV)
	white := gocv.NewMat()
	defer white.Close()
	gocv.InRangeWithScalar(hsv, gocv.NewScalar(0, 0, 150, 0), gocv.NewScalar(180, 60, 255, 0), &white)
	vivid := gocv.NewMat()
	defer vivid.Close()
	gocv.InRangeWithScalar(hsv, gocv.NewScalar(0, 110, 120, 0), gocv.NewScalar(180, 255, 255, 0), &vivid)
	out := gocv.NewMat()
	gocv.BitwiseOr(white, vivid, &out)
	closeK := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(cardUnit/12, cardUnit/12))
	defer closeK.Close()
	gocv.MorphologyEx(out, &out, gocv.MorphClose, closeK)
	openK := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(openSize, openSize))
	defer openK.Close()
	gocv.MorphologyEx(out, &out, gocv.MorphOpen, openK)
	return out
}

// scoreBlobs scores every outer blob of the binary image blobs as a card
// (cardShape), detail counted in edges; toFrame maps zone pixels to the
// frame.
func scoreBlobs(blobs, edges gocv.Mat, tag string, toFrame func(image.Point) image.Point) []cardCand {
	contours := gocv.FindContours(blobs, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	one := gocv.NewMatWithSize(blobs.Rows(), blobs.Cols(), gocv.MatTypeCV8UC1)
	defer one.Close()
	inside := gocv.NewMat()
	defer inside.Close()
	u := float64(cardUnit)
	var out []cardCand
	for i := 0; i < contours.Size(); i++ {
		pv := contours.At(i)
		rr := gocv.MinAreaRect(pv)
		w, h := float64(rr.Width), float64(rr.Height)
		if w*h < cardMinArea*u*u || w*h > cardMaxArea*u*u {
			continue
		}
		area := gocv.ContourArea(pv)
		fill := area / math.Max(1, w*h)
		one.SetTo(gocv.NewScalar(0, 0, 0, 0))
		gocv.DrawContours(&one, contours, i, color.RGBA{255, 255, 255, 255}, -1)
		gocv.BitwiseAnd(one, edges, &inside)
		detail := float64(gocv.CountNonZero(inside)) / math.Max(1, area)
		sc := cardShape(w, h, u, fill, detail)
		if cardDebug != nil {
			cardDebug(fmt.Sprintf("%s rect %.0fx%.0f area %.2fu² fill %.2f detail %.2f score %.2f at %v", tag, w, h, w*h/(u*u), fill, detail, sc, toFrame(rr.Center)))
		}
		if sc == 0 || len(rr.Points) != 4 {
			continue
		}
		c := cardCand{fill: fill, detail: detail, score: sc}
		for j, p := range rr.Points {
			c.pts[j] = toFrame(p)
		}
		c.bounds = image.Rectangle{Min: c.pts[0], Max: c.pts[0]}
		for _, p := range c.pts[1:] {
			c.bounds.Min.X, c.bounds.Min.Y = min(c.bounds.Min.X, p.X), min(c.bounds.Min.Y, p.Y)
			c.bounds.Max.X, c.bounds.Max.Y = max(c.bounds.Max.X, p.X), max(c.bounds.Max.Y, p.Y)
		}
		out = append(out, c)
	}
	return out
}

// fillHoles returns the binary image with the inside of every outer
// contour filled. The caller closes it.
func fillHoles(bin gocv.Mat) gocv.Mat {
	out := gocv.NewMatWithSize(bin.Rows(), bin.Cols(), gocv.MatTypeCV8UC1)
	out.SetTo(gocv.NewScalar(0, 0, 0, 0))
	contours := gocv.FindContours(bin, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	if contours.Size() > 0 {
		gocv.DrawContours(&out, contours, -1, color.RGBA{255, 255, 255, 255}, -1)
	}
	return out
}

// wornCards returns a mask box (labelled text) for the best card outline
// in the badge zone of every face and head in people.
func wornCards(img gocv.Mat, people []Box) []Box {
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	var out []Box
	for _, a := range anchors(people) {
		cs := findCards(img, a)
		r, ok := pickCard(cs, a.unit)
		if !ok {
			continue
		}
		out = append(out, boxFromRect(cardMask(r, frame), math.Min(1, cs[0].score), LabelText))
	}
	return NMS(out, 0.5)
}
