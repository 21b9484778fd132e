//go:build cgo && matprofile

package redact

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
)

// TestNoMatLeaks runs every entry point that touches OpenCV (redact with a
// rotated input, so that the rotation scratch Mat is used, detect on a
// video and on an image, and the default detector with its extra face
// views) and checks that every Mat was closed.
//
//	go test -tags matprofile ./redact -run TestNoMatLeaks
func TestNoMatLeaks(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	upright := facesClip(t, dir, "upright.mp4", "0.5")
	sideways := makeClip(t, dir, "sideways.mp4", "-i", upright, "-vf", "transpose=clock", "-c:v", "libx264",
		"-preset", "ultrafast", "-c:a", "copy")
	rotated := makeClip(t, dir, "rotated.mp4", "-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=90")
	base := gocv.MatProfile.Count()
	det := newHaar(t, 3)
	rep, err := Redact(ctx, rotated, filepath.Join(dir, "out.mp4"), Options{ScanOptions: ScanOptions{Detector: det, Every: 2},
		ReviewDir: filepath.Join(dir, "review")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tracks) == 0 {
		t.Fatal("nothing detected: the detection path was not exercised")
	}
	if _, err := DetectVideo(ctx, upright, ScanOptions{Detector: det}, func(Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := DetectImage(ctx, testenv.Shared(t, "data/faces_dlib/2008_002506.jpg"), ScanOptions{Detector: det}); err != nil {
		t.Fatal(err)
	}
	// The default detector with every extra face view forced on (turned,
	// contrast-normalised, fisheye edge views), across the small-face
	// cadence.
	views, _, err := detect.Open(detect.Config{RotatedFaces: detect.PassOn, Contrast: detect.PassOn, Fisheye: detect.PassOn,
		SmallFaceEvery: 2, Heads: detect.HeadsOff, Text: detect.TextNone})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DetectVideo(ctx, upright, ScanOptions{Detector: views, Every: 4}, func(Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	views.Close()
	if n := gocv.MatProfile.Count() - base; n != 0 {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Errorf("%d Mats leaked:\n%s", n, b.String())
	}
}
