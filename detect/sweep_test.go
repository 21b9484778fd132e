//go:build cgo

package detect

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// sweepRate runs one network input (no pyramid) on a window around every
// ground-truth face rescaled to side px, and returns the share of faces
// redacted by that single pass.
func sweepRate(t *testing.T, d *scaledDetector, side int, inW, inH int) float64 {
	dir, images, faces := loadAnnotations(t)
	found, total := 0, 0
	for _, name := range images {
		img := gocv.IMRead(filepath.Join(dir, name), gocv.IMReadColor)
		for _, g := range faces[name] {
			s := float64(side) / float64(g.Dx())
			sz := scaledSize(img.Cols(), img.Rows(), s)
			sx, sy := float64(sz.X)/float64(img.Cols()), float64(sz.Y)/float64(img.Rows())
			level := resized(img, sz)
			gs := scaleBox(boxFromRect(g, 1, LabelFace), image.Point{}, 1/sx, 1/sy).Rect()
			c := image.Pt((gs.Min.X+gs.Max.X)/2, (gs.Min.Y+gs.Max.Y)/2)
			win := image.Rect(c.X-inW/2, c.Y-inH/2, c.X-inW/2+inW, c.Y-inH/2+inH).Intersect(image.Rect(0, 0, sz.X, sz.Y))
			roi := level.Region(win)
			in := padTo(roi, inW, inH, d.fill)
			boxes, err := d.run(in)
			in.Close()
			roi.Close()
			level.Close()
			if err != nil {
				t.Fatal(err)
			}
			var masks []image.Rectangle
			for _, b := range boxes {
				b.X += win.Min.X
				b.Y += win.Min.Y
				masks = append(masks, Expand(b, DefaultMargin, image.Rectangle{}).Rect())
			}
			total++
			if Coverage(gs.Intersect(image.Rect(0, 0, sz.X, sz.Y)), masks) >= redactedCoverage {
				found++
			}
		}
		img.Close()
	}
	return ratio(found, total)
}

// TestFaceSizeSweep measures, per model, the share of the 43 faces_dlib
// faces one network pass finds when rescaled to a given side. It is how
// the faceRange of each model was chosen; it asserts that every model
// finds nearly all faces inside its declared range.
// Run: go test ./detect -eval -run TestFaceSizeSweep -v
func TestFaceSizeSweep(t *testing.T) {
	needEval(t)
	models := sharedModels(t)
	sides := []int{8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256, 288, 320}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-18s", "face side px")
	for _, s := range sides {
		fmt.Fprintf(&b, "%5d", s)
	}
	b.WriteString("\n")
	for _, kind := range []string{FaceYuNet, FaceUltraFace, FaceSSD} {
		c, _, err := OpenComposite(Config{Face: kind, Text: TextNone, ModelsDir: models, FaceThreshold: 0})
		if err != nil {
			t.Fatal(err)
		}
		d := innermost(c.face).(*scaledDetector)
		inW, inH := d.inW, d.inH
		if inW == 0 {
			inW, inH = 640, 640
		}
		fmt.Fprintf(&b, "%-18s", d.Name())
		for _, s := range sides {
			if s > min(inW, inH) {
				b.WriteString("    -")
				continue
			}
			r := sweepRate(t, d, s, inW, inH)
			fmt.Fprintf(&b, "%5.0f", 100*r)
			if float64(s) >= d.rng.min && float64(s) <= d.rng.max && r < 0.95 {
				t.Errorf("%s: one pass finds only %.0f%% of %d px faces, inside its declared range %v", d.Name(), 100*r, s, d.rng)
			}
		}
		b.WriteString("\n")
		c.Close()
	}
	t.Log(b.String())
}
