package evalset

import (
	"fmt"
	"image"
	"math"
	"sort"
)

// badge hangs one staff card on a lanyard below the person's face in every
// frame, following the reference detector's face (the largest, smoothed
// over eleven frames, held across frames where it found none), swinging
// by up to 6° and turning by up to 28°.
func (c *Clip) badge(info VideoInfo, faces [][]image.Rectangle, shared string) (frameFunc, error) {
	c.Width, c.Height, c.Views = info.Width, info.Height, []Homography{Identity}
	track := smoothTrack(faces, 5)
	if track == nil {
		return nil, fmt.Errorf("evalset: the reference found no face in %s to hang a card under", c.Spec.Source)
	}
	var widths []float64
	for _, f := range track {
		widths = append(widths, float64(f.Dx()))
	}
	sort.Float64s(widths)
	W := min(max(0.55*widths[len(widths)/2], 60), 150)
	rng := seeded("clip card", c.Spec.Name())
	portraits, err := clipCardPhoto(shared)
	if err != nil {
		return nil, err
	}
	card, err := renderCard(randomCard(rng, portraits, true))
	if err != nil {
		return nil, err
	}
	sc := W / float64(card.Rect.Dx())
	small := resize(card, int(math.Round(float64(card.Rect.Dx())*sc)), int(math.Round(float64(card.Rect.Dy())*sc)))
	strap := strapColours[0]
	c.Cards = make([][]Quad, info.Frames)
	bounds := image.Rect(0, 0, c.Width, c.Height)
	return func(i int, src *image.RGBA) (*image.RGBA, error) {
		out := cloneRGBA(src)
		if i >= len(track) {
			return out, nil
		}
		f := track[i]
		tilt := 6 * math.Sin(2*math.Pi*float64(i)/45) * math.Pi / 180
		yaw := 28 * math.Sin(2*math.Pi*float64(i)/80) * math.Pi / 180
		pivot := Pt{float64(f.Min.X+f.Max.X) / 2, float64(f.Max.Y) + 0.9*float64(f.Dy())}
		q := cardQuad(float64(small.Rect.Dx()), float64(small.Rect.Dy()), pivot, tilt, yaw)
		hm, err := QuadToQuad(RectQuad(small.Rect), q)
		if err != nil {
			return nil, err
		}
		drawLanyard(out, f, q, W, strap)
		if err := warp(out, small, hm); err != nil {
			return nil, err
		}
		if q.Bounds().In(bounds) {
			c.Cards[i] = []Quad{q}
		}
		return out, nil
	}, nil
}

// clipCardPhoto is the card's photo: a portrait from the dlib photos
// (someone else than the wearer, as on a borrowed card).
func clipCardPhoto(shared string) (image.Image, error) {
	photos, err := Photos(shared, Reporting)
	if err != nil {
		return nil, err
	}
	p, err := cardPhotos(photos[:1])
	if err != nil {
		return nil, err
	}
	return p[0], nil
}

// smoothTrack reduces each frame's faces to the largest, fills frames with
// none from the nearest frame with one, and averages the box over ±r
// frames. nil when no frame has a face.
func smoothTrack(faces [][]image.Rectangle, r int) []image.Rectangle {
	n := len(faces)
	raw := make([]image.Rectangle, n)
	have := make([]bool, n)
	any := false
	for i, fs := range faces {
		for _, f := range fs {
			if f.Dx()*f.Dy() > raw[i].Dx()*raw[i].Dy() {
				raw[i], have[i], any = f, true, true
			}
		}
	}
	if !any {
		return nil
	}
	for i := range raw { // hold: nearest frame with a face
		if have[i] {
			continue
		}
		for d := 1; d < n; d++ {
			if i-d >= 0 && have[i-d] {
				raw[i] = raw[i-d]
				break
			}
			if i+d < n && have[i+d] {
				raw[i] = raw[i+d]
				break
			}
		}
	}
	out := make([]image.Rectangle, n)
	for i := range raw {
		var s [4]float64
		k := 0
		for j := max(0, i-r); j <= min(n-1, i+r); j++ {
			s[0] += float64(raw[j].Min.X)
			s[1] += float64(raw[j].Min.Y)
			s[2] += float64(raw[j].Max.X)
			s[3] += float64(raw[j].Max.Y)
			k++
		}
		out[i] = image.Rect(int(s[0]/float64(k)), int(s[1]/float64(k)), int(s[2]/float64(k)), int(s[3]/float64(k)))
	}
	return out
}
