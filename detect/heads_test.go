package detect

import (
	"errors"
	"image"
	"math"
	"strings"
	"testing"
)

// yoloxRow writes one anchor's 85 values into out.
func yoloxRow(out []float32, i int, dx, dy, lw, lh, obj float32, cls int, score float32) {
	v := out[i*yoloxStride : (i+1)*yoloxStride]
	v[0], v[1], v[2], v[3], v[4] = dx, dy, lw, lh, obj
	v[5+cls] = score
}

func TestYOLOXDecode(t *testing.T) {
	n := yoloxAnchors(yoloxSide)
	if n != 3549 {
		t.Fatalf("%d anchors for 416, want 3549", n)
	}
	out := make([]float32, n*yoloxStride)
	// Stride 8 grid is 52×52: anchor 52*3+10 is cell (10, 3).
	yoloxRow(out, 52*3+10, 0.5, 0.5, float32(math.Log(4)), float32(math.Log(8)), 0.9, yoloxPerson, 0.8)
	// Stride 32 starts after 52² + 26²; cell (2, 1) of the 13×13 grid.
	yoloxRow(out, 52*52+26*26+13+2, 0, 0, 0, 0, 0.5, yoloxPerson, 0.4) // score 0.2: below
	yoloxRow(out, 52*52+26*26+13+3, 0, 0, 0, 0, 0.9, 2, 0.9)           // a car
	yoloxRow(out, 5, float32(math.NaN()), 0, 0, 0, 0.9, yoloxPerson, 0.9)
	boxes, err := yoloxDecode(out, yoloxSide, yoloxPerson, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	// centre ((10+0.5)*8, (3+0.5)*8) = (84, 28), size 32×64.
	// (Rounded outwards: float32 exp(log 4) is a hair above 4.)
	want := image.Rect(68, -4, 100, 60)
	if len(boxes) != 1 || boxes[0].Label != LabelPerson || math.Abs(boxes[0].Score-0.72) > 1e-6 ||
		!want.In(boxes[0].Rect()) || !boxes[0].Rect().In(want.Inset(-1)) {
		t.Fatalf("decoded %v, want %v score 0.72", boxes, want)
	}
	// centre ((3+0)*32, (1+0)*32), size 32×32.
	if cars, _ := yoloxDecode(out, yoloxSide, 2, 0.25); len(cars) != 1 || !image.Rect(80, 16, 112, 48).In(cars[0].Rect().Inset(-1)) {
		t.Errorf("class 2: %v", cars)
	}
	if _, err := yoloxDecode(out[:100], yoloxSide, yoloxPerson, 0.25); err == nil {
		t.Error("short output accepted")
	}
	if _, err := yoloxDecode(out, yoloxSide, 80, 0.25); err == nil {
		t.Error("class 80 accepted")
	}
}

func FuzzYOLOXDecode(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, 0.25)
	f.Fuzz(func(t *testing.T, seed []byte, thresh float64) {
		n := yoloxAnchors(yoloxSide) * yoloxStride
		out := make([]float32, n)
		for i, b := range seed {
			out[(i*7919)%n] = float32(int8(b)) / 16
		}
		boxes, err := yoloxDecode(out, yoloxSide, yoloxPerson, thresh)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			if b.W < 1 || b.H < 1 || !(b.Score >= thresh) || b.Score > 1 {
				t.Fatalf("bad box %v", b)
			}
		}
	})
}

func TestPersonTiles(t *testing.T) {
	for _, tc := range []struct {
		w, h, n int
	}{{1280, 720, 2}, {1920, 1080, 2}, {608, 1080, 2}, {500, 375, 0}, {1000, 900, 0}, {416, 416, 0}, {3840, 720, 6}} {
		tiles := personTiles(tc.w, tc.h)
		if len(tiles) != tc.n {
			t.Errorf("%dx%d: %d tiles, want %d", tc.w, tc.h, len(tiles), tc.n)
		}
		var covered []image.Rectangle
		for _, r := range tiles {
			if r.Dx() != min(tc.w, tc.h) || r.Dy() != min(tc.w, tc.h) {
				t.Errorf("%dx%d: tile %v not square of the short side", tc.w, tc.h, r)
			}
			covered = append(covered, r)
		}
		if tc.n > 0 && UnionArea(covered) != tc.w*tc.h {
			t.Errorf("%dx%d: tiles %v leave part of the frame", tc.w, tc.h, tiles)
		}
	}
}

func TestHeadRegions(t *testing.T) {
	// Upright: the top of the box, full width, a little above it.
	r := headRegions(Box{X: 100, Y: 100, W: 50, H: 150})
	if len(r) != 1 || r[0].Min.X != 100 || r[0].Max.X != 150 || r[0].Min.Y >= 100 || r[0].Max.Y < 135 || r[0].Max.Y > 150 {
		t.Errorf("upright: %v", r)
	}
	// A thin whole body: deeper than 0.7 of the width.
	r = headRegions(Box{X: 0, Y: 0, W: 20, H: 100})
	if r[0].Max.Y < 22 {
		t.Errorf("thin upright: %v", r)
	}
	// Round: the top three quarters, covering the middle (seen from above).
	r = headRegions(Box{X: 0, Y: 0, W: 100, H: 100})
	if len(r) != 1 || !image.Pt(50, 50).In(r[0]) || r[0].Max.Y != 75 {
		t.Errorf("round: %v", r)
	}
	// Lying: both ends, the middle left alone.
	r = headRegions(Box{X: 0, Y: 0, W: 300, H: 100})
	if len(r) != 2 || r[0] != image.Rect(0, 0, 100, 100) || r[1] != image.Rect(200, 0, 300, 100) {
		t.Errorf("lying: %v", r)
	}
	if headRegions(Box{W: 0, H: 10}) != nil {
		t.Error("empty box has a head")
	}
}

func TestHeadsWithoutFaces(t *testing.T) {
	a := Box{X: 0, Y: 0, W: 60, H: 180, Score: 0.9, Label: LabelPerson}
	b := Box{X: 300, Y: 0, W: 60, H: 180, Score: 0.8, Label: LabelPerson}
	faceA := Box{X: 15, Y: 10, W: 30, H: 30, Score: 0.9, Label: LabelFace}
	heads := headsWithoutFaces([]Box{a, b}, []Box{faceA})
	if len(heads) != 1 || heads[0].X != 300 || heads[0].Label != LabelHead || heads[0].Score != 0.8 {
		t.Fatalf("face on a only: %v", heads)
	}
	if h := headsWithoutFaces([]Box{a, b}, nil); len(h) != 2 {
		t.Errorf("no faces: %v", h)
	}
	// Two people side by side, overlapping: a face midway between their
	// head regions is as much one's as the other's and excuses neither.
	c := Box{X: 30, Y: 0, W: 60, H: 180, Score: 0.7, Label: LabelPerson}
	mid := Box{X: 38, Y: 10, W: 14, H: 14, Label: LabelFace}
	if h := headsWithoutFaces([]Box{a, c}, []Box{mid}); len(h) != 2 {
		t.Errorf("ambiguous face excused someone: %v", h)
	}
	// A face in the middle of c's region and at the edge of a's is c's.
	own := Box{X: 53, Y: 10, W: 14, H: 14, Label: LabelFace}
	if h := headsWithoutFaces([]Box{a, c}, []Box{own}); len(h) != 1 || h[0].X != 0 {
		t.Errorf("c's face: %v", h)
	}
}

func TestHeadsConfig(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Heads != HeadsAuto || c.HeadsEvery != DefaultHeadsEvery || c.PersonThreshold != DefaultPersonThreshold {
		t.Errorf("defaults: %+v", c)
	}
	if s := c.String(); !strings.HasSuffix(s, " heads=auto heads_every=1 person_threshold=0.25 person_tiles=true") {
		t.Errorf("record: %s", s)
	}
	c, _ = Config{Heads: HeadsOff}.withDefaults()
	if s := c.String(); !strings.HasSuffix(s, " small_face_every=1 heads=off") {
		t.Errorf("record with heads off: %s", s)
	}
	for _, bad := range []Config{{Heads: "yes"}, {HeadsEvery: -1}, {PersonThreshold: 1.2}} {
		if _, err := bad.withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", bad, err)
		}
	}
}

func TestCutByTile(t *testing.T) {
	tile := image.Rect(560, 0, 1280, 720) // the right tile of a 720p frame
	for _, tc := range []struct {
		b   image.Rectangle
		cut bool
	}{
		{image.Rect(600, 100, 700, 400), false},
		{image.Rect(559, 100, 700, 400), true},  // reaches the inner edge
		{image.Rect(1100, 0, 1280, 720), false}, // frame edges are not cuts
	} {
		if got := cutByTile(tc.b, tile, 1280, 720); got != tc.cut {
			t.Errorf("%v: cut %v, want %v", tc.b, got, tc.cut)
		}
	}
}

// TestHeadsDuplicatePerson: the whole frame and a tile find one person
// twice (whole body, upper body): their face excuses both boxes.
func TestHeadsDuplicatePerson(t *testing.T) {
	whole := Box{X: -3, Y: 5, W: 619, H: 1065, Score: 0.93, Label: LabelPerson}
	upper := Box{X: 73, Y: -3, W: 535, H: 597, Score: 0.94, Label: LabelPerson}
	face := Box{X: 320, Y: -4, W: 281, H: 361, Score: 1, Label: LabelFace}
	if h := headsWithoutFaces([]Box{whole, upper}, []Box{face}); len(h) != 0 {
		t.Errorf("one person found twice with their face: heads %v", h)
	}
}
