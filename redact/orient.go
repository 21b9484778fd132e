package redact

import (
	"image"
	"math"
)

// orientation maps between a frame as stored and as displayed. Detection,
// tracking, edits, tracks.json and detect --json all work in display
// coordinates (what a person reviewing the video sees, and what face
// detectors are trained on); masks are painted on the stored frame.
type orientation struct {
	cw     int // clockwise rotation applied for display: 0, 90, 180 or 270
	sw, sh int // stored size
}

// newOrientation follows ffmpeg's autorotate: a display-matrix angle R
// (media.VideoInfo.Rotation, ffprobe's "rotation") is shown rotated
// clockwise by -R. Angles are rounded to a quarter turn.
func newOrientation(rotation, sw, sh int) orientation {
	q := int(math.Round(float64(-rotation)/90)) % 4
	if q < 0 {
		q += 4
	}
	return orientation{cw: q * 90, sw: sw, sh: sh}
}

// displaySize is the picture size as displayed.
func (o orientation) displaySize() (int, int) {
	if o.cw == 90 || o.cw == 270 {
		return o.sh, o.sw
	}
	return o.sw, o.sh
}

// toStored maps a rectangle in display coordinates to stored coordinates.
func (o orientation) toStored(r image.Rectangle) image.Rectangle {
	switch o.cw {
	case 90: // stored (x, y) is displayed at (sh-1-y, x)
		return image.Rect(r.Min.Y, o.sh-r.Max.X, r.Max.Y, o.sh-r.Min.X)
	case 180:
		return image.Rect(o.sw-r.Max.X, o.sh-r.Max.Y, o.sw-r.Min.X, o.sh-r.Min.Y)
	case 270: // stored (x, y) is displayed at (y, sw-1-x)
		return image.Rect(o.sw-r.Max.Y, r.Min.X, o.sw-r.Min.Y, r.Max.X)
	}
	return r
}
