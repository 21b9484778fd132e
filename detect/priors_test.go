package detect

import (
	"math"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-5 }

func TestYuNetPriors(t *testing.T) {
	// Counts are the row counts the real network outputs for these input
	// sizes (checked against OpenCV in TestYuNetAnchorsMatchNetwork).
	tests := []struct {
		w, h, n int
	}{
		{320, 320, 5875},
		{608, 1080, 37558},
		{640, 1088, 39950},
		{300, 533, 8898},
	}
	for _, tc := range tests {
		if got := len(yunetPriors(tc.w, tc.h)); got != tc.n {
			t.Errorf("yunetPriors(%d, %d): %d anchors, want %d", tc.w, tc.h, got, tc.n)
		}
	}
	p := yunetPriors(320, 320)
	first := prior{cx: 4.0 / 320, cy: 4.0 / 320, w: 10.0 / 320, h: 10.0 / 320}
	third := prior{cx: 4.0 / 320, cy: 4.0 / 320, w: 24.0 / 320, h: 24.0 / 320}
	fourth := prior{cx: 12.0 / 320, cy: 4.0 / 320, w: 10.0 / 320, h: 10.0 / 320}
	last := prior{cx: 4.5 * 64 / 320, cy: 4.5 * 64 / 320, w: 256.0 / 320, h: 256.0 / 320}
	for _, c := range []struct {
		i    int
		want prior
	}{{0, first}, {2, third}, {3, fourth}, {len(p) - 1, last}} {
		g := p[c.i]
		if !near(g.cx, c.want.cx) || !near(g.cy, c.want.cy) || !near(g.w, c.want.w) || !near(g.h, c.want.h) {
			t.Errorf("prior %d = %+v, want %+v", c.i, g, c.want)
		}
	}
}

func TestYuNetDecode(t *testing.T) {
	const w, h = 320, 240
	priors := []prior{{cx: 0.5, cy: 0.5, w: 0.1, h: 0.2}} // 32×48 px centred at (160,120)
	tests := []struct {
		name      string
		loc       [4]float32
		cls, iou  float32
		want      Box
		wantNone  bool
		threshold float64
	}{
		{"zero deltas give the anchor", [4]float32{}, 0.81, 1, Box{X: 144, Y: 96, W: 32, H: 48, Score: 0.9}, false, 0.5},
		{"centre shift by variance 0.1", [4]float32{10, -5}, 0.81, 1, Box{X: 176, Y: 72, W: 32, H: 48, Score: 0.9}, false, 0.5},
		{"width variance 0.1, height 0.2", [4]float32{0, 0, float32(math.Ln2 / 0.1), float32(math.Ln2 / 0.2)}, 1, 1,
			Box{X: 128, Y: 72, W: 64, H: 96, Score: 1}, false, 0.5},
		{"iou above 1 clamps", [4]float32{}, 0.64, 1.7, Box{X: 144, Y: 96, W: 32, H: 48, Score: 0.8}, false, 0.5},
		{"negative iou clamps to 0", [4]float32{}, 0.99, -0.3, Box{}, true, 0.5},
		{"below threshold", [4]float32{}, 0.16, 1, Box{}, true, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc := make([]float32, 14)
			copy(loc, tc.loc[:])
			got, err := yunetDecode(loc, []float32{1 - tc.cls, tc.cls}, []float32{tc.iou}, priors, w, h, tc.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNone {
				if len(got) != 0 {
					t.Fatalf("got %v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d boxes, want 1", len(got))
			}
			g := got[0]
			if g.X != tc.want.X || g.Y != tc.want.Y || g.W != tc.want.W || g.H != tc.want.H ||
				math.Abs(g.Score-tc.want.Score) > 1e-6 || g.Label != LabelFace {
				t.Errorf("got %+v, want %+v", g, tc.want)
			}
		})
	}
	if _, err := yunetDecode(make([]float32, 13), []float32{0, 1}, []float32{1}, priors, w, h, 0.5); err == nil {
		t.Error("mismatched output size accepted")
	}
}

func TestUltraPriors(t *testing.T) {
	p := ultraPriors(ultraW, ultraH)
	if len(p) != 4420 { // the network's 4420 output rows
		t.Fatalf("%d anchors, want 4420", len(p))
	}
	if g := p[0]; !near(g.cx, 0.5/40) || !near(g.cy, 0.5/30) || !near(g.w, 10.0/320) || !near(g.h, 10.0/240) {
		t.Errorf("first anchor %+v", g)
	}
	// The 256 px anchor is taller than the 240 px input: clamped to 1.
	if g := p[len(p)-1]; !near(g.w, 256.0/320) || g.h != 1 || !near(g.cx, 4.5/5) || !near(g.cy, 3.5/(240.0/64)) {
		t.Errorf("last anchor %+v", g)
	}
}

func TestUltraDecode(t *testing.T) {
	priors := []prior{{cx: 0.5, cy: 0.5, w: 0.1, h: 0.2}}
	tests := []struct {
		name  string
		box   [4]float32
		score float32
		want  Box
		none  bool
	}{
		{"anchor", [4]float32{}, 0.9, Box{X: 144, Y: 96, W: 32, H: 48, Score: 0.9}, false},
		{"shift and double", [4]float32{5, 0, float32(math.Ln2 / 0.2), float32(math.Ln2 / 0.2)}, 0.8,
			Box{X: 144, Y: 72, W: 64, H: 96, Score: 0.8}, false},
		{"below threshold", [4]float32{}, 0.3, Box{}, true},
	}
	for _, tc := range tests {
		got, err := ultraDecode([]float32{1 - tc.score, tc.score}, tc.box[:], priors, 320, 240, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if tc.none {
			if len(got) != 0 {
				t.Errorf("%s: got %v", tc.name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d boxes", tc.name, len(got))
		}
		g := got[0]
		if g.X != tc.want.X || g.Y != tc.want.Y || g.W != tc.want.W || g.H != tc.want.H || math.Abs(g.Score-tc.want.Score) > 1e-6 {
			t.Errorf("%s: got %+v, want %+v", tc.name, g, tc.want)
		}
	}
	if _, err := ultraDecode([]float32{0, 1}, []float32{0, 0, 0}, priors, 320, 240, 0.5); err == nil {
		t.Error("mismatched output size accepted")
	}
}

func TestSSDDecode(t *testing.T) {
	det := []float32{
		0, 1, 0.9, 0.1, 0.2, 0.3, 0.6, // kept
		0, 1, 0.2, 0.1, 0.2, 0.3, 0.6, // below threshold
		0, 1, 0.8, 0.5, 0.5, 0.4, 0.6, // inverted: dropped
	}
	got, err := ssdDecode(det, 300, 300, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	want := Box{X: 30, Y: 60, W: 60, H: 120, Score: float64(float32(0.9)), Label: LabelFace}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %+v, want [%+v]", got, want)
	}
	if _, err := ssdDecode(det[:8], 300, 300, 0.3); err == nil {
		t.Error("output not a multiple of 7 accepted")
	}
}
