package detect

import (
	"math"
	"strings"
	"testing"
)

// levels2023 builds all-zero outputs (score 0) for a padW×padH input.
func levels2023(padW, padH int) [3]yunet2023Level {
	var l [3]yunet2023Level
	for i, s := range yunet2023Strides {
		n := (padW / s) * (padH / s)
		l[i] = yunet2023Level{cls: make([]float32, n), obj: make([]float32, n), bbox: make([]float32, 4*n)}
	}
	return l
}

func TestYuNet2023Pad(t *testing.T) {
	for _, tc := range []struct{ w, h, pw, ph int }{
		{320, 320, 320, 320}, {321, 319, 352, 320}, {608, 1080, 608, 1088}, {1, 1, 32, 32}, {0, 0, 32, 32},
	} {
		if pw, ph := yunet2023Pad(tc.w, tc.h); pw != tc.pw || ph != tc.ph {
			t.Errorf("yunet2023Pad(%d, %d) = %d, %d, want %d, %d", tc.w, tc.h, pw, ph, tc.pw, tc.ph)
		}
	}
}

func TestYuNet2023Decode(t *testing.T) {
	const w, h = 64, 96 // grids 8×12, 4×6, 2×3
	tests := []struct {
		name     string
		level    int // stride index
		col, row int
		cls, obj float32
		bbox     [4]float32
		thresh   float64
		want     Box
		none     bool
	}{
		{"zero deltas: a stride-sized box centred on the cell's corner", 0, 2, 3, 0.81, 1, [4]float32{}, 0.5,
			Box{X: 12, Y: 20, W: 8, H: 8, Score: 0.9}, false},
		{"centre shift in cells", 0, 2, 3, 1, 1, [4]float32{0.5, 0.25, 0, 0}, 0.5,
			Box{X: 16, Y: 22, W: 8, H: 8, Score: 1}, false},
		{"log size in strides", 1, 1, 2, 0.64, 1, [4]float32{0.5, 0.5, float32(math.Ln2), float32(math.Log(3))}, 0.5,
			Box{X: 8, Y: 16, W: 32, H: 48, Score: 0.8}, false},
		{"stride 32, last cell", 2, 1, 2, 0.25, 1, [4]float32{0.5, 0.5, 0, 0}, 0.5,
			Box{X: 32, Y: 64, W: 32, H: 32, Score: 0.5}, false},
		{"scores clamp to [0, 1]", 0, 0, 0, 1.7, 1.2, [4]float32{1, 1, 0, 0}, 0.5,
			Box{X: 4, Y: 4, W: 8, H: 8, Score: 1}, false},
		{"negative objectness is no face", 0, 0, 0, 0.99, -0.3, [4]float32{}, 0.1, Box{}, true},
		{"below threshold", 0, 0, 0, 0.3, 0.3, [4]float32{}, 0.35, Box{}, true},
		{"NaN score", 0, 0, 0, float32(math.NaN()), 1, [4]float32{}, 0.1, Box{}, true},
		{"NaN box", 0, 0, 0, 1, 1, [4]float32{float32(math.NaN()), 0, 0, 0}, 0.1, Box{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := levels2023(w, h)
			cols := w / yunet2023Strides[tc.level]
			idx := tc.row*cols + tc.col
			lv := l[tc.level]
			lv.cls[idx], lv.obj[idx] = tc.cls, tc.obj
			copy(lv.bbox[4*idx:], tc.bbox[:])
			got, err := yunet2023Decode(l, w, h, tc.thresh)
			if err != nil {
				t.Fatal(err)
			}
			if tc.none {
				if len(got) != 0 {
					t.Fatalf("got %+v, want nothing", got)
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
}

func TestYuNet2023DecodeSizeMismatch(t *testing.T) {
	l := levels2023(64, 96)
	l[1].bbox = l[1].bbox[:len(l[1].bbox)-4]
	_, err := yunet2023Decode(l, 64, 96, 0.5)
	if err == nil || !strings.Contains(err.Error(), "stride 16") {
		t.Errorf("error %v, want a stride 16 size mismatch", err)
	}
	if _, err := yunet2023Decode(levels2023(64, 96), 64, 128, 0.5); err == nil {
		t.Error("outputs for 64x96 decoded as 64x128")
	}
}
