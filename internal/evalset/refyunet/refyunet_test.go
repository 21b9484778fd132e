//go:build cgo

package refyunet

import (
	"image"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
)

// Both layouts find the labelled faces of the tuning photos: each face's
// box overlaps a detection by IoU 0.4 or more.
func TestFindsLabelledFaces(t *testing.T) {
	shared := evalset.DefaultShared()
	photos, err := evalset.Photos(shared, evalset.Tuning)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{V2022, V2023} {
		for _, thr := range []float64{0.3, 0.8} {
			d, err := Open(filepath.Join(shared, "models"), v, thr, PlainScales)
			if err != nil {
				t.Fatal(err)
			}
			found, total, dets := 0, 0, 0
			for _, ph := range photos {
				img := gocv.IMRead(ph.Path, gocv.IMReadColor)
				faces, err := d.Detect(img)
				img.Close()
				if err != nil {
					t.Fatal(err)
				}
				dets += len(faces)
				for _, g := range ph.Faces {
					total++
					for _, f := range faces {
						if overlap(g, f.Rect) >= 0.4 {
							found++
							break
						}
					}
				}
			}
			t.Logf("%s: %d of %d faces, %d detections", d.Name(), found, total, dets)
			if float64(found) < 0.8*float64(total) || dets > 3*total {
				t.Errorf("%s: %d of %d faces found with %d detections", d.Name(), found, total, dets)
			}
			d.Close()
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir(), V2022, 0.5, PlainScales); err == nil {
		t.Error("missing model accepted")
	}
	if _, err := Open(t.TempDir(), "2021dec", 0.5, PlainScales); err == nil {
		t.Error("unknown version accepted")
	}
	_ = image.Point{}
}
