//go:build cgo

package detect

import "gocv.io/x/gocv"

// coarseDetector is a face detector whose finest pass, the one for the
// smallest faces, can be left out (Config.SmallFaceEvery).
type coarseDetector interface {
	detectCoarse(img gocv.Mat) ([]Box, error)
}

// Detector finds identifying regions in one BGR frame (gocv.MatTypeCV8UC3).
// Detect must not modify img and must close every Mat it creates.
// A Detector is not safe for concurrent use.
type Detector interface {
	// Name is the stable name recorded in audit entries, e.g. "yunet-2022mar".
	Name() string
	// Models lists the model files in use, with their sha256.
	Models() []Model
	Detect(img gocv.Mat) ([]Box, error)
	Close() error
}
