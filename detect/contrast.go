//go:build cgo

package detect

import (
	"image"

	"gocv.io/x/gocv"
)

// Dark frames (a ward at night, a bedroom lit by a monitor) hide faces
// from the models: on faces_dlib darkened to night levels YuNet finds about
// half the faces. Config.Contrast searches a copy of the frame with its
// luma contrast-normalised (CLAHE) as well; the copy is for detection only,
// the output is painted on the frame as decoded.

// contrasting runs a face detector on the frame and, when the frame is
// dark (or always, with Contrast on), on a CLAHE-normalised copy, and
// merges the boxes.
type contrasting struct {
	inner  Detector
	nms    float64
	always bool
	dark   float64 // mean luma (0-255) below which a frame is dark
	score  float64 // the least score of a face found on the copy (Config.ViewThreshold)
	clahe  gocv.CLAHE
	ycc    gocv.Mat
	out    gocv.Mat
	chans  []gocv.Mat
}

// CLAHE settings, chosen on the tuning split's dark variants (clip limits
// 1.5 to 6 and grids 4 to 16 tried; see TestEvalFacesTuneContrast): a
// clip limit of 2 over an 8×8 grid lifts faces in shadow without turning
// the sensor noise of a dark frame into texture the models take for faces.
const (
	claheClip = 2.0
	claheGrid = 8
)

func newContrasting(inner Detector, nms float64, always bool, dark, score float64) *contrasting {
	return &contrasting{inner: inner, nms: nms, always: always, dark: dark, score: score,
		clahe: gocv.NewCLAHEWithParams(claheClip, image.Pt(claheGrid, claheGrid)),
		ycc:   gocv.NewMat(), out: gocv.NewMat()}
}

func (c *contrasting) Name() string    { return c.inner.Name() }
func (c *contrasting) Models() []Model { return c.inner.Models() }

func (c *contrasting) Close() error {
	c.clahe.Close()
	c.ycc.Close()
	c.out.Close()
	closeAll(c.chans)
	return c.inner.Close()
}

func (c *contrasting) Detect(img gocv.Mat) ([]Box, error) { return c.detectMin(img, true, 0) }

func (c *contrasting) detectCoarse(img gocv.Mat) ([]Box, error) { return c.detectMin(img, false, 0) }

func (c *contrasting) detectMin(img gocv.Mat, fine bool, minFace int) ([]Box, error) {
	all, err := runInner(c.inner, img, fine, minFace)
	if err != nil || !(c.always || meanLuma(img) < c.dark) {
		return all, err
	}
	c.normalise(img)
	more, err := runInner(c.inner, c.out, fine, minFace)
	if err != nil {
		return nil, err
	}
	for _, b := range more {
		if b.Score >= c.score {
			all = append(all, b)
		}
	}
	return NMS(all, c.nms), nil
}

// normalise writes img with CLAHE applied to its luma into c.out.
func (c *contrasting) normalise(img gocv.Mat) {
	gocv.CvtColor(img, &c.ycc, gocv.ColorBGRToYCrCb)
	closeAll(c.chans)
	c.chans = gocv.Split(c.ycc)
	c.clahe.Apply(c.chans[0], &c.chans[0])
	gocv.Merge(c.chans, &c.ycc)
	gocv.CvtColor(c.ycc, &c.out, gocv.ColorYCrCbToBGR)
}

// meanLuma is the frame's mean luma (BT.601 weights), 0 to 255.
func meanLuma(img gocv.Mat) float64 {
	m := img.Mean()
	return 0.114*m.Val1 + 0.587*m.Val2 + 0.299*m.Val3
}

// wrapper is a face detector that runs another over extra views of the
// frame (turned, contrast-normalised).
type wrapper interface{ unwrap() Detector }

func (c *contrasting) unwrap() Detector { return c.inner }
func (r *rotating) unwrap() Detector    { return r.inner }

// innermost is the model detector under any wrappers.
func innermost(d Detector) Detector {
	for {
		w, ok := d.(wrapper)
		if !ok {
			return d
		}
		d = w.unwrap()
	}
}

// minFaceDetector is a face detector whose passes can be planned for
// another smallest face than its configured one.
type minFaceDetector interface {
	detectMin(img gocv.Mat, fine bool, minFace int) ([]Box, error)
}

// runInner runs a wrapped face detector, without its finest pass when fine
// is false and it has one to leave out, planned for faces down to minFace
// px (0: its own MinFace) when it can be.
func runInner(d Detector, img gocv.Mat, fine bool, minFace int) ([]Box, error) {
	if m, ok := d.(minFaceDetector); ok {
		return m.detectMin(img, fine, minFace)
	}
	if c, ok := d.(coarseDetector); ok && !fine {
		return c.detectCoarse(img)
	}
	return d.Detect(img)
}
