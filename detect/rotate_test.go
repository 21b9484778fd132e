package detect

import (
	"image"
	"testing"
)

// A pixel-exact check: rotate every pixel of a box with the same
// convention as OpenCV's rotate and map the box back.
func TestTurnBack(t *testing.T) {
	const w, h = 7, 5
	orig := Box{X: 1, Y: 2, W: 3, H: 2, Score: 0.5, Label: LabelFace}
	for _, q := range []turn{turnCW, turnHalf, turnCCW} {
		// Where the box's pixels land in the turned frame.
		var turned image.Rectangle
		first := true
		for y := orig.Y; y < orig.Y+orig.H; y++ {
			for x := orig.X; x < orig.X+orig.W; x++ {
				var p image.Point
				switch q {
				case turnCW:
					p = image.Pt(h-1-y, x)
				case turnCCW:
					p = image.Pt(y, w-1-x)
				default:
					p = image.Pt(w-1-x, h-1-y)
				}
				px := image.Rectangle{Min: p, Max: p.Add(image.Pt(1, 1))}
				if first {
					turned, first = px, false
				} else {
					turned = turned.Union(px)
				}
			}
		}
		got := q.back(boxFromRect(turned, 0.5, LabelFace), w, h)
		if got != orig {
			t.Errorf("%s: turned %v maps back to %+v, want %+v", q, turned, got, orig)
		}
	}
}
