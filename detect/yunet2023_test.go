//go:build cgo

package detect

import (
	"image"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// The network's outputs decode for inputs of any size: padded to
// multiples of 32, the grids match the decoder's (which checks every
// output's size), including sizes below one stride-32 cell.
func TestYuNet2023OutputsMatchGrid(t *testing.T) {
	c := openT(t, Config{Face: FaceYuNet2023, Text: TextNone})
	d := innermost(c.face).(*scaledDetector)
	for _, sz := range []image.Point{{320, 320}, {365, 648}, {608, 1080}, {33, 70}, {1, 1}, {31, 31}, {1000, 40}} {
		img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 120, 150, 0), sz.Y, sz.X, gocv.MatTypeCV8UC3)
		if _, err := d.run(img); err != nil {
			t.Errorf("%v: %v", sz, err)
		}
		img.Close()
	}
}

// One network pass at the photo's own size finds every labelled face of
// faces_dlib, each box on its face: the decoder's centres, sizes and
// scores are right. YuNet 2023mar's boxes run from brow to chin and are
// taller than dlib's square labels, so a match is an IoU of at least 0.45
// with the centres less than a third of the face apart (a face turned
// aside is labelled by dlib further round than YuNet boxes it).
func TestYuNet2023FindsLabelledFaces(t *testing.T) {
	c := openT(t, Config{Face: FaceYuNet2023, Text: TextNone})
	d := innermost(c.face).(*scaledDetector)
	dir, images, faces := loadAnnotations(t)
	tests := []struct {
		image string
		faces int
	}{
		{"2007_007763.jpg", 7}, {"2008_001009.jpg", 2}, {"2008_001322.jpg", 3}, {"2008_002079.jpg", 6},
		{"2008_002470.jpg", 6}, {"2008_002506.jpg", 3}, {"2008_004176.jpg", 7}, {"2008_007676.jpg", 7},
		{"2009_004587.jpg", 2},
	}
	if len(tests) != len(images) {
		t.Fatalf("%d images in the table, %d labelled", len(tests), len(images))
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			gt := faces[tc.image]
			if len(gt) != tc.faces {
				t.Fatalf("%d labelled faces, want %d", len(gt), tc.faces)
			}
			img := gocv.IMRead(filepath.Join(dir, tc.image), gocv.IMReadColor)
			defer img.Close()
			boxes, err := d.run(img)
			if err != nil {
				t.Fatal(err)
			}
			boxes = NMS(boxes, defaultNMS)
			for _, g := range gt {
				gb := boxFromRect(g, 1, LabelFace)
				best, bestIoU := Box{}, 0.0
				for _, b := range boxes {
					if iou := IoU(b, gb); iou > bestIoU {
						best, bestIoU = b, iou
					}
				}
				dx := float64(best.X+best.W/2) - float64(g.Min.X+g.Max.X)/2
				dy := float64(best.Y+best.H/2) - float64(g.Min.Y+g.Max.Y)/2
				if bestIoU < 0.45 || dx*dx+dy*dy > float64(g.Dx()*g.Dx())/9 || best.Score < DefaultFaceThreshold[FaceYuNet2023] {
					t.Errorf("face %v: best box %+v, IoU %.2f", g, best, bestIoU)
				}
			}
		})
	}
}
