//go:build cgo

package detect

import "gocv.io/x/gocv"

// rotating runs a face detector on the frame as it is and turned, and
// merges the boxes. With always false the turned passes run only on the
// calls that run every pass (see Config.SmallFaceEvery): lying people
// move little, and the tracker holds what a turned pass found until the
// next one.
// The turned passes are planned for faces down to minFace px (see
// Config.ViewMinFace), the upright ones for the detector's own MinFace.
type rotating struct {
	inner   Detector
	nms     float64
	turns   []turn
	always  bool
	minFace int
	score   float64 // the least score of a face found turned (Config.ViewThreshold)
	buf     gocv.Mat
}

func newRotating(inner Detector, nms float64, turns []turn, always bool, minFace int, score float64) *rotating {
	return &rotating{inner: inner, nms: nms, turns: turns, always: always, minFace: minFace, score: score, buf: gocv.NewMat()}
}

// Name is the model's: the audit record's detection parameters say which
// extra views ran (and review edits are matched on them too).
func (r *rotating) Name() string    { return r.inner.Name() }
func (r *rotating) Models() []Model { return r.inner.Models() }

func (r *rotating) Close() error {
	r.buf.Close()
	return r.inner.Close()
}

func (r *rotating) Detect(img gocv.Mat) ([]Box, error) { return r.detectMin(img, true, 0) }

func (r *rotating) detectCoarse(img gocv.Mat) ([]Box, error) { return r.detectMin(img, false, 0) }

var rotateCodes = map[turn]gocv.RotateFlag{
	turnCW: gocv.Rotate90Clockwise, turnHalf: gocv.Rotate180Clockwise, turnCCW: gocv.Rotate90CounterClockwise,
}

func (r *rotating) detectMin(img gocv.Mat, fine bool, minFace int) ([]Box, error) {
	all, err := runInner(r.inner, img, fine, minFace)
	if err != nil || !(fine || r.always) {
		return all, err
	}
	w, h := img.Cols(), img.Rows()
	for _, q := range r.turns {
		gocv.Rotate(img, &r.buf, rotateCodes[q])
		boxes, err := runInner(r.inner, r.buf, fine, max(minFace, r.minFace))
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			if b.Score >= r.score {
				all = append(all, q.back(b, w, h))
			}
		}
	}
	return NMS(all, r.nms), nil
}
