package redact

import (
	"image"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// Text and card boxes come from detect already grown to what must be
// hidden: the redactor adds detect.TextMargin to them, whatever --margin
// says, and the full margin to faces and heads. A card grown by the face
// margin would be twice its area.
func TestTextBoxesTakeTheTextMargin(t *testing.T) {
	card := detect.Box{X: 100, Y: 100, W: 100, H: 150, Score: 1, Label: detect.LabelText}
	face := detect.Box{X: 100, Y: 100, W: 100, H: 100, Score: 1, Label: detect.LabelFace}
	for _, margin := range []float64{detect.DefaultMargin, 0.5} {
		regs := expandMasks([]MaskBox{{Box: card}, {Box: face}}, margin, ShapeEllipse, 1000, 1000)
		if len(regs) != 2 {
			t.Fatalf("%d regions, want 2", len(regs))
		}
		if got, want := regs[0].rect, detect.Expand(card, detect.TextMargin, image.Rect(0, 0, 1000, 1000)).Rect(); got != want {
			t.Errorf("margin %v: card masked as %v, want %v (the text margin)", margin, got, want)
		}
		if regs[0].shape != ShapeBox {
			t.Errorf("card shape %v, want a box", regs[0].shape)
		}
		if got, want := regs[1].rect, detect.Expand(face, effectiveMargin(margin, ShapeEllipse, detect.LabelFace), image.Rect(0, 0, 1000, 1000)).Rect(); got != want {
			t.Errorf("margin %v: face masked as %v, want %v", margin, got, want)
		}
	}
}
