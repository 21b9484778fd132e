package detect

import (
	"image"
	"math"
	"testing"
)

func TestPlanScales(t *testing.T) {
	tests := []struct {
		name          string
		w, h, minFace int
		r             faceRange
		ratio, maxUp  float64
		want          []float64
	}{
		// 20 px faces need 0.6 (to 12 px); a 1080 px face needs 300/1080.
		{"body camera frame, YuNet", 608, 1080, 20, faceRange{12, 300}, 3, 2, []float64{0.6, 300.0 / 1080}},
		{"4K frame needs a middle pass", 3840, 2160, 20, faceRange{12, 300}, 3, 2, []float64{0.6, 0.6 / math.Pow(0.6*3840/300, 0.5), 300.0 / 3840}},
		{"small photo runs once at native size", 250, 188, 20, faceRange{12, 300}, 3, 2, []float64{1}},
		{"one pass, native outside window", 400, 300, 40, faceRange{12, 300}, 3, 2, []float64{0.75}},
		{"upscaling capped", 640, 480, 6, faceRange{36, 260}, 2.5, 2, []float64{2, 2 / math.Pow(2*640/260.0, 1.0/2), 260.0 / 640}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := planScales(tc.w, tc.h, tc.minFace, tc.r, tc.ratio, tc.maxUp)
			if len(got) != len(tc.want) {
				t.Fatalf("planScales = %v, want %v", got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-9 {
					t.Errorf("planScales = %v, want %v", got, tc.want)
				}
				if i > 0 && got[i-1]/got[i] > tc.ratio+1e-9 {
					t.Errorf("passes %v and %v further apart than %v", got[i-1], got[i], tc.ratio)
				}
			}
		})
	}
	if got := planScales(0, 10, 20, faceRange{12, 300}, 3, 2); got != nil {
		t.Errorf("empty frame planned %v", got)
	}
}

func TestTileGrid(t *testing.T) {
	tests := []struct {
		w, h, tw, th, overlap int
		n                     int
	}{
		{320, 240, 320, 240, 50, 1},
		{100, 100, 320, 240, 50, 1},
		{540, 960, 320, 240, 84, 2 * 6},
		{1000, 240, 320, 240, 120, 5},
	}
	for _, tc := range tests {
		tiles := tileGrid(tc.w, tc.h, tc.tw, tc.th, tc.overlap)
		if len(tiles) != tc.n {
			t.Errorf("%dx%d in %dx%d tiles: %d tiles, want %d", tc.w, tc.h, tc.tw, tc.th, len(tiles), tc.n)
		}
		img := image.Rect(0, 0, tc.w, tc.h)
		if a := UnionArea(tiles); a != tc.w*tc.h {
			t.Errorf("%dx%d: tiles cover %d px, want %d", tc.w, tc.h, a, tc.w*tc.h)
		}
		for i, a := range tiles {
			if !a.In(img) || a.Dx() > tc.tw || a.Dy() > tc.th {
				t.Errorf("tile %v outside the image or larger than a tile", a)
			}
			// Neighbours overlap by at least the requested amount.
			for _, b := range tiles[i+1:] {
				if a.Min.Y == b.Min.Y && b.Min.X > a.Min.X && b.Min.X < a.Max.X && a.Max.X-b.Min.X < tc.overlap {
					t.Errorf("tiles %v and %v overlap by %d < %d", a, b, a.Max.X-b.Min.X, tc.overlap)
				}
				if a.Min.X == b.Min.X && b.Min.Y > a.Min.Y && b.Min.Y < a.Max.Y && a.Max.Y-b.Min.Y < tc.overlap {
					t.Errorf("tiles %v and %v overlap by %d < %d", a, b, a.Max.Y-b.Min.Y, tc.overlap)
				}
			}
		}
	}
}

func TestScaleBox(t *testing.T) {
	b := Box{X: 10, Y: 20, W: 30, H: 40, Score: 0.7, Label: LabelFace}
	got := scaleBox(b, image.Pt(5, 5), 0.5, 0.25)
	want := Box{X: 30, Y: 100, W: 60, H: 160, Score: 0.7, Label: LabelFace}
	if got != want {
		t.Errorf("scaleBox = %+v, want %+v", got, want)
	}
	if got := scaleBox(Box{X: 1, Y: 1, W: 1, H: 1}, image.Point{}, 3, 3); got.Rect() != image.Rect(0, 0, 1, 1) {
		t.Errorf("scaleBox does not round outwards: %v", got.Rect())
	}
}

func TestInFrame(t *testing.T) {
	in := []Box{{X: -10, Y: -10, W: 20, H: 20}, {X: 100, Y: 0, W: 10, H: 10}, {X: 5, Y: 5, W: 0, H: 4}}
	got := inFrame(in, 100, 100)
	if len(got) != 1 || got[0].Rect() != image.Rect(-10, -10, 10, 10) {
		t.Errorf("inFrame = %v, want the box crossing the edge, unclipped", got)
	}
}

func TestBandMax(t *testing.T) {
	if got := bandMax(faceRange{12, 300}, 2); got != 72 {
		t.Errorf("bandMax = %v, want 72", got)
	}
	if got := bandMax(faceRange{12, 100}, 5); got != 100 {
		t.Errorf("bandMax = %v, want the range max 100", got)
	}
}
