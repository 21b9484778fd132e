package detect

import (
	"math"
	"testing"
)

// The lens maps the axis to the circle's centre and a ray at angle a from
// the axis to radius f·a; a view's centre pixel looks along its yaw and
// pitch.
func TestFisheyeGeometry(t *testing.T) {
	l := newFisheyeLens(1280, 960, 640, 180) // f = 640/(π/2)
	f := 640 / (math.Pi / 2)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if x, y := l.project(0, 0, 1); !near(x, 640) || !near(y, 480) {
		t.Errorf("axis -> %v, %v", x, y)
	}
	if x, y := l.project(1, 0, 0); !near(x, 640+f*math.Pi/2) || !near(y, 480) {
		t.Errorf("90° right -> %v, %v", x, y)
	}
	if x, y := l.project(0, -1, 1); !near(x, 640) || !near(y, 480-f*math.Pi/4) {
		t.Errorf("45° up -> %v, %v", x, y)
	}
	for _, tc := range []struct{ yaw, pitch, wantX, wantY float64 }{
		{0.8, 0, 640 + f*0.8, 480},
		{-0.8, 0, 640 - f*0.8, 480},
		{0, 0.6, 640, 480 + f*0.6},
		{0, -0.6, 640, 480 - f*0.6},
	} {
		v := newFisheyeView(tc.yaw, tc.pitch, 400, 300)
		if x, y := v.toFrame(l, 200, 200); !near(x, tc.wantX) || !near(y, tc.wantY) {
			t.Errorf("view yaw %v pitch %v: centre -> %v, %v, want %v, %v", tc.yaw, tc.pitch, x, y, tc.wantX, tc.wantY)
		}
		// A pan-tilt view keeps the horizon level: along the view's
		// centre row, a right-facing view's pixels stay on the frame's
		// centre row (pitch 0).
		if tc.pitch == 0 {
			if _, y := v.toFrame(l, 50, 200); !near(y, 480) {
				t.Errorf("view yaw %v: centre row leaves the horizon (y %v)", tc.yaw, y)
			}
		}
	}
	// A box around the centre of a right-hand view maps around the point
	// the view looks at, squashed along the radius (the frame shows a
	// face there narrower than the view does).
	v := newFisheyeView(1.2, 0, 400, 300)
	b := v.boxToFrame(l, Box{X: 180, Y: 180, W: 40, H: 40, Score: 0.9, Label: LabelFace})
	cx, cy := float64(b.X)+float64(b.W)/2, float64(b.Y)+float64(b.H)/2
	if math.Abs(cx-(640+f*1.2)) > 2 || math.Abs(cy-480) > 2 || b.W >= b.H || b.Score != 0.9 || b.Label != LabelFace {
		t.Errorf("box maps to %+v (centre %.1f, %.1f)", b, cx, cy)
	}
}

// The eight edge views look out at the same angle all round, are as
// sharp as the lens at its centre, and are capped in size.
func TestFisheyeViews(t *testing.T) {
	l := newFisheyeLens(1280, 960, 640, 200)
	vs := fisheyeViews(l, 200)
	if len(vs) != 8 {
		t.Fatalf("%d views", len(vs))
	}
	want := fisheyeViewAngle * 100 * math.Pi / 180
	for _, v := range vs {
		// The angle between the view's axis and the lens's.
		z := v.rot[2][2]
		if a := math.Acos(z); math.Abs(a-want) > 0.08 {
			t.Errorf("view yaw %.2f pitch %.2f looks %.2f rad off the axis, want about %.2f", v.yaw, v.pitch, a, want)
		}
		if math.Abs(v.focal-l.f) > 1 {
			t.Errorf("view focal %v, lens %v px per radian", v.focal, l.f)
		}
	}
	big := newFisheyeLens(7680, 4320, 4320, 180)
	if s := fisheyeViews(big, 180)[0].size; s != fisheyeMaxView {
		t.Errorf("8K view side %d, want the cap %d", s, fisheyeMaxView)
	}
}

// findImageCircle finds a circular fisheye's border and nothing else.
func TestFindImageCircle(t *testing.T) {
	const w, h = 320, 240
	circle := func(r float64) func(x, y int) uint8 {
		return func(x, y int) uint8 {
			if math.Hypot(float64(x)-w/2+0.5, float64(y)-h/2+0.5) <= r {
				return 120
			}
			return 3
		}
	}
	tests := []struct {
		name string
		luma func(x, y int) uint8
		want float64 // 0: none
	}{
		{"circle wider than the frame is tall (the wearable clip)", circle(180), 180},
		{"circle inside the frame", circle(110), 110},
		{"ordinary picture", func(x, y int) uint8 { return uint8(40 + (x+y)%100) }, 0},
		{"black frame", func(x, y int) uint8 { return 0 }, 0},
		{"letterboxed picture", func(x, y int) uint8 {
			if y < 30 || y >= h-30 {
				return 0
			}
			return 100
		}, 0},
		{"pillarboxed picture", func(x, y int) uint8 {
			if x < 40 || x >= w-40 {
				return 0
			}
			return 100
		}, 0},
		{"dark corner on one side only", func(x, y int) uint8 {
			if x > 280 && y > 200 {
				return 0
			}
			return 100
		}, 0},
	}
	for _, tc := range tests {
		got := findImageCircle(w, h, tc.luma)
		if tc.want == 0 && got != 0 || tc.want != 0 && math.Abs(got-tc.want) > 3 {
			t.Errorf("%s: radius %.1f, want %.0f", tc.name, got, tc.want)
		}
	}
}
