//go:build cgo

package detect

import (
	"image"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// cctvFrame is a 720p frame with faces_dlib's 2008_007676 (seven people)
// seen from above and small, as a ceiling camera sees a group, shifted
// dx pixels right.
func cctvFrame(t testing.TB, dx int) gocv.Mat {
	t.Helper()
	img := readFrame(t, testenv.Shared(t, "data/faces_dlib/2008_007676.jpg"))
	img, _ = lookDown(img, nil, 0.5, 0.7)
	img, _ = onCanvas(img, nil, image.Pt(1280, 720), 0.7)
	if dx == 0 {
		return img
	}
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	m.SetDoubleAt(0, 0, 1)
	m.SetDoubleAt(1, 1, 1)
	m.SetDoubleAt(0, 2, float64(dx))
	out := gocv.NewMat()
	gocv.WarpAffineWithParams(img, &out, m, image.Pt(img.Cols(), img.Rows()), gocv.InterpolationLinear, gocv.BorderConstant, color100)
	img.Close()
	return out
}

func labelled(boxes []Box, l Label) []Box {
	var out []Box
	for _, b := range boxes {
		if b.Label == l {
			out = append(out, b)
		}
	}
	return out
}

// TestHeadsComposite: with heads on, people seen from above whose faces
// YuNet misses get head boxes; between person passes the heads are
// followed as the people move; heads off finds none; the audit names the
// person model.
func TestHeadsComposite(t *testing.T) {
	frame := cctvFrame(t, 0)
	defer frame.Close()
	moved := cctvFrame(t, 24)
	defer moved.Close()

	// The face search of before the extra views (YuNet 2022mar at 0.5,
	// upright, faces of 20 px and up), which misses faces seen from above:
	// the defaults find a face for every person here.
	plain := Config{Face: FaceYuNet, FaceThreshold: 0.5, Text: TextNone, MinFace: 20, RotatedFaces: PassOff, Contrast: PassOff, Fisheye: PassOff,
		ModelsDir: sharedModels(t)}
	cfg := plain
	cfg.Heads = HeadsOff
	off, _, err := OpenComposite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	boxes, err := off.Detect(frame)
	if err != nil {
		t.Fatal(err)
	}
	if h := labelled(boxes, LabelHead); len(h) != 0 || strings.Contains(off.Name(), ModelYOLOXNano) || len(off.Models()) != 1 {
		t.Fatalf("heads off: heads %v, name %s, models %v", h, off.Name(), off.Models())
	}
	faces := len(labelled(boxes, LabelFace))

	cfg = plain
	cfg.Heads, cfg.HeadsEvery = HeadsOn, 2
	on, _, err := OpenComposite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	if !strings.HasSuffix(on.Name(), "+yolox-nano:heads-on") || on.Models()[1].Name != ModelYOLOXNano {
		t.Errorf("name %s, models %v", on.Name(), on.Models())
	}
	boxes, err = on.Detect(frame)
	if err != nil {
		t.Fatal(err)
	}
	heads := labelled(boxes, LabelHead)
	t.Logf("%d faces found, %d heads of people without one", faces, len(heads))
	if faces >= 7 || len(heads) == 0 || len(heads) > 7 {
		t.Fatalf("7 people from above: %d faces, heads %v", faces, heads)
	}
	// The next call has no person pass (every 2nd): the heads follow the
	// people 24 px to the right.
	boxes, err = on.Detect(moved)
	if err != nil {
		t.Fatal(err)
	}
	if run, _ := on.PersonPasses(); run != 1 {
		t.Fatalf("%d person passes after two calls, want 1", run)
	}
	followed := labelled(boxes, LabelHead)
	if len(followed) < len(heads)/2 {
		t.Fatalf("followed %d of %d heads", len(followed), len(heads))
	}
	for _, f := range followed {
		ok := false
		for _, h := range heads {
			if f.W == h.W && f.H == h.H && abs(f.X-h.X-24) <= 3 && abs(f.Y-h.Y) <= 3 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("followed head %v is not a head of %v moved 24 px", f, heads)
		}
	}
}

func abs(x int) int { return max(x, -x) }

// TestHeadsAutoCue: --heads auto runs the person pass while the camera is
// still and stops it after three calls of a moving camera, and runs it
// again as soon as the camera is still.
func TestHeadsAutoCue(t *testing.T) {
	a := cctvFrame(t, 0)
	defer a.Close()
	b := readFrame(t, testenv.Shared(t, "data/faces_dlib/2008_002470.jpg"))
	defer b.Close()
	bb := resized(b, image.Pt(1280, 720))
	defer bb.Close()
	c, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, HeadsEvery: 1, ModelsDir: sharedModels(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.HeadsMode() != HeadsAuto {
		t.Fatalf("default heads mode %q", c.HeadsMode())
	}
	calls := func(frames ...gocv.Mat) {
		for _, f := range frames {
			if _, err := c.Detect(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls(a, a, a) // still: a pass each call
	if run, skipped := c.PersonPasses(); run != 3 || skipped != 0 {
		t.Fatalf("still camera: %d run, %d skipped", run, skipped)
	}
	calls(bb, a, bb, a, bb) // every pair changes: moving from the third
	run, skipped := c.PersonPasses()
	if run != 5 || skipped != 3 {
		t.Fatalf("moving camera: %d run, %d skipped, want 5 and 3", run, skipped)
	}
	calls(bb) // still again
	if run2, _ := c.PersonPasses(); run2 != run+1 {
		t.Fatalf("camera still again: no pass")
	}
}
