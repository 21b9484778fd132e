package redact

import (
	"math"

	"github.com/custody-evidence/custody/detect"
)

// fbox is a box in float pixels (top-left corner and size). The tracker
// computes in floats so that interpolation over long gaps does not drift
// with rounding; it rounds outwards only when it reports a box.
type fbox struct{ x, y, w, h float64 }

func fromBox(b detect.Box) fbox {
	return fbox{float64(b.X), float64(b.Y), float64(b.W), float64(b.H)}
}

func (b fbox) cx() float64 { return b.x + b.w/2 }
func (b fbox) cy() float64 { return b.y + b.h/2 }

func (b fbox) area() float64 {
	if b.w <= 0 || b.h <= 0 {
		return 0
	}
	return b.w * b.h
}

func iou(a, b fbox) float64 {
	// Plain comparisons: this runs for every track-detection pair, and the
	// boxes are never NaN (inputs are checked).
	iw := min(a.x+a.w, b.x+b.w) - max(a.x, b.x)
	if iw <= 0 {
		return 0
	}
	ih := min(a.y+a.h, b.y+b.h) - max(a.y, b.y)
	if ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / (a.area() + b.area() - inter)
}

func union(a, b fbox) fbox {
	x0, y0 := math.Min(a.x, b.x), math.Min(a.y, b.y)
	x1, y1 := math.Max(a.x+a.w, b.x+b.w), math.Max(a.y+a.h, b.y+b.h)
	return fbox{x0, y0, x1 - x0, y1 - y0}
}

// grow scales the box about its centre by 1+f.
func (b fbox) grow(f float64) fbox {
	dw, dh := b.w*f, b.h*f
	return fbox{b.x - dw/2, b.y - dh/2, b.w + dw, b.h + dh}
}

func lerpBox(a, b fbox, t float64) fbox {
	return fbox{lerp(a.x, b.x, t), lerp(a.y, b.y, t), lerp(a.w, b.w, t), lerp(a.h, b.h, t)}
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// pixels rounds outwards, so the reported box always contains the float
// box, and clips to the frame when width and height are known. A box that
// lies entirely outside the frame comes back with zero width or height.
func (b fbox) pixels(width, height int) (x, y, w, h int) {
	x0 := math.Floor(b.x + 1e-9)
	y0 := math.Floor(b.y + 1e-9)
	x1 := math.Ceil(b.x + b.w - 1e-9)
	y1 := math.Ceil(b.y + b.h - 1e-9)
	if width > 0 {
		x0 = math.Max(0, math.Min(x0, float64(width)))
		x1 = math.Max(x0, math.Min(x1, float64(width)))
	}
	if height > 0 {
		y0 = math.Max(0, math.Min(y0, float64(height)))
		y1 = math.Max(y0, math.Min(y1, float64(height)))
	}
	return int(x0), int(y0), int(x1 - x0), int(y1 - y0)
}
