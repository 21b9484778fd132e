//go:build matprofile && cgo

package detect

import (
	"bytes"
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestLeakMats runs every detector and text mode over real frames, a badge
// scene, tiny and invalid frames, and fails if any Mat (including regions)
// is left open. Run with: go test -tags matprofile ./detect -run Leak
func TestLeakMats(t *testing.T) {
	frames := []gocv.Mat{
		readFrame(t, testenv.Shared(t, "data/faces_dlib/2008_007676.jpg")),
		readFrame(t, testenv.Shared(t, "models/ppocr_det/sample.jpg")),
		gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 47, 33, gocv.MatTypeCV8UC3),
		gocv.NewMat(),
	}
	scene, _ := badgeScene(t, color.RGBA{R: 245, G: 245, B: 245}, true, 0)
	frames = append(frames, scene)
	// A fisheye frame (an image circle): the edge views and their remap
	// tables, built and dropped when the lens changes.
	fish, _ := fisheyeVariant(200)(frames[0], []image.Rectangle{image.Rect(0, 0, 40, 40)}, 1)
	frames = append(frames, fish)
	before := gocv.MatProfile.Count()

	for _, cfg := range []Config{
		// Every extra view, planned for larger faces than the defaults'
		// (the same code, fewer passes: the test runs in minutes).
		{Face: FaceYuNet2023, Text: TextNone, RotatedFaces: PassOn, Contrast: PassOn, Fisheye: PassOn, MinFace: 40, ViewMinFace: 40},
		{Face: FaceYuNet2023, Text: TextBadges, SmallFaceEvery: 2, MinFace: 20},
		{Face: FaceYuNet, Text: TextBadges},
		{Face: FaceUltraFace, Text: TextAll},
		{Face: FaceSSD, Text: TextNone, RotatedFaces: PassOn},
		{Face: FaceHaar, Text: TextBadges},
		{Face: FaceYuNet, Text: TextBadgeZone},
		{Face: FaceYuNet, Text: TextBadges, TextEvery: 2}, // card outlines between text passes
	} {
		// The person pass has its own leak test (heads_leak_test.go).
		cfg.ModelsDir, cfg.Heads = sharedModels(t), HeadsOff
		d, _, err := OpenComposite(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			d.Detect(f) // errors (the empty frame) must not leak either
			if cfg.SmallFaceEvery > 1 {
				d.Detect(f) // a coarse call: no turned or fisheye views
			}
		}
		// Text at several sizes, so the per-size cache builds and evicts.
		if d.text != nil {
			for i := 0; i < maxTextNets+2; i++ {
				sz := image.Pt(64+32*i, 96)
				small := resized(frames[1], sz)
				d.DetectText(small, nil)
				// The card finder, on a face at the edge of the frame.
				d.DetectText(small, []Box{{X: sz.X / 3, Y: 10, W: 30, H: 30, Score: 0.9, Label: LabelFace}})
				small.Close()
			}
		}
		d.Close()
	}
	if after := gocv.MatProfile.Count(); after != before {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Errorf("%d Mats leaked:\n%s", after-before, b.String())
	}
	closeAll(frames)
	if n := gocv.MatProfile.Count(); n != 0 {
		t.Errorf("%d Mats open at the end", n)
	}
}
