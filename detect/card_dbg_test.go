//go:build cgo

package detect

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/evalset"
	"gocv.io/x/gocv"
)

func TestCardDebug(t *testing.T) {
	scene := os.Getenv("CARD_SCENE")
	if scene == "" {
		t.Skip()
	}
	set := benchSet(t, evalset.Split(*cardSplit), "badges")
	for _, it := range set.Items {
		if filepath.Base(it.Path) != scene {
			continue
		}
		img := gocv.IMRead(it.Path, gocv.IMReadColor)
		defer img.Close()
		for _, tr := range it.Truth {
			if tr.Kind == evalset.KindFace {
				f := boxFromRect(tr.Quad.Bounds(), 1, LabelFace)
				a := anchors([]Box{f})[0]
				t.Logf("face %v zone %v", f.Rect(), a.zone())
				cardDebug = func(s string) { t.Log("  " + s) }
				pickCard(findCards(img, a), a.unit)
				cardDebug = nil
			} else {
				t.Logf("card %v %s", tr.Quad.Bounds(), strings.Join(tr.Tags, " "))
			}
		}
		if dir := os.Getenv("CARD_DUMP"); dir != "" {
			for _, tr := range it.Truth {
				if tr.Kind != evalset.KindFace {
					continue
				}
				a := anchors([]Box{boxFromRect(tr.Quad.Bounds(), 1, LabelFace)})[0]
				dumpZone(t, img, a, dir)
			}
		}
	}
}

func dumpZone(t *testing.T, img gocv.Mat, a anchor, dir string) {
	zone := a.zone().Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	s := cardUnit / a.unit
	sz := image.Pt(int(float64(zone.Dx())*s), int(float64(zone.Dy())*s))
	roi := img.Region(zone)
	defer roi.Close()
	z := resized(roi, sz)
	defer z.Close()
	g := colourGradient(z)
	defer g.Close()
	name := fmt.Sprintf("%s/z%d_%d", dir, zone.Min.X, zone.Min.Y)
	gocv.IMWrite(name+".png", z)
	gocv.IMWrite(name+"_g.png", g)
	c := colourBlobs(z, cardUnit/4)
	defer c.Close()
	gocv.IMWrite(name+"_c.png", c)
	o := gradientBlobs(g, 50, 0, cardUnit/4)
	defer o.Close()
	gocv.IMWrite(name+"_o.png", o)
	d := gradientBlobs(g, 90, cardUnit/8, cardUnit/10)
	defer d.Close()
	gocv.IMWrite(name+"_d.png", d)
}

func TestCardDebugImage(t *testing.T) {
	path := os.Getenv("CARD_IMG")
	if path == "" {
		t.Skip()
	}
	img := gocv.IMRead(path, gocv.IMReadColor)
	defer img.Close()
	c := openT(t, Config{Face: FaceYuNet})
	faces, err := c.DetectFaces(img)
	if err != nil {
		t.Fatal(err)
	}
	cardDebug = func(s string) {
		if strings.HasPrefix(s, "text") || strings.HasPrefix(s, "pick") {
			t.Log("  " + s)
		}
	}
	defer func() { cardDebug = nil }()
	boxes, err := c.DetectText(img, faces)
	t.Logf("boxes %v %v", boxes, err)
}
