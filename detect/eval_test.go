//go:build cgo

package detect

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/testenv"
)

// evalFlag enables the long-running measurements (evaluation tables, the
// face-size sweep, the speed report), which print figures rather than
// check behaviour: go test ./detect -eval -run 'TestEval$' -v.
var evalFlag = flag.Bool("eval", false, "run the detection evaluation and speed reports (slow)")

func needEval(t *testing.T) {
	t.Helper()
	if !*evalFlag {
		t.Skip("measurement: run with -eval")
	}
}

// A ground-truth face counts as redacted when at least this share of its
// box lies under the union of the masks (detections grown by the margin the
// redactor applies).
const redactedCoverage = 0.70

type gtFace struct {
	image string
	rect  image.Rectangle
}

func loadAnnotations(t testing.TB) (dir string, images []string, faces map[string][]image.Rectangle) {
	t.Helper()
	csvPath := testenv.Shared(t, "data/faces_dlib/annotations_all.csv")
	dir = filepath.Dir(csvPath)
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	faces = map[string][]image.Rectangle{}
	for i, r := range rows {
		if i == 0 {
			if strings.Join(r[:5], ",") != "image,x,y,w,h" {
				t.Fatalf("unexpected header %v", r)
			}
			continue
		}
		v := make([]int, 4)
		for j := range v {
			if v[j], err = strconv.Atoi(r[j+1]); err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
		}
		if _, ok := faces[r[0]]; !ok {
			images = append(images, r[0])
		}
		faces[r[0]] = append(faces[r[0]], image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	return dir, images, faces
}

// evalResult is one detector's score over a set of images.
type evalResult struct {
	faces, redacted int
	dets, truePos   int
	maskedPx, px    int
	elapsed         time.Duration
	calls           int
	missed          []string
}

func (r evalResult) recall() float64    { return ratio(r.redacted, r.faces) }
func (r evalResult) precision() float64 { return ratio(r.truePos, r.dets) }
func (r evalResult) masked() float64    { return ratio(r.maskedPx, r.px) }
func (r evalResult) msPerImage() float64 {
	return float64(r.elapsed.Microseconds()) / 1000 / float64(max(1, r.calls))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// score adds one image's detections to r. A detection is a true positive
// when its centre lies in a ground-truth face or its IoU with one is at
// least 0.3.
func (r *evalResult) score(name string, w, h int, gt []image.Rectangle, dets []Box) {
	bounds := image.Rect(0, 0, w, h)
	masks := Rects(ExpandAll(dets, DefaultMargin, bounds))
	for _, g := range gt {
		r.faces++
		if c := Coverage(g, masks); c >= redactedCoverage {
			r.redacted++
		} else {
			r.missed = append(r.missed, fmt.Sprintf("%s@%v(%.0f%%)", name, g, 100*c))
		}
	}
	for _, d := range dets {
		r.dets++
		c := image.Pt(d.X+d.W/2, d.Y+d.H/2)
		for _, g := range gt {
			gb := boxFromRect(g, 1, LabelFace)
			if c.In(g) || IoU(d, gb) >= 0.3 {
				r.truePos++
				break
			}
		}
	}
	r.maskedPx += UnionArea(masks)
	r.px += w * h
}

// evalSet is a set of images with ground truth, possibly rescaled from the
// originals to probe small or large faces.
type evalSet struct {
	name  string
	scale float64
	turn  int // degrees counter-clockwise: 0, 45 (approximate boxes) or 90
}

func runEval(t testing.TB, d Detector, set evalSet) evalResult {
	t.Helper()
	dir, images, faces := loadAnnotations(t)
	var r evalResult
	for _, name := range images {
		img := gocv.IMRead(filepath.Join(dir, name), gocv.IMReadColor)
		if img.Empty() {
			t.Fatalf("cannot read %s", name)
		}
		gt := faces[name]
		if set.scale != 1 {
			sz := scaledSize(img.Cols(), img.Rows(), set.scale)
			sx, sy := float64(sz.X)/float64(img.Cols()), float64(sz.Y)/float64(img.Rows())
			small := resized(img, sz)
			img.Close()
			img = small
			scaled := make([]image.Rectangle, len(gt))
			for i, g := range gt {
				b := scaleBox(boxFromRect(g, 1, LabelFace), image.Point{}, 1/sx, 1/sy)
				scaled[i] = b.Rect()
			}
			gt = scaled
		}
		if set.turn != 0 {
			img, gt = turnImage(img, gt, set.turn)
		}
		t0 := time.Now()
		var dets []Box
		var err error
		if _, ok := d.(groundTruth); ok {
			for _, g := range gt {
				dets = append(dets, boxFromRect(g, 1, LabelFace))
			}
		} else {
			dets, err = d.Detect(img)
		}
		r.elapsed += time.Since(t0)
		r.calls++
		if err != nil {
			img.Close()
			t.Fatal(err)
		}
		r.score(name, img.Cols(), img.Rows(), gt, dets)
		img.Close()
	}
	return r
}

// groundTruth stands for a perfect detector in runEval: its boxes are the
// annotations.
type groundTruth struct{ Detector }

func sharedModels(t testing.TB) string {
	t.Helper()
	return filepath.Dir(filepath.Dir(testenv.Shared(t, "models/yunet/face_detection_yunet_2022mar.onnx")))
}

var evalDetectors = []string{FaceHaar, FaceYuNet, FaceUltraFace, FaceSSD}

// evalSets: the photos as they are (faces 37 to 109 px), shrunk so that
// the smallest face is 20 px (distant faces), and enlarged four times
// (faces 148 to 436 px, as close to a body camera as a face gets while
// still whole in the frame). TestEval runs the first two, TestEvalLarge
// the third (slow: 2000×1500 images searched down to 20 px faces).
var evalSets = []evalSet{{"faces_dlib", 1, 0}, {"faces_dlib 20px", 20.0 / 37, 0}, {"faces_dlib x4", 4, 0}}

// recallFloors are the recalls measured per set (of 43 faces), kept as
// floors so that a change that loses a face fails. The DNN models find
// every face except SSD one turned, low-contrast 21 px face; the Haar
// fallback misses one to two.
var recallFloors = map[string][3]float64{
	FaceHaar:      {42.0 / 43, 41.0 / 43, 41.0 / 43},
	FaceYuNet:     {1, 1, 1},
	FaceUltraFace: {1, 1, 1},
	FaceSSD:       {1, 42.0 / 43, 1},
}

// TestEval measures face coverage recall, precision and masked area on
// faces_dlib for every face detector, at full size and with 20 px faces.
// Run: go test ./detect -eval -run 'TestEval$' -v -timeout 30m
func TestEval(t *testing.T) { evalTable(t, []int{0, 1}) }

// TestEvalLarge is TestEval on the photos enlarged four times.
// Run: go test ./detect -eval -run TestEvalLarge -v -timeout 30m
func TestEvalLarge(t *testing.T) { evalTable(t, []int{2}) }

func evalTable(t *testing.T, setIdx []int) {
	needEval(t)
	models := sharedModels(t)
	var sets []evalSet
	for _, i := range setIdx {
		sets = append(sets, evalSets[i])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-18s %-16s %6s %8s %10s %8s %9s\n", "detector", "set", "faces", "recall", "precision", "masked", "ms/image")
	// Baseline: the ground truth itself, with the same margin, is how much
	// of the picture a perfect detector would mask.
	gtMasked := make([]float64, len(sets))
	for i, set := range sets {
		r := runEval(t, groundTruth{}, set)
		gtMasked[i] = r.masked()
		fmt.Fprintf(&b, "%-18s %-16s %6d %7.1f%% %9.1f%% %7.1f%% %9s\n", "(ground truth)", set.name, r.faces,
			100*r.recall(), 100*r.precision(), 100*r.masked(), "-")
	}
	for _, kind := range evalDetectors {
		d, _, err := Open(Config{Face: kind, Text: TextNone, ModelsDir: models})
		if err != nil {
			t.Fatal(err)
		}
		for i, set := range sets {
			r := runEval(t, d, set)
			fmt.Fprintf(&b, "%-18s %-16s %6d %7.1f%% %9.1f%% %7.1f%% %9.1f\n", d.Name(), set.name, r.faces,
				100*r.recall(), 100*r.precision(), 100*r.masked(), r.msPerImage())
			if len(r.missed) > 0 {
				fmt.Fprintf(&b, "    missed: %s\n", strings.Join(r.missed, " "))
			}
			if floor := recallFloors[kind][setIdx[i]]; r.recall() < floor-1e-9 {
				t.Errorf("%s on %s: recall %.3f below the measured floor %.3f", d.Name(), set.name, r.recall(), floor)
			}
			// Masking everything must not pass: at most 2.5 times the area
			// the true faces take with the same margin (measured: 1.2 to
			// 1.4 for the DNN models, 1.9 for Haar).
			if r.masked() > 2.5*gtMasked[i] {
				t.Errorf("%s on %s: masks %.1f%% of the picture, the faces take %.1f%%", d.Name(), set.name,
					100*r.masked(), 100*gtMasked[i])
			}
		}
		d.Close()
	}
	t.Log(b.String())
}

// TestRecallFast is the cheap part of TestEval that runs without -eval:
// the two fast DNN models on faces_dlib at full size and with 20 px faces,
// held to their measured recall floors (every face).
func TestRecallFast(t *testing.T) {
	models := sharedModels(t)
	for _, kind := range []string{FaceYuNet, FaceUltraFace} {
		d, _, err := Open(Config{Face: kind, Text: TextNone, ModelsDir: models})
		if err != nil {
			t.Fatal(err)
		}
		for i, set := range evalSets[:2] {
			r := runEval(t, d, set)
			if floor := recallFloors[kind][i]; r.recall() < floor-1e-9 {
				t.Errorf("%s on %s: recall %.3f below %.3f; missed %v", d.Name(), set.name, r.recall(), floor, r.missed)
			}
		}
		d.Close()
	}
}

// turnImage turns img (which it closes) by deg counter-clockwise and maps
// the face boxes. A quarter turn is exact; other angles enlarge the canvas
// to keep every pixel, and each face becomes the square of 0.8 times its
// side around its turned centre (the inner face, which a rotated
// detection must cover).
func turnImage(img gocv.Mat, gt []image.Rectangle, deg int) (gocv.Mat, []image.Rectangle) {
	w, h := img.Cols(), img.Rows()
	out := gocv.NewMat()
	var turned []image.Rectangle
	if deg == 90 {
		gocv.Rotate(img, &out, gocv.Rotate90CounterClockwise)
		for _, g := range gt {
			// (x, y) lands at (y, w-1-x)
			turned = append(turned, image.Rect(g.Min.Y, w-g.Max.X, g.Max.Y, w-g.Min.X))
		}
		img.Close()
		return out, turned
	}
	a := float64(deg) * math.Pi / 180
	cos, sin := math.Abs(math.Cos(a)), math.Abs(math.Sin(a))
	nw, nh := int(math.Ceil(float64(w)*cos+float64(h)*sin)), int(math.Ceil(float64(w)*sin+float64(h)*cos))
	m := gocv.GetRotationMatrix2D(image.Pt(w/2, h/2), float64(deg), 1)
	// Shift so that the turned image is centred on the larger canvas.
	m.SetDoubleAt(0, 2, m.GetDoubleAt(0, 2)+float64(nw-w)/2)
	m.SetDoubleAt(1, 2, m.GetDoubleAt(1, 2)+float64(nh-h)/2)
	gocv.WarpAffine(img, &out, m, image.Pt(nw, nh))
	for _, g := range gt {
		cx, cy := float64(g.Min.X+g.Max.X)/2, float64(g.Min.Y+g.Max.Y)/2
		x := m.GetDoubleAt(0, 0)*cx + m.GetDoubleAt(0, 1)*cy + m.GetDoubleAt(0, 2)
		y := m.GetDoubleAt(1, 0)*cx + m.GetDoubleAt(1, 1)*cy + m.GetDoubleAt(1, 2)
		s := 0.4 * float64(max(g.Dx(), g.Dy()))
		turned = append(turned, image.Rect(int(x-s), int(y-s), int(math.Ceil(x+s)), int(math.Ceil(y+s))))
	}
	m.Close()
	img.Close()
	return out, turned
}

// TestEvalRotated measures recall on faces_dlib turned 45° and 90°, with
// and without Config.RotatedFaces.
// Run: go test ./detect -eval -run TestEvalRotated -v
func TestEvalRotated(t *testing.T) {
	needEval(t)
	models := sharedModels(t)
	sets := []evalSet{{"faces_dlib", 1, 0}, {"turned 45°", 1, 45}, {"turned 90°", 1, 90}}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %-12s %8s %10s %8s %9s\n", "detector", "set", "recall", "precision", "masked", "ms/image")
	for _, kind := range []string{FaceYuNet, FaceUltraFace} {
		for _, rot := range []string{PassOff, PassOn} {
			d, _, err := Open(Config{Face: kind, Text: TextNone, ModelsDir: models, RotatedFaces: rot, Contrast: PassOff})
			if err != nil {
				t.Fatal(err)
			}
			for _, set := range sets {
				r := runEval(t, d, set)
				fmt.Fprintf(&b, "%-32s %-12s %7.1f%% %9.1f%% %7.1f%% %9.1f\n", d.Name(), set.name,
					100*r.recall(), 100*r.precision(), 100*r.masked(), r.msPerImage())
			}
			d.Close()
		}
	}
	t.Log(b.String())
}

// TestRotatedFacesFindsTurnedFaces: on faces_dlib turned a quarter turn,
// YuNet alone misses about half the faces (46.5% recall measured) and
// with RotatedFaces finds them all.
func TestRotatedFacesFindsTurnedFaces(t *testing.T) {
	models := sharedModels(t)
	set := evalSet{"turned 90°", 1, 90}
	plain, _, err := Open(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: models, RotatedFaces: PassOff, Heads: HeadsOff})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	rot, _, err := Open(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: models, RotatedFaces: PassOn, Heads: HeadsOff})
	if err != nil {
		t.Fatal(err)
	}
	defer rot.Close()
	without, with := runEval(t, plain, set), runEval(t, rot, set)
	if with.recall() < 1 {
		t.Errorf("with RotatedFaces: recall %.3f, missed %v", with.recall(), with.missed)
	}
	if without.recall() >= with.recall() {
		t.Errorf("RotatedFaces gains nothing: %.3f without, %.3f with", without.recall(), with.recall())
	}
	if rot.Name() != ModelYuNet {
		t.Errorf("Name() = %q", rot.Name())
	}
}

// The benchmark of make eval (internal/evalset) from this package's own
// tests: score a Detector on one of its sets, masks drawn as redact paints
// them. Hold a change to a floor measured on evalset.Tuning, never on
// evalset.Reporting, e.g.
//
//	r := benchScore(t, d, benchSet(t, evalset.Tuning, evalset.VariantSmall))
//	if r.Recall(evalset.KindFace) < 0.97 { ... }
//
// For the whole redaction path (tracking, cadence) use
// internal/evalset/evalrun from a test outside this package.

// benchSet returns a benchmark set of faces (a variant of
// evalset.FaceVariants) or, for variant "badges", the badge pictures,
// generated into .cache/eval on first use.
func benchSet(t testing.TB, split evalset.Split, variant string) *evalset.Set {
	t.Helper()
	var set *evalset.Set
	var err error
	if variant == "badges" {
		set, err = evalset.Badges(evalset.Options{}, split)
	} else {
		set, err = evalset.Faces(evalset.Options{}, split, variant)
	}
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// benchEllipseMargin is redact's margin for face ellipses (minEllipseMargin
// in redact/mask.go): the ellipse inscribed in the grown box covers the
// detected box.
const benchEllipseMargin = 0.2072

// benchScore runs d on every image of set and scores what redact would
// paint for its boxes with the default margin and shape: faces as the
// ellipse inscribed in the box grown by benchEllipseMargin, text as the
// box grown by TextMargin. Tracking and cadence are left out: this is
// the detector alone.
func benchScore(t testing.TB, d Detector, set *evalset.Set) *evalset.Result {
	t.Helper()
	var r evalset.Result
	for _, it := range set.Items {
		img := gocv.IMRead(it.Path, gocv.IMReadColor)
		if img.Empty() {
			t.Fatalf("cannot read %s", it.Path)
		}
		if c, ok := d.(*Composite); ok {
			c.ResetCadence()
		}
		t0 := time.Now()
		boxes, err := d.Detect(img)
		r.Elapsed += time.Since(t0)
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		bounds := image.Rect(0, 0, it.Width, it.Height)
		var masks []evalset.Mask
		for _, b := range boxes {
			m := evalset.Mask{Label: string(b.Label)}
			if b.Label == LabelText {
				m.Rect = Expand(b, TextMargin, bounds).Rect()
			} else {
				m.Rect, m.Ellipse = Expand(b, benchEllipseMargin, bounds).Rect(), true
			}
			masks = append(masks, m)
		}
		r.Add(filepath.Base(it.Path), it.Width, it.Height, it.Truth, masks)
	}
	return &r
}

// benchFloors are the face recalls of YuNet at its defaults, text off, on
// the tuning split (measured; the figures reported by make eval come from
// the testing split). A change that loses faces here fails.
var benchFloors = map[string]float64{
	evalset.VariantOriginal: 1,
	evalset.VariantSmall:    116.0 / 126,
	evalset.VariantDark:     15.0 / 18,
}

// TestBenchTuningFloors holds YuNet at its defaults to its recall on the
// tuning split of the benchmark's original, small and dark faces.
func TestBenchTuningFloors(t *testing.T) {
	d, _, err := Open(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: sharedModels(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, v := range []string{evalset.VariantOriginal, evalset.VariantSmall, evalset.VariantDark} {
		r := benchScore(t, d, benchSet(t, evalset.Tuning, v))
		t.Logf("%s: recall %.3f of %d, precision %.3f, masked %.3f", v, r.Recall(evalset.KindFace), r.Count(evalset.KindFace), r.Precision(), r.Masked())
		if got := r.Recall(evalset.KindFace); got < benchFloors[v]-1e-9 {
			t.Errorf("%s (tuning split): recall %.3f below the floor %.3f; missed %v", v, got, benchFloors[v], r.Missed)
		}
	}
}
