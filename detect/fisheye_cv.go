//go:build cgo

package detect

import (
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// fisheyeViewing runs a face detector on the frame and, on the calls that
// run every face pass, when the frame is a fisheye's (PassAuto: it shows
// an image circle; PassOn: always, as a full-frame fisheye when it shows
// none), the model alone on perspective views of the edge of the image
// circle, and merges the boxes.
type fisheyeViewing struct {
	inner   Detector // the frame's own chain (turns, contrast)
	base    Detector // the model detector, for the views
	nms     float64
	always  bool    // PassOn
	fov     float64 // the lens's field of view across its image circle, degrees
	minFace int     // smallest face the views' passes are planned for
	score   float64 // the least score of a face found on a view (Config.ViewThreshold)

	small gocv.Mat // downscaled grey frame, for finding the image circle
	buf   gocv.Mat // one rendered view
	// The views and their remap tables for the last lens seen.
	key   [3]int
	lens  fisheyeLens
	views []fisheyeView
	maps  [][2]gocv.Mat
}

func newFisheyeViewing(inner Detector, nms float64, always bool, fov float64, minFace int, score float64) *fisheyeViewing {
	return &fisheyeViewing{inner: inner, base: innermost(inner), nms: nms, always: always, fov: fov, minFace: minFace, score: score,
		small: gocv.NewMat(), buf: gocv.NewMat()}
}

func (f *fisheyeViewing) Name() string     { return f.inner.Name() }
func (f *fisheyeViewing) Models() []Model  { return f.inner.Models() }
func (f *fisheyeViewing) unwrap() Detector { return f.inner }

func (f *fisheyeViewing) Close() error {
	f.small.Close()
	f.buf.Close()
	f.dropMaps()
	return f.inner.Close()
}

func (f *fisheyeViewing) dropMaps() {
	for _, m := range f.maps {
		m[0].Close()
		m[1].Close()
	}
	f.maps, f.views, f.key = nil, nil, [3]int{}
}

func (f *fisheyeViewing) Detect(img gocv.Mat) ([]Box, error) { return f.detectMin(img, true, 0) }

func (f *fisheyeViewing) detectCoarse(img gocv.Mat) ([]Box, error) {
	return f.detectMin(img, false, 0)
}

func (f *fisheyeViewing) detectMin(img gocv.Mat, fine bool, minFace int) ([]Box, error) {
	all, err := runInner(f.inner, img, fine, minFace)
	if err != nil || !fine {
		return all, err
	}
	if !f.prepare(img) {
		return all, nil
	}
	w, h := img.Cols(), img.Rows()
	for i, v := range f.views {
		gocv.Remap(img, &f.buf, &f.maps[i][0], &f.maps[i][1], gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
		boxes, err := runInner(f.base, f.buf, true, max(minFace, f.minFace))
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			if b.Score < f.score {
				continue
			}
			if fb, ok := clipToFrame(v.boxToFrame(f.lens, b), w, h); ok {
				all = append(all, fb)
			}
		}
	}
	return NMS(all, f.nms), nil
}

// circleSample is the width of the grey copy the image circle is looked
// for on: enough to place it within a percent.
const circleSample = 320

// prepare finds the lens for img and makes its views ready; false when
// img is not a fisheye's frame (mode auto, no image circle).
func (f *fisheyeViewing) prepare(img gocv.Mat) bool {
	w, h := img.Cols(), img.Rows()
	s := math.Min(1, circleSample/float64(w))
	sz := scaledSize(w, h, s)
	gocv.Resize(img, &f.small, sz, 0, 0, gocv.InterpolationArea)
	gocv.CvtColor(f.small, &f.small, gocv.ColorBGRToGray)
	r := findImageCircle(sz.X, sz.Y, func(x, y int) uint8 {
		return f.small.GetUCharAt(min(max(y, 0), sz.Y-1), min(max(x, 0), sz.X-1))
	}) / s
	if r == 0 {
		if !f.always {
			return false
		}
		r = fullFrameRadius(w, h)
	}
	// Radii within 1% share their views: the circle found wobbles a
	// little from frame to frame.
	key := [3]int{w, h, int(math.Round(math.Log(r) / math.Log(1.01)))}
	if key == f.key {
		return true
	}
	f.dropMaps()
	f.key = key
	f.lens = newFisheyeLens(w, h, r, f.fov)
	f.views = fisheyeViews(f.lens, f.fov)
	for _, v := range f.views {
		f.maps = append(f.maps, viewMaps(f.lens, v))
	}
	return true
}

// viewMaps builds the remap tables that render view v from a frame seen
// through lens l.
func viewMaps(l fisheyeLens, v fisheyeView) [2]gocv.Mat {
	mx := gocv.NewMatWithSize(v.size, v.size, gocv.MatTypeCV32F)
	my := gocv.NewMatWithSize(v.size, v.size, gocv.MatTypeCV32F)
	xs, _ := mx.DataPtrFloat32()
	ys, _ := my.DataPtrFloat32()
	for y := 0; y < v.size; y++ {
		for x := 0; x < v.size; x++ {
			fx, fy := v.toFrame(l, float64(x)+0.5, float64(y)+0.5)
			xs[y*v.size+x], ys[y*v.size+x] = float32(fx-0.5), float32(fy-0.5)
		}
	}
	return [2]gocv.Mat{mx, my}
}
