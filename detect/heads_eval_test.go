//go:build cgo

package detect

import (
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// headVariant turns a labelled photo into a harder view, carrying the face
// boxes along.
type headVariant struct {
	name string
	// squash is the vertical foreshortening of a camera looking down (1:
	// none), narrow the width of the bottom edge relative to the top
	// (feet farther from the camera than heads).
	squash, narrow float64
	// canvas, when set, shrinks the view by scale onto a grey frame of
	// this size: people small in a wide CCTV picture.
	canvas image.Point
	scale  float64
	turn   int // 90: people lying down
}

var headVariants = []headVariant{
	{name: "as is", squash: 1, narrow: 1},
	{name: "from above (0.6)", squash: 0.6, narrow: 0.75},
	{name: "from above (0.4)", squash: 0.4, narrow: 0.6},
	{name: "CCTV 720p from above", squash: 0.5, narrow: 0.7, canvas: image.Pt(1280, 720), scale: 0.7},
	{name: "lying (quarter turn)", squash: 1, narrow: 1, turn: 90},
}

// apply returns the variant of img and its face boxes; it closes img.
func (v headVariant) apply(img gocv.Mat, gt []image.Rectangle) (gocv.Mat, []image.Rectangle) {
	if v.squash != 1 || v.narrow != 1 {
		img, gt = lookDown(img, gt, v.squash, v.narrow)
	}
	if v.canvas != (image.Point{}) {
		img, gt = onCanvas(img, gt, v.canvas, v.scale)
	}
	if v.turn != 0 {
		img, gt = turnImage(img, gt, v.turn)
	}
	return img, gt
}

// lookDown warps img as a camera looking down on the scene would see it:
// heights foreshortened by squash, the bottom edge narrower by narrow.
// Face boxes become the bounding boxes of their warped corners.
func lookDown(img gocv.Mat, gt []image.Rectangle, squash, narrow float64) (gocv.Mat, []image.Rectangle) {
	w, h := img.Cols(), img.Rows()
	nh := int(math.Round(float64(h) * squash))
	inset := int(math.Round(float64(w) * (1 - narrow) / 2))
	src := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {w, 0}, {w, h}, {0, h}})
	dst := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {w, 0}, {w - inset, nh}, {inset, nh}})
	defer src.Close()
	defer dst.Close()
	m := gocv.GetPerspectiveTransform(src, dst)
	defer m.Close()
	out := gocv.NewMat()
	gocv.WarpPerspectiveWithParams(img, &out, m, image.Pt(w, nh), gocv.InterpolationLinear, gocv.BorderConstant, color100)
	img.Close()
	apply := func(x, y float64) (float64, float64) {
		d := m.GetDoubleAt(2, 0)*x + m.GetDoubleAt(2, 1)*y + m.GetDoubleAt(2, 2)
		return (m.GetDoubleAt(0, 0)*x + m.GetDoubleAt(0, 1)*y + m.GetDoubleAt(0, 2)) / d,
			(m.GetDoubleAt(1, 0)*x + m.GetDoubleAt(1, 1)*y + m.GetDoubleAt(1, 2)) / d
	}
	var warped []image.Rectangle
	for _, g := range gt {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range []image.Point{g.Min, {g.Max.X, g.Min.Y}, g.Max, {g.Min.X, g.Max.Y}} {
			x, y := apply(float64(p.X), float64(p.Y))
			x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
		}
		warped = append(warped, image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1))))
	}
	return out, warped
}

var color100 = color.RGBA{R: 100, G: 100, B: 100}

// onCanvas shrinks img by scale and puts it in the middle of a grey frame
// of size sz.
func onCanvas(img gocv.Mat, gt []image.Rectangle, sz image.Point, scale float64) (gocv.Mat, []image.Rectangle) {
	small := resized(img, scaledSize(img.Cols(), img.Rows(), scale))
	img.Close()
	defer small.Close()
	out := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(100, 100, 100, 0), sz.Y, sz.X, gocv.MatTypeCV8UC3)
	off := image.Pt((sz.X-small.Cols())/2, (sz.Y-small.Rows())/2)
	roi := out.Region(image.Rectangle{Min: off, Max: off.Add(image.Pt(small.Cols(), small.Rows()))})
	small.CopyTo(&roi)
	roi.Close()
	var moved []image.Rectangle
	for _, g := range gt {
		b := scaleBox(boxFromRect(g, 1, LabelFace), image.Point{}, 1/scale, 1/scale)
		moved = append(moved, b.Rect().Add(off))
	}
	return out, moved
}

// headEval is one variant's figures for one split.
type headEval struct {
	faces                  int
	byFace, byHead, byBoth int // faces covered >= 70% by face masks, by all heads, by faces+heads
	withPerson             int // faces inside some person box
	faceOnlyPx, bothPx, px int
	faceDur, personDur     time.Duration
	images                 int
}

// ellipseCoverage is the share of target under the union of the ellipses
// inscribed in masks: what the redactor's default ellipse masks hide.
func ellipseCoverage(target image.Rectangle, masks []image.Rectangle) float64 {
	if target.Empty() {
		return 0
	}
	in := 0
	for y := target.Min.Y; y < target.Max.Y; y++ {
		for x := target.Min.X; x < target.Max.X; x++ {
			for _, m := range masks {
				if inEllipse(image.Pt(x, y), m) {
					in++
					break
				}
			}
		}
	}
	return float64(in) / float64(target.Dx()*target.Dy())
}

func inEllipse(p image.Point, r image.Rectangle) bool {
	if !p.In(r) {
		return false
	}
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	a, b := float64(r.Dx())/2, float64(r.Dy())/2
	dx, dy := (float64(p.X)+0.5-cx)/a, (float64(p.Y)+0.5-cy)/b
	return dx*dx+dy*dy <= 1
}

// ellipseArea is the number of frame pixels under the union of the
// ellipses inscribed in masks.
func ellipseArea(masks []image.Rectangle, w, h int) int {
	return int(ellipseCoverage(image.Rect(0, 0, w, h), masks) * float64(w*h))
}

// maskRects is what the redactor masks for boxes: each grown by the
// ellipse margin (faces and heads are ellipses by default).
func maskRects(boxes []Box, w, h int) []image.Rectangle {
	return Rects(ExpandAll(boxes, 0.2072, image.Rect(0, 0, w, h)))
}

// TestEvalHeads measures heads on faces_dlib and its synthetic views
// (seen from above, small in a CCTV frame, lying down), per dlib split
// (training, testing): the head geometry was drawn from all 43 faces, so
// the testing split is not held out from it; the thresholds are not tuned
// here. For each labelled face: is it covered >= 70% (by the ellipses the
// redactor paints) by YuNet's face masks alone (heads off), by the head
// region of every person YOLOX-Nano finds (the head estimate alone,
// whether or not the face was found), and by faces plus heads (heads on)?
// Also the masked share of the picture and the time per image.
//
//	go test ./detect -eval -run TestEvalHeads -v
func TestEvalHeads(t *testing.T) {
	needEval(t)
	models := sharedModels(t)
	faceOnly, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, Heads: HeadsOff, ModelsDir: models})
	if err != nil {
		t.Fatal(err)
	}
	defer faceOnly.Close()
	people, err := newPeople(models, Config{PersonThreshold: DefaultPersonThreshold, PersonWholeOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer people.Close()
	tiled, err := newPeople(models, Config{PersonThreshold: DefaultPersonThreshold})
	if err != nil {
		t.Fatal(err)
	}
	defer tiled.Close()
	dir, images, gt := loadAnnotations(t)
	split := dlibSplits(t)

	var b strings.Builder
	fmt.Fprintf(&b, "\n%-22s %-5s %-8s %5s | %6s %6s %6s | %7s %7s | %7s %7s\n", "variant", "tiles", "split", "faces",
		"faces", "heads", "both", "mask f", "mask fh", "ms face", "ms pers")
	for _, v := range headVariants {
		for _, pd := range []*peopleDetector{people, tiled} {
			if pd.tiles && v.canvas == (image.Point{}) {
				continue // tiles only for wide frames
			}
			res := map[string]*headEval{"training": {}, "testing": {}}
			for _, name := range images {
				img := readFrame(t, filepath.Join(dir, name))
				img, faces := v.apply(img, gt[name])
				r := res[split[name]]
				evalHeadsImage(t, faceOnly, pd, img, faces, r)
				img.Close()
			}
			for _, s := range []string{"training", "testing"} {
				r := res[s]
				fmt.Fprintf(&b, "%-22s %-5v %-8s %5d | %5.0f%% %5.0f%% %5.0f%% | %6.1f%% %6.1f%% | %7.0f %7.0f\n",
					v.name, pd.tiles, s, r.faces, pct(r.byFace, r.faces), pct(r.byHead, r.faces), pct(r.byBoth, r.faces),
					pct(r.faceOnlyPx, r.px), pct(r.bothPx, r.px),
					ms(r.faceDur, r.images), ms(r.personDur, r.images))
			}
		}
	}
	b.WriteString("faces/heads/both: labelled faces covered >= 70% by the ellipse masks of YuNet's faces (heads off), of the\n" +
		"head regions of every person found (the estimate alone), and of faces plus the heads of people without a found face\n" +
		"(heads on). mask: share of the picture masked, faces only and faces+heads. ms: per image, face detector and person pass.\n")
	t.Log(b.String())
}

func pct(a, b int) float64 { return 100 * ratio(a, b) }

func ms(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(max(1, n)) }

func evalHeadsImage(t *testing.T, faceOnly *Composite, pd *peopleDetector, img gocv.Mat, gt []image.Rectangle, r *headEval) {
	t.Helper()
	w, h := img.Cols(), img.Rows()
	faceOnly.ResetCadence()
	t0 := time.Now()
	faces, err := faceOnly.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	persons, err := pd.detect(img)
	if err != nil {
		t.Fatal(err)
	}
	r.faceDur += t1.Sub(t0)
	r.personDur += time.Since(t1)
	r.images++
	allHeads := headsWithoutFaces(persons, nil)
	heads := headsWithoutFaces(persons, faces)
	fm := maskRects(faces, w, h)
	hm := maskRects(allHeads, w, h)
	bm := maskRects(append(append([]Box(nil), faces...), heads...), w, h)
	for _, g := range gt {
		r.faces++
		if ellipseCoverage(g, fm) >= redactedCoverage {
			r.byFace++
		}
		if ellipseCoverage(g, hm) >= redactedCoverage {
			r.byHead++
		}
		if ellipseCoverage(g, bm) >= redactedCoverage {
			r.byBoth++
		}
	}
	r.faceOnlyPx += ellipseArea(fm, w, h)
	r.bothPx += ellipseArea(bm, w, h)
	r.px += w * h
}

// dlibSplits maps each image to its split (training or testing).
func dlibSplits(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(testenv.Shared(t, "data/faces_dlib/annotations_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		out[r[0]] = r[5]
	}
	return out
}
