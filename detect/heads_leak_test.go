//go:build matprofile && cgo

package detect

import (
	"bytes"
	"testing"

	"gocv.io/x/gocv"
)

// TestLeakMatsHeads runs the person pass, head following between passes,
// the auto cue on a changing picture, and a reset, and fails if any Mat
// is left open. Run with: go test -tags matprofile ./detect -run Leak
func TestLeakMatsHeads(t *testing.T) {
	a, b := cctvFrame(t, 0), cctvFrame(t, 24)
	small := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 47, 33, gocv.MatTypeCV8UC3)
	empty := gocv.NewMat()
	before := gocv.MatProfile.Count()
	for _, mode := range []string{HeadsOn, HeadsAuto} {
		d, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, Heads: mode, HeadsEvery: 2, ModelsDir: sharedModels(t)})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []gocv.Mat{a, b, a, b, small, a, empty} {
			d.Detect(f) // the empty frame's error must not leak either
		}
		d.ResetCadence()
		d.Detect(a)
		d.Close()
	}
	if after := gocv.MatProfile.Count(); after != before {
		var buf bytes.Buffer
		gocv.MatProfile.WriteTo(&buf, 1)
		t.Errorf("%d Mats leaked:\n%s", after-before, buf.String())
	}
	a.Close()
	b.Close()
	small.Close()
	empty.Close()
}
