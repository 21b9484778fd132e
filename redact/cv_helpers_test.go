//go:build cgo

package redact

import (
	"fmt"
	"image"
	"sync/atomic"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
)

// haarDetector is a small stand-in detector for the redactor's tests:
// OpenCV's frontal-face cascade from Debian's opencv-data. The real
// detectors live in package detect; the redactor only needs the interface.
type haarDetector struct {
	cc        gocv.CascadeClassifier
	neighbors int
	calls     atomic.Int64
}

const haarCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"

func newHaar(t testing.TB, neighbors int) *haarDetector {
	t.Helper()
	cc := gocv.NewCascadeClassifier()
	if !cc.Load(haarCascade) {
		cc.Close()
		t.Fatalf("cannot load %s (install opencv-data)", haarCascade)
	}
	d := &haarDetector{cc: cc, neighbors: neighbors}
	t.Cleanup(func() { d.Close() })
	return d
}

func (h *haarDetector) Name() string { return fmt.Sprintf("test-haar-alt2-n%d", h.neighbors) }

func (h *haarDetector) Models() []detect.Model {
	return []detect.Model{{Name: "haarcascade_frontalface_alt2", Path: haarCascade, SHA256: "test"}}
}

func (h *haarDetector) Detect(img gocv.Mat) ([]detect.Box, error) {
	h.calls.Add(1)
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	gocv.EqualizeHist(gray, &gray)
	rects := h.cc.DetectMultiScaleWithParams(gray, 1.1, h.neighbors, 0, image.Pt(20, 20), image.Pt(0, 0))
	out := make([]detect.Box, 0, len(rects))
	for _, r := range rects {
		out = append(out, detect.Box{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Score: 0.9, Label: detect.LabelFace})
	}
	return out, nil
}

func (h *haarDetector) Close() error { return h.cc.Close() }

// countFaces runs d on every frame of a video (decoded by OpenCV's own
// ffmpeg backend, independently of custody's pipeline) and returns the
// number of detections.
func countFaces(t testing.TB, d detect.Detector, path string) (faces, frames int) {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	for vc.Read(&img) {
		if img.Empty() {
			break
		}
		boxes, err := d.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		faces += len(boxes)
		frames++
	}
	return faces, frames
}
