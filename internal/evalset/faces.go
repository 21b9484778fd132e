package evalset

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
)

// Face variants: the dlib photos as they are, and made hard in the ways
// hospital footage is.
const (
	// VariantOriginal is the photos unchanged (faces 37 to 109 px).
	VariantOriginal = "original"
	// VariantSmall pastes shrunken copies of each photo on a 1920×1080
	// room, faces 12 to 40 px (distant people, CCTV).
	VariantSmall = "small"
	// VariantQuarterTurn turns each photo a quarter turn each way
	// (patients lying down, a camera on its side).
	VariantQuarterTurn = "quarter-turn"
	// VariantHalfTurn turns each photo upside down.
	VariantHalfTurn = "half-turn"
	// VariantDark is a dim ward at night: gamma 2.2, a third of the
	// light, sensor noise.
	VariantDark = "dark"
	// VariantBlur is linear motion blur over 9 px at a random angle.
	VariantBlur = "motion-blur"
	// VariantJPEG is JPEG at quality 10.
	VariantJPEG = "jpeg-q10"
	// VariantTopDown is a perspective warp as a ceiling camera sees a
	// room: squashed to half the height, the far side narrower.
	VariantTopDown = "top-down"
)

// FaceVariants lists every face variant in report order.
var FaceVariants = []string{VariantOriginal, VariantSmall, VariantQuarterTurn, VariantHalfTurn,
	VariantDark, VariantBlur, VariantJPEG, VariantTopDown}

// SmallSides are the face sides, in pixels, the small variant shrinks each
// photo's median face to (as near as keeps all its faces within 12 to 40 px).
var SmallSides = []float64{12, 14, 16, 20, 24, 32, 40}

// SizeTag names the size bucket of a face of this side.
func SizeTag(side float64) string {
	switch {
	case side < 12:
		return "<12px"
	case side < 16:
		return "12-16px"
	case side < 24:
		return "16-24px"
	case side < 40:
		return "24-40px"
	case side < 80:
		return "40-80px"
	}
	return "80px+"
}

// SizeTags lists the size buckets in order.
var SizeTags = []string{"<12px", "12-16px", "16-24px", "24-40px", "40-80px", "80px+"}

// Faces returns a face variant of one split, generating it into the cache
// on first use.
func Faces(o Options, split Split, variant string) (*Set, error) {
	o = o.withDefaults()
	photos, err := Photos(o.Shared, split)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Cache, fmt.Sprintf("v%d", Version), "faces", string(split), variant)
	want := Set{Version: Version, Category: "faces", Variant: variant, Split: split}
	switch variant {
	case VariantSmall:
		return cached(dir, want, func(tmp string) ([]Still, error) { return smallFaces(tmp, photos, split) })
	case VariantOriginal, VariantQuarterTurn, VariantHalfTurn, VariantDark, VariantBlur, VariantJPEG, VariantTopDown:
		return cached(dir, want, func(tmp string) ([]Still, error) { return perPhoto(tmp, photos, variant) })
	}
	return nil, fmt.Errorf("evalset: unknown face variant %q (want one of %v)", variant, FaceVariants)
}

// transformed is one output image of a per-photo variant: the image, the
// map from the photo's coordinates to it, and the JPEG quality to store it
// at (0: PNG).
type transformed struct {
	img  *image.RGBA
	hm   Homography
	tag  string
	jpeg int
}

func perPhoto(dir string, photos []Photo, variant string) ([]Still, error) {
	var out []Still
	for _, ph := range photos {
		img, err := readImage(ph.Path)
		if err != nil {
			return nil, err
		}
		rng := seeded("faces", variant, ph.File)
		ts, err := transform(img, variant, rng)
		if err != nil {
			return nil, err
		}
		for i, t := range ts {
			name := fmt.Sprintf("%s-%d.png", ph.File[:len(ph.File)-len(filepath.Ext(ph.File))], i)
			if t.jpeg > 0 {
				name = name[:len(name)-4] + ".jpg"
			}
			if err := writeImage(filepath.Join(dir, name), t.img, t.jpeg); err != nil {
				return nil, err
			}
			st := Still{Path: name, Width: t.img.Rect.Dx(), Height: t.img.Rect.Dy(), Source: ph.File + " " + variant}
			for _, f := range ph.Faces {
				q := RectQuad(f).Map(t.hm.Apply)
				tags := []string{SizeTag(q.Side())}
				if t.tag != "" {
					tags = append(tags, t.tag)
				}
				st.Truth = append(st.Truth, Truth{Kind: KindFace, Quad: q, Tags: tags, Note: ph.File})
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func transform(img *image.RGBA, variant string, rng *rand.Rand) ([]transformed, error) {
	switch variant {
	case VariantOriginal:
		return []transformed{{img: img, hm: Identity}}, nil
	case VariantQuarterTurn:
		cw, hcw := turn(img, 1)
		ccw, hccw := turn(img, 3)
		return []transformed{{img: cw, hm: hcw, tag: "clockwise"}, {img: ccw, hm: hccw, tag: "anticlockwise"}}, nil
	case VariantHalfTurn:
		t, h := turn(img, 2)
		return []transformed{{img: t, hm: h}}, nil
	case VariantDark:
		return []transformed{{img: darken(img, 2.2, 0.35, 5, rng), hm: Identity}}, nil
	case VariantBlur:
		return []transformed{{img: motionBlur(img, 9, rng.Float64()*math.Pi), hm: Identity}}, nil
	case VariantJPEG:
		return []transformed{{img: img, hm: Identity, jpeg: 10}}, nil
	case VariantTopDown:
		out, hm, err := topDown(img)
		return []transformed{{img: out, hm: hm}}, err
	}
	return nil, fmt.Errorf("evalset: unknown face variant %q", variant)
}

// TopDown is the ceiling-camera warp: the top edge (the far side) narrows
// to 60% of the width and the height shrinks to half (faces foreshortened
// as from a camera some 30° above them).
const (
	topDownFar    = 0.60
	topDownHeight = 0.50
)

// topDownWarp is the homography of the ceiling-camera view of a w×h image,
// and the output size.
func topDownWarp(w, h float64) (Homography, int, int, error) {
	ow, oh := w, math.Round(h*topDownHeight)
	inset := w * (1 - topDownFar) / 2
	hm, err := QuadToQuad(Quad{{0, 0}, {w, 0}, {w, h}, {0, h}}, Quad{{inset, 0}, {w - inset, 0}, {ow, oh}, {0, oh}})
	return hm, int(ow), int(oh), err
}

func topDown(img *image.RGBA) (*image.RGBA, Homography, error) {
	hm, w, h, err := topDownWarp(float64(img.Rect.Dx()), float64(img.Rect.Dy()))
	if err != nil {
		return nil, hm, err
	}
	out, err := warpImage(img, hm, w, h, color.RGBA{40, 40, 40, 255})
	return out, hm, err
}

// smallFaces shrinks every photo of the split so that its median face is
// each of SmallSides, and packs the copies onto 1920×1080 rooms, left to
// right in rows, largest first.
func smallFaces(dir string, photos []Photo, split Split) ([]Still, error) {
	type piece struct {
		img   *image.RGBA
		faces []Quad
		src   string
	}
	var pieces []piece
	for _, ph := range photos {
		img, err := readImage(ph.Path)
		if err != nil {
			return nil, err
		}
		lo, med, hi := sides(ph.Faces)
		for _, side := range SmallSides {
			// Every face between 12 and 40 px, the median near side.
			s := min(max(side/med, 12/lo), 40/hi)
			w, h := int(math.Round(float64(img.Rect.Dx())*s)), int(math.Round(float64(img.Rect.Dy())*s))
			sx, sy := float64(w)/float64(img.Rect.Dx()), float64(h)/float64(img.Rect.Dy())
			p := piece{img: resize(img, w, h), src: fmt.Sprintf("%s@%gpx", ph.File, side)}
			for _, f := range ph.Faces {
				p.faces = append(p.faces, RectQuad(f).Map(Scale(sx, sy).Apply))
			}
			pieces = append(pieces, p)
		}
	}
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].img.Rect.Dy() > pieces[j].img.Rect.Dy() })
	const cw, ch, gap = 1920, 1080, 16
	var out []Still
	var canvas *image.RGBA
	var st *Still
	x, y, rowH := gap, gap, 0
	flush := func() error {
		if canvas == nil {
			return nil
		}
		addNoise(canvas, 2, seeded("small", string(split), st.Path))
		if err := writeImage(filepath.Join(dir, st.Path), canvas, 0); err != nil {
			return err
		}
		out = append(out, *st)
		canvas = nil
		return nil
	}
	for _, p := range pieces {
		pw, ph := p.img.Rect.Dx(), p.img.Rect.Dy()
		if canvas != nil && x+pw+gap > cw {
			x, y, rowH = gap, y+rowH+gap, 0
		}
		if canvas != nil && y+ph+gap > ch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if canvas == nil {
			name := fmt.Sprintf("room-%d.png", len(out))
			canvas = background(cw, ch, seeded("room", string(split), name))
			st = &Still{Path: name, Width: cw, Height: ch, Source: "small faces on a room"}
			x, y, rowH = gap, gap, 0
		}
		draw.Draw(canvas, image.Rect(x, y, x+pw, y+ph), p.img, image.Point{}, draw.Src)
		for _, q := range p.faces {
			q = q.Map(Translate(float64(x), float64(y)).Apply)
			st.Truth = append(st.Truth, Truth{Kind: KindFace, Quad: q, Tags: []string{SizeTag(q.Side())}, Note: p.src})
		}
		x += pw + gap
		rowH = max(rowH, ph)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// sides returns the smallest, median and largest face side.
func sides(faces []image.Rectangle) (lo, med, hi float64) {
	s := make([]float64, len(faces))
	for i, f := range faces {
		s[i] = math.Sqrt(float64(f.Dx() * f.Dy()))
	}
	sort.Float64s(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}
