package evalset

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"path/filepath"
)

// Badges: staff ID cards (see card.go) hung on lanyards or clipped to the
// chest of the people in the dlib photos and in frames of the shared clips,
// 25 to 150 px wide, flat, tilted or partly turned away, with each card's
// quadrilateral as ground truth (and the wearers' faces too).

// Badge size buckets (the card's width as if seen face on) and poses.
var (
	BadgeSizeTags = []string{"25-40px", "40-70px", "70-110px", "110-150px"}
	BadgePoseTags = []string{"flat", "tilted", "turned"}
)

// BadgeSizeTag names the size bucket of a card of frontal width w.
func BadgeSizeTag(w float64) string {
	switch {
	case w < 40:
		return "25-40px"
	case w < 70:
		return "40-70px"
	case w < 110:
		return "70-110px"
	}
	return "110-150px"
}

// Shared clips.
const (
	ClipGen1 = "gen1_demo_assets_test_video.mp4"
	ClipGen2 = "gen2_demo_assets_test_face_video.mp4"
)

// labelledFrame is a frame of a shared clip with its faces, boxed by hand
// (checked against YuNet 2022mar on the frame): the people cards are hung
// on.
type labelledFrame struct {
	clip  string
	frame int
	split Split
	faces []image.Rectangle
}

var labelledFrames = []labelledFrame{
	{ClipGen1, 30, Tuning, []image.Rectangle{image.Rect(255, 96, 432, 340)}},
	{ClipGen1, 120, Tuning, []image.Rectangle{image.Rect(223, 107, 403, 365)}},
	{ClipGen1, 210, Tuning, []image.Rectangle{image.Rect(215, 108, 396, 371)}},
	{ClipGen1, 300, Reporting, []image.Rectangle{image.Rect(230, 92, 407, 336)}},
	{ClipGen1, 390, Reporting, []image.Rectangle{image.Rect(236, 107, 422, 351)}},
	{ClipGen1, 480, Reporting, []image.Rectangle{image.Rect(219, 108, 400, 371)}},
	{ClipGen2, 0, Tuning, []image.Rectangle{image.Rect(1134, 792, 1301, 977), image.Rect(1655, 693, 1818, 884)}},
	{ClipGen2, 2, Tuning, []image.Rectangle{image.Rect(1112, 784, 1275, 970), image.Rect(1632, 682, 1791, 864)}},
	{ClipGen2, 4, Tuning, []image.Rectangle{image.Rect(1093, 761, 1252, 944), image.Rect(1639, 641, 1792, 823)}},
	{ClipGen2, 6, Tuning, []image.Rectangle{image.Rect(1063, 780, 1226, 951), image.Rect(1646, 662, 1774, 839)}},
	{ClipGen2, 7, Reporting, []image.Rectangle{image.Rect(1025, 773, 1192, 936), image.Rect(1606, 648, 1765, 834)}},
	{ClipGen2, 9, Reporting, []image.Rectangle{image.Rect(995, 727, 1158, 899), image.Rect(1602, 611, 1731, 793)}},
	{ClipGen2, 11, Reporting, []image.Rectangle{image.Rect(995, 645, 1132, 812), image.Rect(1590, 513, 1747, 698)}},
	{ClipGen2, 13, Reporting, []image.Rectangle{image.Rect(984, 614, 1147, 785), image.Rect(1602, 475, 1765, 661)}},
}

// scene is a picture with people to hang cards on.
type scene struct {
	img   *image.RGBA
	faces []image.Rectangle
	src   string
}

// Badges returns the badge scenes of one split, generating them into the
// cache on first use (ffmpeg extracts the clip frames).
func Badges(o Options, split Split) (*Set, error) {
	o = o.withDefaults()
	photos, err := Photos(o.Shared, split)
	if err != nil {
		return nil, err
	}
	all, err := Photos(o.Shared, split) // card photos come from the same split
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Cache, fmt.Sprintf("v%d", Version), "badges", string(split))
	want := Set{Version: Version, Category: "badges", Variant: "worn", Split: split}
	return cached(dir, want, func(tmp string) ([]Still, error) {
		portraits, err := cardPhotos(all)
		if err != nil {
			return nil, err
		}
		var out []Still
		add := func(sc scene, scale float64) error {
			st, err := dressScene(sc, scale, portraits, len(out))
			if err != nil {
				return err
			}
			if len(st.Truth) == 0 {
				return nil
			}
			st.Path = fmt.Sprintf("scene-%02d.png", len(out))
			if err := writeImage(filepath.Join(tmp, st.Path), st.img, 0); err != nil {
				return err
			}
			out = append(out, st.Still)
			return nil
		}
		for _, ph := range photos {
			img, err := readImage(ph.Path)
			if err != nil {
				return nil, err
			}
			for _, s := range []float64{1, 1.6, 2.4} {
				if err := add(scene{img: img, faces: ph.Faces, src: ph.File}, s); err != nil {
					return nil, err
				}
			}
		}
		for _, lf := range labelledFrames {
			if lf.split != split {
				continue
			}
			img, err := clipFrame(filepath.Join(o.Shared, "data", "video", lf.clip), lf.frame)
			if err != nil {
				return nil, err
			}
			scales := []float64{1.25, 1, 0.6}
			if lf.clip == ClipGen2 {
				scales = []float64{1, 0.5, 0.3}
			}
			for _, s := range scales {
				sc := scene{img: img, faces: lf.faces, src: fmt.Sprintf("%s#%d", lf.clip, lf.frame)}
				if err := add(sc, s); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	})
}

// cardPhotos crops head-and-shoulders portraits of every face.
func cardPhotos(photos []Photo) ([]image.Image, error) {
	var out []image.Image
	for _, ph := range photos {
		img, err := readImage(ph.Path)
		if err != nil {
			return nil, err
		}
		for _, f := range ph.Faces {
			r := image.Rect(f.Min.X-f.Dx()/2, f.Min.Y-f.Dy()*6/10, f.Max.X+f.Dx()/2, f.Max.Y+f.Dy()*6/10)
			out = append(out, img.SubImage(r.Intersect(img.Rect)))
		}
	}
	return out, nil
}

type dressed struct {
	Still
	img *image.RGBA
}

// dressScene scales the scene, crops it to at most 1920×1080 around its
// people, and hangs a card on everyone with room below their face.
func dressScene(sc scene, scale float64, portraits []image.Image, n int) (dressed, error) {
	rng := seeded("badges", sc.src, fmt.Sprint(scale))
	w, h := int(math.Round(float64(sc.img.Rect.Dx())*scale)), int(math.Round(float64(sc.img.Rect.Dy())*scale))
	// Never draw on the scene itself: it is dressed again at other scales.
	img := resize(sc.img, w, h)
	var faces []image.Rectangle
	for _, f := range sc.faces {
		faces = append(faces, RectQuad(f).Map(Scale(scale, scale).Apply).Bounds())
	}
	img, faces = cropAround(img, faces, 1920, 1080)
	d := dressed{img: img, Still: Still{Width: img.Rect.Dx(), Height: img.Rect.Dy(),
		Source: fmt.Sprintf("%s ×%g", sc.src, scale)}}
	var taken []image.Rectangle
	for _, f := range faces {
		taken = append(taken, f.Inset(-f.Dx()/10))
	}
	var placed []placement
	for i, f := range faces {
		p, ok, err := placeCard(img.Rect, f, taken, portraits, rng, n+i)
		if err != nil {
			return d, err
		}
		if ok {
			placed = append(placed, p)
			taken = append(taken, p.truth.Quad.Bounds().Inset(-2))
		}
	}
	// Straps under every card, clips over them.
	var cards []Truth
	for _, p := range placed {
		if p.lanyard {
			drawLanyard(img, p.face, p.truth.Quad, p.width, p.strap)
		}
	}
	for _, p := range placed {
		if err := warp(img, p.card, p.hm); err != nil {
			return d, err
		}
		if !p.lanyard {
			drawClip(img, p.truth.Quad, p.width)
		}
		cards = append(cards, p.truth)
	}
	if len(cards) == 0 {
		return d, nil
	}
	addNoise(img, 2, rng)
	for _, f := range faces {
		q := RectQuad(f)
		d.Truth = append(d.Truth, Truth{Kind: KindFace, Quad: q, Tags: []string{SizeTag(q.Side())}, Note: sc.src})
	}
	d.Truth = append(d.Truth, cards...)
	return d, nil
}

// cropAround crops img to at most mw×mh, centred on the faces, and moves
// them; faces outside the crop are dropped.
func cropAround(img *image.RGBA, faces []image.Rectangle, mw, mh int) (*image.RGBA, []image.Rectangle) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= mw && h <= mh {
		return img, faces
	}
	var u image.Rectangle
	for _, f := range faces {
		u = u.Union(f)
	}
	cx, cy := (u.Min.X+u.Max.X)/2, u.Min.Y+mh/3
	cw, ch := min(w, mw), min(h, mh)
	x0, y0 := min(max(0, cx-cw/2), w-cw), min(max(0, cy-mh/3-u.Dy()/4), h-ch)
	r := image.Rect(x0, y0, x0+cw, y0+ch)
	out := image.NewRGBA(image.Rect(0, 0, cw, ch))
	for y := 0; y < ch; y++ {
		copy(out.Pix[y*out.Stride:y*out.Stride+4*cw], img.Pix[img.PixOffset(x0, y0+y):])
	}
	var kept []image.Rectangle
	for _, f := range faces {
		if f.In(r) {
			kept = append(kept, f.Sub(r.Min))
		}
	}
	return out, kept
}

// placement is a card rendered and placed on a wearer.
type placement struct {
	truth   Truth
	card    *image.RGBA // scaled to its width
	hm      Homography  // card pixels to picture
	face    image.Rectangle
	width   float64
	lanyard bool
	strap   color.RGBA
}

// placeCard renders a card and places it on the chest below face f: on a
// lanyard (straps to the neck) or clipped on, flat, tilted or turned, 25
// to 150 px wide. ok is false when the card would leave the picture or
// cover a face or another card.
func placeCard(frame, f image.Rectangle, taken []image.Rectangle, portraits []image.Image, rng *rand.Rand, n int) (p placement, ok bool, err error) {
	portrait := rng.IntN(3) > 0
	k := 0.45 + 0.3*rng.Float64() // card width / face box width
	if !portrait {
		k = 0.7 + 0.3*rng.Float64()
	}
	fw := float64(f.Dx())
	W := k * fw
	if W < 20 {
		return p, false, nil
	}
	W = min(max(W, 25), 150)
	p.lanyard, p.face, p.width = n%2 == 0, f, W
	p.strap = strapColours[rng.IntN(len(strapColours))]
	pose := BadgePoseTags[n%3]
	tilt, yaw := cardPose(pose, rng)
	spec := randomCard(rng, portraits[rng.IntN(len(portraits))], portrait)
	card, err := renderCard(spec)
	if err != nil {
		return p, false, err
	}
	cx := float64(f.Min.X+f.Max.X)/2 + (rng.Float64()*2-1)*0.15*fw
	top := float64(f.Max.Y) + (0.8+0.5*rng.Float64())*float64(f.Dy())
	if !p.lanyard {
		cx += (0.25 + 0.2*rng.Float64()) * fw * sign(rng)
		top = float64(f.Max.Y) + (0.6+0.3*rng.Float64())*float64(f.Dy())
	}
	sc := W / float64(card.Rect.Dx())
	p.card = resize(card, max(1, int(math.Round(float64(card.Rect.Dx())*sc))), max(1, int(math.Round(float64(card.Rect.Dy())*sc))))
	q := cardQuad(float64(p.card.Rect.Dx()), float64(p.card.Rect.Dy()), Pt{cx, top}, tilt*math.Pi/180, yaw*math.Pi/180)
	b := q.Bounds()
	if !b.Inset(-3).In(frame) {
		return p, false, nil
	}
	for _, t := range taken {
		if t.Overlaps(b) {
			return p, false, nil
		}
	}
	if p.hm, err = QuadToQuad(RectQuad(p.card.Rect), q); err != nil {
		return p, false, err
	}
	mount := "clip"
	if p.lanyard {
		mount = "lanyard"
	}
	p.truth = Truth{Kind: KindBadge, Quad: q, Tags: []string{BadgeSizeTag(W), pose, mount},
		Note: fmt.Sprintf("%s %q %.0fpx", mount, spec.name, W)}
	return p, true, nil
}

// cardPose draws a tilt and a yaw, in degrees, for a pose.
func cardPose(pose string, rng *rand.Rand) (tilt, yaw float64) {
	switch pose {
	case "tilted":
		return (12 + 18*rng.Float64()) * sign(rng), 15 * (rng.Float64()*2 - 1)
	case "turned":
		return 10 * (rng.Float64()*2 - 1), (35 + 25*rng.Float64()) * sign(rng)
	}
	return (rng.Float64()*2 - 1) * 4, 0
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// cardQuad is where a w×h card lands when it hangs from its top centre at
// pivot, turned by yaw about its vertical axis (seen in perspective from
// four card widths away) and then tilted in the picture plane.
func cardQuad(w, h float64, pivot Pt, tilt, yaw float64) Quad {
	f := 4 * w
	var q Quad
	for i, c := range RectQuad(image.Rect(0, 0, 1, 1)) {
		x, y := (c.X-0.5)*w, c.Y*h
		z := x * math.Sin(yaw)
		x *= math.Cos(yaw)
		x, y = x*f/(f+z), y*f/(f+z)
		q[i] = Rotate(tilt).Then(Translate(pivot.X, pivot.Y)).Apply(Pt{x, y})
	}
	return q
}

var strapColours = []color.RGBA{nhsBlue, {20, 20, 24, 255}, {0, 120, 60, 255}, {170, 20, 40, 255}, {90, 40, 130, 255}}

// drawLanyard draws two straps from the card's top corners to the neck.
func drawLanyard(img *image.RGBA, f image.Rectangle, q Quad, w float64, c color.RGBA) {
	t := math.Max(1.5, 0.08*w)
	neckY := float64(f.Max.Y) + 0.15*float64(f.Dy())
	cx := float64(f.Min.X+f.Max.X) / 2
	half := 0.3 * float64(f.Dx())
	topMid := Pt{(q[0].X + q[1].X) / 2, (q[0].Y + q[1].Y) / 2}
	for _, s := range []float64{-1, 1} {
		thickLine(img, Pt{topMid.X + s*0.12*w, topMid.Y + 0.02*w}, Pt{cx + s*half, neckY}, t, c)
	}
}

// drawClip draws a clip and a short reel strap over the card's top edge.
func drawClip(img *image.RGBA, q Quad, w float64) {
	topMid := Pt{(q[0].X + q[1].X) / 2, (q[0].Y + q[1].Y) / 2}
	thickLine(img, Pt{topMid.X, topMid.Y - 0.25*w}, Pt{topMid.X, topMid.Y + 0.06*w}, math.Max(1.5, 0.12*w), color.RGBA{150, 150, 155, 255})
}

// thickLine paints the segment a-b with thickness t, anti-aliased by
// distance.
func thickLine(img *image.RGBA, a, b Pt, t float64, c color.RGBA) {
	r := image.Rect(int(math.Min(a.X, b.X)-t), int(math.Min(a.Y, b.Y)-t), int(math.Max(a.X, b.X)+t)+1, int(math.Max(a.Y, b.Y)+t)+1).Intersect(img.Rect)
	dx, dy := b.X-a.X, b.Y-a.Y
	l2 := dx*dx + dy*dy
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			s := 0.0
			if l2 > 0 {
				s = math.Max(0, math.Min(1, ((px-a.X)*dx+(py-a.Y)*dy)/l2))
			}
			d := math.Hypot(px-a.X-s*dx, py-a.Y-s*dy)
			cov := math.Max(0, math.Min(1, t/2-d+0.5))
			if cov == 0 {
				continue
			}
			o := img.PixOffset(x, y)
			for k, v := range [3]uint8{c.R, c.G, c.B} {
				img.Pix[o+k] = clamp8(cov*float64(v) + (1-cov)*float64(img.Pix[o+k]))
			}
		}
	}
}
