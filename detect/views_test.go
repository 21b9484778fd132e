//go:build cgo

package detect

import (
	"testing"
)

// scoreSplit runs a detector over one variant of a dlib split.
func scoreSplit(t *testing.T, d Detector, b *faceBench, variant string) evalResult {
	t.Helper()
	r := runBench(t, d, &faceBench{split: b.split, variants: []string{variant}, samples: b.samples})
	return *r.by[variant]
}

// On faces_dlib seen through a synthetic 240° fisheye, the edge views find
// faces the frame search misses, and only on frames that show an image
// circle: a plain photo gets exactly the boxes it gets without them.
func TestFisheyeViewsFindEdgeFaces(t *testing.T) {
	b := newFaceBench(t, "training", []faceVariant{faceVariants[0], {"fisheye 240", fisheyeVariant(240)}})
	defer b.Close()
	base := Config{Face: FaceYuNet2023, Text: TextNone, RotatedFaces: PassOff, Contrast: PassOff}
	off, auto := base, base
	off.Fisheye = PassOff
	dOff, dAuto := openT(t, off), openT(t, auto)
	without, with := scoreSplit(t, dOff, b, "fisheye 240"), scoreSplit(t, dAuto, b, "fisheye 240")
	t.Logf("fisheye 240: recall %.3f without views, %.3f with", without.recall(), with.recall())
	if with.redacted <= without.redacted {
		t.Errorf("the views found nothing more: %d of %d faces without, %d with", without.redacted, without.faces, with.redacted)
	}
	for _, s := range b.samples["plain"] {
		x, err := dOff.Detect(s.img)
		if err != nil {
			t.Fatal(err)
		}
		y, err := dAuto.Detect(s.img)
		if err != nil {
			t.Fatal(err)
		}
		if len(x) != len(y) {
			t.Errorf("%s: %d boxes without views, %d with fisheye auto on a plain photo", s.name, len(x), len(y))
		}
	}
}

// On faces_dlib darkened to night levels, the contrast-normalised copy
// finds faces the frame itself hides; on photos lit normally it does not
// run (the boxes are the same).
func TestContrastFindsDarkFaces(t *testing.T) {
	b := newFaceBench(t, "training", []faceVariant{faceVariants[0], {"very dark", darkVariant(3, 0.25, 6)}})
	defer b.Close()
	base := Config{Face: FaceYuNet2023, Text: TextNone, RotatedFaces: PassOff, Fisheye: PassOff}
	off, auto := base, base
	off.Contrast = PassOff
	dOff, dAuto := openT(t, off), openT(t, auto)
	without, with := scoreSplit(t, dOff, b, "very dark"), scoreSplit(t, dAuto, b, "very dark")
	t.Logf("very dark: recall %.3f without, %.3f with the contrast copy", without.recall(), with.recall())
	if with.redacted <= without.redacted {
		t.Errorf("contrast found nothing more: %d of %d faces without, %d with", without.redacted, without.faces, with.redacted)
	}
	for _, s := range b.samples["plain"] {
		if l := meanLuma(s.img); l < defaultDarkLuma {
			continue
		}
		x, _ := dOff.Detect(s.img)
		y, _ := dAuto.Detect(s.img)
		if len(x) != len(y) {
			t.Errorf("%s (not dark): %d boxes without, %d with contrast auto", s.name, len(x), len(y))
		}
	}
}

// RotatedFaces auto searches the turned frame on the calls that run every
// pass only: with SmallFaceEvery 2, the first call finds faces turned a
// quarter turn and the second (coarse) call does not; RotatedFaces on finds
// them on every call, and off on none.
func TestRotatedFacesAuto(t *testing.T) {
	b := newFaceBench(t, "training", []faceVariant{{"turn 90cw", faceVariants[7].make}})
	defer b.Close()
	if faceVariants[7].name != "turn 90cw" {
		t.Fatalf("variant 7 is %s", faceVariants[7].name)
	}
	count := func(mode string) [2]int {
		d := openT(t, Config{Face: FaceYuNet2023, Text: TextNone, RotatedFaces: mode, SmallFaceEvery: 2})
		var found [2]int
		for _, s := range b.samples["turn 90cw"] {
			d.ResetCadence()
			for call := range 2 {
				boxes, err := d.DetectFaces(s.img)
				if err != nil {
					t.Fatal(err)
				}
				var r evalResult
				r.score(s.name, s.img.Cols(), s.img.Rows(), s.gt, boxes)
				found[call] += r.redacted
			}
		}
		return found
	}
	auto, on, off := count(PassAuto), count(PassOn), count(PassOff)
	t.Logf("faces found on calls 1 and 2: auto %v, on %v, off %v (of 18)", auto, on, off)
	if auto[0] != on[0] || auto[0] <= off[0] {
		t.Errorf("first call: auto %d, on %d, off %d: auto must search the turned frame", auto[0], on[0], off[0])
	}
	if auto[1] >= on[1] || on[1] <= off[1] {
		t.Errorf("second call: auto %d, on %d, off %d: only on searches the turned frame between full searches", auto[1], on[1], off[1])
	}
}
