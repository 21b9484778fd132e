package redact

import (
	"image"

	"github.com/custody-evidence/custody/detect"
)

// region is one area to mask on one frame, in display coordinates.
type region struct {
	rect  image.Rectangle
	label detect.Label
	shape Shape
	track int // tracker id; 0 for edits
	score float64
	kind  Kind
}

// box is the region as detect --json reports it.
func (r region) box() detect.Box {
	return detect.Box{X: r.rect.Min.X, Y: r.rect.Min.Y, W: r.rect.Dx(), H: r.rect.Dy(), Score: r.score, Label: r.label}
}

// effectiveMargin is the margin actually applied to a box of this label
// with this shape: an ellipse needs a little more to cover the whole box.
// Text boxes (cards, text lines) come from detect already grown to what
// must be hidden, and get detect.TextMargin: a card grown by the face
// margin would be twice its area, and what it hides of the wearer is
// evidence.
func effectiveMargin(margin float64, shape Shape, label detect.Label) float64 {
	if label == detect.LabelText {
		return min(margin, detect.TextMargin)
	}
	if shape == ShapeEllipse && label != detect.LabelText && margin < minEllipseMargin {
		return minEllipseMargin
	}
	return margin
}

// expandMasks turns the tracker's boxes for a frame into the regions to
// mask: each box grown by the margin and clipped to the w x h display.
// redact and detect --json both go through here, so the boxes reported are
// the boxes masked.
func expandMasks(boxes []MaskBox, margin float64, shape Shape, w, h int) []region {
	bounds := image.Rect(0, 0, w, h)
	out := make([]region, 0, len(boxes))
	for _, mb := range boxes {
		if mb.Box.W <= 0 || mb.Box.H <= 0 {
			continue // a held track that drifted out of the picture
		}
		sh := shape
		if mb.Box.Label == detect.LabelText {
			sh = ShapeBox // text lines and badges are rectangles
		}
		e := detect.Expand(mb.Box, effectiveMargin(margin, sh, mb.Box.Label), bounds)
		if e.Area() == 0 {
			continue
		}
		out = append(out, region{rect: e.Rect(), label: mb.Box.Label, shape: sh, track: mb.TrackID,
			score: mb.Box.Score, kind: mb.Kind})
	}
	return out
}

// sanitize drops detections the tracker would reject and clips the rest to
// the frame: a detector may return boxes reaching outside the picture.
func sanitize(boxes []detect.Box, w, h int) []detect.Box {
	bounds := image.Rect(0, 0, w, h)
	out := boxes[:0]
	for _, b := range boxes {
		if b.Score != b.Score || b.Score > 1e300 || b.Score < -1e300 {
			continue
		}
		r := b.Rect().Intersect(bounds)
		if r.Empty() {
			continue
		}
		b.X, b.Y, b.W, b.H = r.Min.X, r.Min.Y, r.Dx(), r.Dy()
		out = append(out, b)
	}
	return out
}
