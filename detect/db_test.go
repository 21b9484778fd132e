package detect

import (
	"image"
	"math"
	"testing"
)

// probRect is a w×h map of background bg with rectangle r set to v.
func probRect(w, h int, bg, v float32, r image.Rectangle) []float32 {
	m := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m[y*w+x] = bg
			if image.Pt(x, y).In(r) {
				m[y*w+x] = v
			}
		}
	}
	return m
}

func TestDBBitmap(t *testing.T) {
	got := dbBitmap([]float32{0, 0.3, 0.30001, 0.9}, 0.3)
	want := []byte{0, 0, 255, 255}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dbBitmap = %v, want %v", got, want)
		}
	}
}

func TestPolygonMean(t *testing.T) {
	const w, h = 40, 30
	prob := probRect(w, h, 0.1, 0.9, image.Rect(10, 10, 30, 20))
	tests := []struct {
		name string
		poly []image.Point
		want float64
	}{
		{"exactly the text rectangle", []image.Point{{10, 10}, {29, 10}, {29, 19}, {10, 19}}, 0.9},
		{"twice as wide: half text", []image.Point{{0, 10}, {39, 10}, {39, 19}, {0, 19}}, 0.5},
		{"diamond inside the text", []image.Point{{20, 11}, {28, 15}, {20, 18}, {12, 15}}, 0.9},
		{"all background", []image.Point{{0, 0}, {5, 0}, {5, 5}, {0, 5}}, 0.1},
		{"clipped to the map", []image.Point{{-10, -10}, {5, -10}, {5, 5}, {-10, 5}}, 0.1},
		{"degenerate", []image.Point{{1, 1}, {2, 2}}, 0},
	}
	for _, tc := range tests {
		if got := polygonMean(prob, w, h, tc.poly); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: polygonMean = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestInsidePolygon(t *testing.T) {
	tri := []image.Point{{0, 0}, {10, 0}, {0, 10}}
	tests := []struct {
		x, y float64
		want bool
	}{
		{1, 1, true}, {5, 5, true} /* on the hypotenuse */, {6, 6, false}, {0, 5, true}, {-1, 5, false}, {11, 0, false},
	}
	for _, tc := range tests {
		if got := insidePolygon(tri, tc.x, tc.y); got != tc.want {
			t.Errorf("insidePolygon(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestUnclip(t *testing.T) {
	tests := []struct {
		w, h, ratio, want float64
	}{
		{100, 10, 1.5, 1000 * 1.5 / 220},
		{10, 10, 2, 200.0 / 40},
		{0, 10, 2, 0},
	}
	for _, tc := range tests {
		if got := unclipDistance(tc.w, tc.h, tc.ratio); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("unclipDistance(%v, %v, %v) = %v, want %v", tc.w, tc.h, tc.ratio, got, tc.want)
		}
	}
	// d = 100·10·1.5/220 = 6.8 → 7 px on every side.
	got := unclipRect(image.Rect(10, 20, 110, 30), 100, 10, 1.5)
	if want := image.Rect(3, 13, 117, 37); got != want {
		t.Errorf("unclipRect = %v, want %v", got, want)
	}
}

func TestMapToFrame(t *testing.T) {
	got := mapToFrame(image.Rect(10, 10, 20, 20), 544, 960, 608, 1080)
	want := image.Rect(11, 11, 23, 23) // ×1.1176 and ×1.125, outwards
	if got != want {
		t.Errorf("mapToFrame = %v, want %v", got, want)
	}
}

func TestTextInputSize(t *testing.T) {
	tests := []struct {
		w, h, max int
		want      image.Point
	}{
		{608, 1080, 960, image.Pt(544, 960)},
		{1920, 1080, 960, image.Pt(960, 544)},
		{640, 480, 960, image.Pt(640, 480)},
		{20, 20, 960, image.Pt(32, 32)},
		{100, 5000, 960, image.Pt(32, 960)},
		{1000, 1000, 100, image.Pt(96, 96)},
	}
	for _, tc := range tests {
		got := textInputSize(tc.w, tc.h, tc.max)
		if got != tc.want {
			t.Errorf("textInputSize(%d, %d, %d) = %v, want %v", tc.w, tc.h, tc.max, got, tc.want)
		}
		if got.X%32 != 0 || got.Y%32 != 0 || max(got.X, got.Y) > max(tc.max, 32) {
			t.Errorf("textInputSize(%d, %d, %d) = %v: not multiples of 32 within the cap", tc.w, tc.h, tc.max, got)
		}
	}
}
