//go:build matprofile && cgo

package refyunet

import (
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
)

// TestLeakMats runs both layouts over a photo, a tiny frame (padded) and
// an empty one (refused), at scales that resize and that do not, and fails
// if any Mat is left open. Run: go test -tags matprofile ./internal/evalset/refyunet -run Leak
func TestLeakMats(t *testing.T) {
	shared := evalset.DefaultShared()
	frames := []gocv.Mat{
		gocv.IMRead(filepath.Join(shared, "data", "faces_dlib", "2008_007676.jpg"), gocv.IMReadColor),
		gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 47, 33, gocv.MatTypeCV8UC3),
		gocv.NewMat(),
	}
	before := gocv.MatProfile.Count()
	for _, v := range []string{V2022, V2023} {
		d, err := Open(filepath.Join(shared, "models"), v, 0.5, []float64{1, 0.5, 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			d.Detect(f)
		}
		d.Close()
	}
	if n := gocv.MatProfile.Count() - before; n != 0 {
		t.Errorf("%d Mats left open", n)
	}
	for _, f := range frames {
		f.Close()
	}
}
