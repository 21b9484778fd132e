package redact

import (
	"errors"
	"image"
	"strings"
	"testing"
)

// FuzzLoadEdits: an --edits file is typed by hand. Whatever it holds,
// LoadEdits returns a one-line ErrEdits error or edits that validate, and
// the regions it accepts can be evaluated on any frame without a panic.
func FuzzLoadEdits(f *testing.F) {
	f.Add(`{"detector":"yunet-2022mar","every":6,"exclude":[{"track":3,"first":120,"reason":"officer"}],` +
		`"regions":[{"label":"tattoo","reason":"tattoo","keyframes":[{"time":1.5,"x":10,"y":20,"w":40,"h":40},{"time":3,"x":60,"y":20,"w":40,"h":40}]}],` +
		`"frames":[{"start":12,"end":14.5,"reason":"patient record on screen"}]}`)
	f.Add(`{"regions":[{"reason":"r","shape":"box","keyframes":[{"frame":3,"x":0,"y":0,"w":5,"h":5},{"frame":9,"x":-4,"y":1e9,"w":5,"h":5}]}]}`)
	f.Add(`{"exclude":[{"track":1,"reason":"x"}]}`)
	f.Add(`{} {}`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := LoadEdits(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrEdits) {
				t.Fatalf("error %v is not ErrEdits", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted edits do not validate again: %v", err)
		}
		for i := range e.Regions {
			for _, fr := range []int{-1, 0, 3, 100, 1 << 30} {
				if b, ok := e.Regions[i].boxAt(fr, float64(fr)/30); ok {
					_ = b.Intersect(image.Rect(0, 0, 1920, 1080))
				}
			}
		}
		for _, fe := range e.Frames {
			_ = fe.covers(1.0)
		}
	})
}
