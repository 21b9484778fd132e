package detect

import (
	"image"
	"math"
	"testing"
)

func TestExpand(t *testing.T) {
	frame := image.Rect(0, 0, 100, 80)
	tests := []struct {
		name   string
		in     Box
		margin float64
		bounds image.Rectangle
		want   image.Rectangle
	}{
		{"20% each side", Box{X: 10, Y: 10, W: 10, H: 20}, 0.2, frame, image.Rect(8, 6, 22, 34)},
		{"rounds outwards", Box{X: 10, Y: 10, W: 7, H: 7}, 0.2, frame, image.Rect(8, 8, 19, 19)},
		{"clipped to frame", Box{X: 0, Y: 70, W: 20, H: 20}, 0.2, frame, image.Rect(0, 66, 24, 80)},
		{"no bounds, no clip", Box{X: 0, Y: 0, W: 10, H: 10}, 0.5, image.Rectangle{}, image.Rect(-5, -5, 15, 15)},
		{"zero margin", Box{X: 3, Y: 4, W: 5, H: 6}, 0, frame, image.Rect(3, 4, 8, 10)},
		{"negative margin is zero", Box{X: 3, Y: 4, W: 5, H: 6}, -1, frame, image.Rect(3, 4, 8, 10)},
		{"outside frame is empty", Box{X: 200, Y: 200, W: 5, H: 5}, 0.2, frame, image.Rectangle{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Expand(tc.in, tc.margin, tc.bounds)
			if got.Rect() != tc.want && !(got.Area() == 0 && tc.want.Empty()) {
				t.Errorf("Expand(%+v, %v) = %v, want %v", tc.in, tc.margin, got.Rect(), tc.want)
			}
			if got.Score != tc.in.Score || got.Label != tc.in.Label {
				t.Errorf("score/label not kept: %+v", got)
			}
		})
	}
	if got := ExpandAll([]Box{{X: 200, Y: 200, W: 5, H: 5}, {X: 1, Y: 1, W: 5, H: 5}}, 0.2, frame); len(got) != 1 {
		t.Errorf("ExpandAll kept %d boxes, want the 1 inside the frame", len(got))
	}
}

func TestIoU(t *testing.T) {
	tests := []struct {
		a, b Box
		want float64
	}{
		{Box{W: 10, H: 10}, Box{W: 10, H: 10}, 1},
		{Box{W: 10, H: 10}, Box{X: 5, W: 10, H: 10}, 50.0 / 150},
		{Box{W: 10, H: 10}, Box{X: 10, W: 10, H: 10}, 0},
		{Box{W: 10, H: 10}, Box{X: 2, Y: 2, W: 5, H: 5}, 0.25},
		{Box{}, Box{}, 0},
	}
	for _, tc := range tests {
		if got := IoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("IoU(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNMS(t *testing.T) {
	f := func(x, y, w, h int, s float64) Box { return Box{X: x, Y: y, W: w, H: h, Score: s, Label: LabelFace} }
	tests := []struct {
		name string
		in   []Box
		want []Box
	}{
		{"duplicate suppressed, best kept",
			[]Box{f(0, 0, 10, 10, 0.6), f(1, 1, 10, 10, 0.9)},
			[]Box{f(1, 1, 10, 10, 0.9)}},
		{"separate faces kept, by score",
			[]Box{f(0, 0, 10, 10, 0.6), f(50, 0, 10, 10, 0.9)},
			[]Box{f(50, 0, 10, 10, 0.9), f(0, 0, 10, 10, 0.6)}},
		{"low overlap kept",
			[]Box{f(0, 0, 10, 10, 0.9), f(7, 0, 10, 10, 0.8)},
			[]Box{f(0, 0, 10, 10, 0.9), f(7, 0, 10, 10, 0.8)}},
		{"box inside a kept one dropped",
			[]Box{f(0, 0, 40, 40, 0.9), f(5, 5, 10, 10, 0.95), f(10, 10, 10, 10, 0.5)},
			[]Box{f(5, 5, 10, 10, 0.95), f(0, 0, 40, 40, 0.9)}},
		{"labels never suppress each other",
			[]Box{f(0, 0, 10, 10, 0.9), {X: 0, Y: 0, W: 10, H: 10, Score: 0.5, Label: LabelText}},
			[]Box{f(0, 0, 10, 10, 0.9), {X: 0, Y: 0, W: 10, H: 10, Score: 0.5, Label: LabelText}}},
		{"empty boxes dropped", []Box{f(0, 0, 0, 10, 0.9)}, []Box{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Box(nil), tc.in...)
			got := NMS(in, 0.4)
			if len(got) != len(tc.want) {
				t.Fatalf("NMS = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("NMS[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatal("NMS modified its input")
				}
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	target := image.Rect(0, 0, 10, 10)
	tests := []struct {
		name  string
		masks []image.Rectangle
		want  float64
	}{
		{"none", nil, 0},
		{"all", []image.Rectangle{image.Rect(-5, -5, 20, 20)}, 1},
		{"left half", []image.Rectangle{image.Rect(0, 0, 5, 10)}, 0.5},
		{"overlapping masks count once", []image.Rectangle{image.Rect(0, 0, 6, 10), image.Rect(4, 0, 8, 10)}, 0.8},
		{"disjoint pieces add", []image.Rectangle{image.Rect(0, 0, 10, 2), image.Rect(0, 8, 10, 10)}, 0.4},
		{"corner", []image.Rectangle{image.Rect(5, 5, 50, 50)}, 0.25},
		{"outside", []image.Rectangle{image.Rect(20, 20, 30, 30)}, 0},
	}
	for _, tc := range tests {
		if got := Coverage(target, tc.masks); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Coverage = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := Coverage(image.Rectangle{}, []image.Rectangle{target}); got != 0 {
		t.Errorf("Coverage of an empty target = %v, want 0", got)
	}
}

func TestUnionArea(t *testing.T) {
	tests := []struct {
		rects []image.Rectangle
		want  int
	}{
		{nil, 0},
		{[]image.Rectangle{image.Rect(0, 0, 10, 10)}, 100},
		{[]image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(0, 0, 10, 10)}, 100},
		{[]image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(5, 5, 15, 15)}, 175},
		{[]image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(20, 20, 30, 30)}, 200},
		{[]image.Rectangle{image.Rect(0, 0, 30, 10), image.Rect(10, -10, 20, 20)}, 300 + 200},
		{[]image.Rectangle{{}, image.Rect(0, 0, 2, 2)}, 4},
	}
	for _, tc := range tests {
		if got := UnionArea(tc.rects); got != tc.want {
			t.Errorf("UnionArea(%v) = %d, want %d", tc.rects, got, tc.want)
		}
	}
}
