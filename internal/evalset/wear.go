package evalset

import (
	"fmt"
	"image"
	"math"
)

// WearCard renders a staff card (card.go) width px wide, hangs it from
// pivot (the middle of its top edge) turned by yaw and tilted by tilt
// degrees as the benchmark's badges are (cardQuad), and paints it onto
// dst. It returns the card's quadrilateral. The card's text and style
// come from seed; photo is its portrait (nil for none). For unit tests of
// card finders, so that they see the benchmark's cards.
func WearCard(dst *image.RGBA, pivot Pt, width, tilt, yaw float64, portrait bool, photo image.Image, seed string) (Quad, error) {
	if width < 4 {
		return Quad{}, fmt.Errorf("evalset: card width %v px too small", width)
	}
	card, err := renderCard(randomCard(seeded("wear card", seed), photo, portrait))
	if err != nil {
		return Quad{}, err
	}
	sc := width / float64(card.Rect.Dx())
	small := resize(card, max(1, int(math.Round(float64(card.Rect.Dx())*sc))), max(1, int(math.Round(float64(card.Rect.Dy())*sc))))
	q := cardQuad(float64(small.Rect.Dx()), float64(small.Rect.Dy()), pivot, tilt*math.Pi/180, yaw*math.Pi/180)
	hm, err := QuadToQuad(RectQuad(small.Rect), q)
	if err != nil {
		return Quad{}, err
	}
	if err := warp(dst, small, hm); err != nil {
		return Quad{}, err
	}
	return q, nil
}
