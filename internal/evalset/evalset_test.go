package evalset

import (
	"image"
	"math"
	"os"
	"testing"
)

func TestQuadToQuadRoundTrip(t *testing.T) {
	src := Quad{{0, 0}, {100, 0}, {100, 50}, {0, 50}}
	dst := Quad{{10, 5}, {80, 0}, {95, 60}, {3, 40}}
	h, err := QuadToQuad(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := h.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	for i := range src {
		p := h.Apply(src[i])
		if math.Hypot(p.X-dst[i].X, p.Y-dst[i].Y) > 1e-9 {
			t.Errorf("corner %d: %v, want %v", i, p, dst[i])
		}
		b := inv.Apply(p)
		if math.Hypot(b.X-src[i].X, b.Y-src[i].Y) > 1e-9 {
			t.Errorf("inverse of corner %d: %v", i, b)
		}
	}
	if _, err := QuadToQuad(src, Quad{{0, 0}, {1, 1}, {2, 2}, {3, 3}}); err == nil {
		t.Error("collinear corners accepted")
	}
}

// A turned image's pixels and a turned box agree: the pixel at a box's
// top-left corner lands at the turned box's matching corner.
func TestTurnMapsBoxes(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 7, 4))
	img.Pix[img.PixOffset(2, 1)] = 255
	for q := 1; q <= 3; q++ {
		out, hm := turn(img, q)
		box := RectQuad(image.Rect(2, 1, 3, 2)).Map(hm.Apply).Bounds()
		if box.Dx() != 1 || box.Dy() != 1 || out.Pix[out.PixOffset(box.Min.X, box.Min.Y)] != 255 {
			t.Errorf("quarter turns %d: marked pixel not at %v", q, box)
		}
	}
}

func TestScore(t *testing.T) {
	face := Truth{Kind: KindFace, Quad: RectQuad(image.Rect(10, 10, 30, 30))}
	card := Truth{Kind: KindBadge, Quad: RectQuad(image.Rect(50, 50, 70, 60))}
	cases := []struct {
		name          string
		masks         []Mask
		face, badge   float64
		prec, maxArea float64
	}{
		{"nothing", nil, 0, 0, 1, math.NaN()},
		{"exact boxes", []Mask{{Rect: image.Rect(10, 10, 30, 30)}, {Rect: image.Rect(50, 50, 70, 60)}}, 1, 1, 1, 1},
		// The ellipse inscribed in the face box leaves its corners (21%).
		{"inscribed ellipse", []Mask{{Rect: image.Rect(10, 10, 30, 30), Ellipse: true}}, 1, 0, 1, math.NaN()},
		{"left 60% of the face", []Mask{{Rect: image.Rect(10, 10, 22, 30)}}, 0, 0, 1, math.NaN()},
		{"card 85% hidden", []Mask{{Rect: image.Rect(50, 50, 67, 60)}}, 0, 0, 1, math.NaN()},
		{"card 95% hidden", []Mask{{Rect: image.Rect(50, 50, 69, 60)}}, 0, 1, 1, 0.95},
		{"torso", []Mask{{Rect: image.Rect(40, 40, 100, 100)}}, 0, 1, 1, 18},
		{"elsewhere", []Mask{{Rect: image.Rect(80, 0, 99, 20)}}, 0, 0, 0, math.NaN()},
	}
	for _, c := range cases {
		var r Result
		r.Add("x", 100, 100, []Truth{face, card}, c.masks)
		if got := r.Recall(KindFace); got != c.face {
			t.Errorf("%s: face recall %v, want %v", c.name, got, c.face)
		}
		if got := r.Recall(KindBadge); got != c.badge {
			t.Errorf("%s: badge recall %v, want %v", c.name, got, c.badge)
		}
		if got := r.Precision(); got != c.prec {
			t.Errorf("%s: precision %v, want %v", c.name, got, c.prec)
		}
		_, worst := r.AreaRatio()
		if !(math.IsNaN(worst) && math.IsNaN(c.maxArea)) && math.Abs(worst-c.maxArea) > 1e-9 {
			t.Errorf("%s: area ratio %v, want %v", c.name, worst, c.maxArea)
		}
	}
	// The ellipse inscribed in the box covers pi/4 of it.
	var r Result
	r.Add("x", 100, 100, nil, []Mask{{Rect: image.Rect(0, 0, 100, 100), Ellipse: true}})
	if m := r.Masked(); math.Abs(m-math.Pi/4) > 0.01 {
		t.Errorf("ellipse masks %.3f of the frame", m)
	}
}

func testOptions(t *testing.T) Options {
	o := Options{Cache: t.TempDir()}.withDefaults()
	if _, err := os.Stat(o.Shared); err != nil {
		t.Fatalf("shared material missing: %v (see ../shared/README.md)", err)
	}
	return o
}

// Every face variant carries all the faces of its split, inside the image,
// and keeps its size.
func TestFaceVariants(t *testing.T) {
	o := testOptions(t)
	for _, split := range []Split{Tuning, Reporting} {
		want := map[Split]int{Tuning: 18, Reporting: 25}[split]
		for _, v := range FaceVariants {
			s, err := Faces(o, split, v)
			if err != nil {
				t.Fatal(err)
			}
			n := want
			if v == VariantQuarterTurn {
				n *= 2
			}
			if v == VariantSmall {
				n *= len(SmallSides)
			}
			if got := s.Count(KindFace); got != n {
				t.Errorf("%s %s: %d faces, want %d", split, v, got, n)
			}
			for _, it := range s.Items {
				for _, tr := range it.Truth {
					if b := tr.Quad.Bounds(); !b.In(image.Rect(0, 0, it.Width, it.Height)) {
						t.Errorf("%s %s %s: face %v outside the %dx%d image", split, v, it.Path, b, it.Width, it.Height)
					}
					if v == VariantSmall && (tr.Quad.Side() < 11.5 || tr.Quad.Side() > 41) {
						t.Errorf("small face of side %.1f", tr.Quad.Side())
					}
				}
				if _, err := os.Stat(it.Path); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

func TestCardQuad(t *testing.T) {
	q := cardQuad(40, 60, Pt{100, 50}, 0, 0)
	want := Quad{{80, 50}, {120, 50}, {120, 110}, {80, 110}}
	for i := range q {
		if math.Hypot(q[i].X-want[i].X, q[i].Y-want[i].Y) > 1e-9 {
			t.Fatalf("flat card: %v, want %v", q, want)
		}
	}
	// Turned by 50°: narrower, the near side taller than the far side.
	q = cardQuad(40, 60, Pt{100, 50}, 0, 50*math.Pi/180)
	if w := q.Width(); w > 40*math.Cos(50*math.Pi/180)*1.1 || w < 20 {
		t.Errorf("turned card %.1f px wide", w)
	}
	left, right := q[3].Y-q[0].Y, q[2].Y-q[1].Y
	if left <= right {
		t.Errorf("turned card: the side turned towards the camera (%.1f) is not taller than the far one (%.1f)", left, right)
	}
}

func TestBounce(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{{0, 0}, {50, 50}, {100, 100}, {130, 70}, {200, 0}, {230, 30}} {
		if got := bounce(c.x, 100); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("bounce(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestSmoothTrack(t *testing.T) {
	r := image.Rect(10, 10, 30, 30)
	faces := [][]image.Rectangle{nil, {image.Rect(0, 0, 2, 2), r}, nil, {r}, nil}
	got := smoothTrack(faces, 1)
	for i, g := range got {
		if g != r {
			t.Errorf("frame %d: %v, want the largest face held and averaged: %v", i, g, r)
		}
	}
	if smoothTrack([][]image.Rectangle{nil, nil}, 2) != nil {
		t.Error("a track from no faces")
	}
}

// A face found in the source lands where the variant shows it: for the
// quarter turn, at the turned position.
func TestClipTruthMapsViews(t *testing.T) {
	_, hm := turn(image.NewRGBA(image.Rect(0, 0, 608, 1080)), 1)
	c := &Clip{Width: 1080, Height: 608, Frames: 10, Views: []Homography{hm}}
	tr := c.Truth(3, []image.Rectangle{image.Rect(100, 200, 150, 260)})
	if len(tr) != 1 || tr[0].Quad.Bounds() != image.Rect(1080-260, 100, 1080-200, 150) {
		t.Errorf("turned truth %v", tr)
	}
	if !c.InSplit(5, Reporting) || c.InSplit(4, Reporting) || !c.InSplit(4, Tuning) {
		t.Error("split halves wrong")
	}
	// Faces mostly outside the picture are dropped.
	c.Views = []Homography{Translate(-140, 0)}
	if tr := c.Truth(0, []image.Rectangle{image.Rect(100, 0, 150, 50)}); len(tr) != 0 {
		t.Errorf("face outside the picture kept: %v", tr)
	}
}

// The badge pictures carry cards of every size bucket, pose and mount, each
// inside its picture and clear of every face.
func TestBadges(t *testing.T) {
	for _, split := range []Split{Tuning, Reporting} {
		s, err := Badges(Options{}, split)
		if err != nil {
			t.Fatal(err)
		}
		tags := map[string]int{}
		for _, it := range s.Items {
			frame := image.Rect(0, 0, it.Width, it.Height)
			for _, tr := range it.Truth {
				if !tr.Quad.Bounds().In(frame) {
					t.Errorf("%s: %s %v outside %v", it.Path, tr.Kind, tr.Quad.Bounds(), frame)
				}
				if tr.Kind != KindBadge {
					continue
				}
				for _, tg := range tr.Tags {
					tags[tg]++
				}
				for _, f := range it.Truth {
					if f.Kind == KindFace && f.Quad.Bounds().Overlaps(tr.Quad.Bounds()) {
						t.Errorf("%s: card %v covers face %v", it.Path, tr.Quad.Bounds(), f.Quad.Bounds())
					}
				}
			}
		}
		for _, tg := range append(append(append([]string{}, BadgeSizeTags...), BadgePoseTags...), "lanyard", "clip") {
			if tags[tg] < 4 {
				t.Errorf("%s: %d cards tagged %s", split, tags[tg], tg)
			}
		}
		t.Logf("%s: %d cards on %d pictures: %v", split, s.Count(KindBadge), len(s.Items), tags)
	}
}
