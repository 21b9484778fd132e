//go:build cgo

package detect

import "gocv.io/x/gocv"

// rotating runs a face detector on the frame as it is and turned a quarter
// turn each way, and merges the boxes.
type rotating struct {
	inner Detector
	nms   float64
	turns []quarterTurn
	buf   gocv.Mat
}

func newRotating(inner Detector, nms float64) *rotating {
	return &rotating{inner: inner, nms: nms, turns: []quarterTurn{{cw: true}, {cw: false}}, buf: gocv.NewMat()}
}

// Name marks the extra passes, so that an audit record (and review edits,
// whose track ids depend on the detector) tell the runs apart.
func (r *rotating) Name() string    { return r.inner.Name() + "+quarter-turns" }
func (r *rotating) Models() []Model { return r.inner.Models() }

func (r *rotating) Close() error {
	r.buf.Close()
	return r.inner.Close()
}

func (r *rotating) Detect(img gocv.Mat) ([]Box, error) { return r.detect(img, true) }

func (r *rotating) detectCoarse(img gocv.Mat) ([]Box, error) { return r.detect(img, false) }

func (r *rotating) detect(img gocv.Mat, fine bool) ([]Box, error) {
	run := r.inner.Detect
	if c, ok := r.inner.(coarseDetector); ok && !fine {
		run = c.detectCoarse
	}
	all, err := run(img)
	if err != nil {
		return nil, err
	}
	w, h := img.Cols(), img.Rows()
	for _, q := range r.turns {
		code := gocv.Rotate90CounterClockwise
		if q.cw {
			code = gocv.Rotate90Clockwise
		}
		gocv.Rotate(img, &r.buf, code)
		boxes, err := run(r.buf)
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			all = append(all, q.back(b, w, h))
		}
	}
	return NMS(all, r.nms), nil
}
