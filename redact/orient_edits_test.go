package redact

import (
	"errors"
	"image"
	"strings"
	"testing"
)

// TestOrientation: a rectangle mapped to stored coordinates covers exactly
// the stored pixels that display inside it, for every quarter turn.
func TestOrientation(t *testing.T) {
	for _, rot := range []int{0, 90, -90, 180, -180, 270, 360} {
		o := newOrientation(rot, 7, 5)
		dw, dh := o.displaySize()
		r := image.Rect(1, 2, 4, 5).Intersect(image.Rect(0, 0, dw, dh))
		sr := o.toStored(r)
		if sr.Dx()*sr.Dy() != r.Dx()*r.Dy() {
			t.Fatalf("rotation %d: %v maps to %v of another area", rot, r, sr)
		}
		for y := 0; y < dh; y++ {
			for x := 0; x < dw; x++ {
				sx, sy := o.storedPixel(x, y)
				if sx < 0 || sy < 0 || sx >= 7 || sy >= 5 {
					t.Fatalf("rotation %d: display (%d,%d) maps outside the stored frame: (%d,%d)", rot, x, y, sx, sy)
				}
				if image.Pt(x, y).In(r) != image.Pt(sx, sy).In(sr) {
					t.Fatalf("rotation %d: display (%d,%d) in=%v but stored (%d,%d) in=%v", rot, x, y,
						image.Pt(x, y).In(r), sx, sy, image.Pt(sx, sy).In(sr))
				}
			}
		}
	}
	// ffmpeg's convention: a display-matrix rotation of -90 is shown turned
	// a quarter clockwise.
	if o := newOrientation(-90, 10, 20); o.cw != 90 {
		t.Errorf("rotation -90 displays turned %d clockwise, want 90", o.cw)
	}
	if o := newOrientation(90, 10, 20); o.cw != 270 {
		t.Errorf("rotation 90 displays turned %d clockwise, want 270", o.cw)
	}
}

func TestLoadEdits(t *testing.T) {
	cases := []struct {
		name, json, err string
	}{
		{"ok", `{"exclude":[{"track":2,"first":10,"reason":"officer"}],"regions":[{"reason":"tattoo","keyframes":[{"time":2,"x":0,"y":0,"w":5,"h":5},{"time":1,"x":0,"y":0,"w":5,"h":5}]}],"frames":[{"start":1,"end":2,"reason":"screen"}]}`, ""},
		{"unknown field", `{"exclude":[{"track":2,"reason":"x","frist":3}]}`, "unknown field"},
		{"no reason", `{"exclude":[{"track":2}]}`, "reason is required"},
		{"unanchored", `{"exclude":[{"track":2,"reason":"officer"}]}`, "cannot unmask a different track"},
		{"anchored by detection", `{"detection":"face=auto","exclude":[{"track":2,"reason":"officer"}]}`, ""},
		{"bad track", `{"exclude":[{"track":0,"reason":"x"}]}`, "ids start at 1"},
		{"twice", `{"exclude":[{"track":1,"first":0,"reason":"x"},{"track":1,"first":0,"reason":"y"}]}`, "twice"},
		{"mixed keyframes", `{"regions":[{"reason":"r","keyframes":[{"time":1,"x":0,"y":0,"w":5,"h":5},{"frame":3,"x":0,"y":0,"w":5,"h":5}]}]}`, "mix"},
		{"both", `{"regions":[{"reason":"r","keyframes":[{"time":1,"frame":3,"x":0,"y":0,"w":5,"h":5}]}]}`, "exactly one"},
		{"empty box", `{"regions":[{"reason":"r","keyframes":[{"frame":3,"x":0,"y":0,"w":0,"h":5}]}]}`, "size"},
		{"no keyframes", `{"regions":[{"reason":"r"}]}`, "no keyframes"},
		{"backwards range", `{"frames":[{"start":3,"end":2,"reason":"r"}]}`, "range"},
		{"bad shape", `{"regions":[{"reason":"r","shape":"star","keyframes":[{"frame":3,"x":0,"y":0,"w":5,"h":5}]}]}`, "shape"},
		{"trailing", `{} {}`, "trailing"},
		{"not json", `exclude track 3`, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := LoadEdits(strings.NewReader(tc.json))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(e.Regions) == 0 {
					return
				}
				if k := e.Regions[0].Keyframes; *k[0].Time != 1 {
					t.Errorf("keyframes not sorted by time")
				}
				return
			}
			if err == nil || !errors.Is(err, ErrEdits) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want ErrEdits mentioning %q", err, tc.err)
			}
		})
	}
}

func TestRegionInterpolation(t *testing.T) {
	f := func(v int) *int { return &v }
	tm := func(v float64) *float64 { return &v }
	r := RegionEdit{Reason: "r", Keyframes: []Keyframe{
		{Frame: f(10), X: 0, Y: 0, W: 10, H: 10},
		{Frame: f(20), X: 100, Y: 50, W: 20, H: 10},
	}}
	cases := []struct {
		frame int
		want  image.Rectangle
		ok    bool
	}{
		{9, image.Rectangle{}, false},
		{10, image.Rect(0, 0, 10, 10), true},
		{15, image.Rect(50, 25, 65, 35), true},
		{20, image.Rect(100, 50, 120, 60), true},
		{21, image.Rectangle{}, false},
	}
	for _, c := range cases {
		got, ok := r.boxAt(c.frame, 0)
		if ok != c.ok || got != c.want {
			t.Errorf("frame %d: %v %v, want %v %v", c.frame, got, ok, c.want, c.ok)
		}
	}
	// By time, the box between keyframes is rounded outwards.
	rt := RegionEdit{Reason: "r", Keyframes: []Keyframe{
		{Time: tm(1), X: 0, Y: 0, W: 10, H: 10},
		{Time: tm(2), X: 3, Y: 0, W: 10, H: 10},
	}}
	got, ok := rt.boxAt(0, 1.5)
	if !ok || got != image.Rect(1, 0, 12, 10) {
		t.Errorf("t=1.5: %v %v, want (1,0)-(12,10)", got, ok)
	}
	if _, ok := rt.boxAt(0, 2.0000005); !ok {
		t.Errorf("a time within a microsecond of the last keyframe is outside")
	}
	if _, ok := rt.boxAt(0, 2.01); ok {
		t.Errorf("t=2.01 after the last keyframe is inside")
	}
}
