//go:build cgo

package detect

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// The face benchmark: the labelled dlib faces and hard variants generated
// from them in memory with their boxes carried along (small, turned, dark,
// blurred, JPEG-damaged, seen from above), on dlib's own split: settings
// are tuned on the training images (4 photos, 18 faces) and reported on
// the testing images (5 photos, 25 faces), never the other way round.
//
//	go test ./detect -eval -run 'TestEvalFaces$' -v -timeout 60m

// faceVariant makes one hard variant of a photo; it returns a new Mat (the
// caller closes both) and the ground truth mapped into it.
type faceVariant struct {
	name string
	make variantFunc
}

// faceVariants is the benchmark's list, plain first.
var faceVariants = []faceVariant{
	{"plain", func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		return img.Clone(), gt
	}},
	{"small 10px", smallVariant(10)},
	{"small 12px", smallVariant(12)},
	{"small 16px", smallVariant(16)},
	{"small 20px", smallVariant(20)},
	{"small 28px", smallVariant(28)},
	{"small 40px", smallVariant(40)},
	{"turn 90cw", turnVariant(gocv.Rotate90Clockwise)},
	{"turn 90ccw", turnVariant(gocv.Rotate90CounterClockwise)},
	{"turn 180", turnVariant(gocv.Rotate180Clockwise)},
	{"tilt 30", tiltVariant(30)},
	{"tilt 45", tiltVariant(45)},
	{"dim", darkVariant(1.8, 0.55, 3)},
	{"dark", darkVariant(2.4, 0.35, 5)},
	{"very dark", darkVariant(3, 0.25, 6)},
	{"motion blur", blurVariant},
	{"jpeg q10", jpegVariant(10)},
	{"top-down", topDownVariant},
	{"small 16px dark", chain(smallVariant(16), darkVariant(2.4, 0.35, 5))},
	{"small 16px blur", chain(smallVariant(16), blurVariant)},
	{"small 20px jpeg", chain(smallVariant(20), jpegVariant(20))},
	{"small 24px turn", chain(smallVariant(24), turnVariant(gocv.Rotate90Clockwise))},
	// A ceiling camera at night: seen from above, small, dim.
	{"ceiling", chain(topDownVariant, smallVariant(24), darkVariant(1.8, 0.55, 3))},
	{"fisheye 160", fisheyeVariant(160)},
	{"fisheye 200", fisheyeVariant(200)},
	{"fisheye 240", fisheyeVariant(240)},
}

type variantFunc = func(gocv.Mat, []image.Rectangle, int64) (gocv.Mat, []image.Rectangle)

// chain applies variants in turn.
func chain(fs ...variantFunc) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, seed int64) (gocv.Mat, []image.Rectangle) {
		cur := img.Clone()
		for _, f := range fs {
			next, ngt := f(cur, gt, seed)
			cur.Close()
			cur, gt = next, ngt
		}
		return cur, gt
	}
}

// medianSide is the median of the faces' larger sides.
func medianSide(gt []image.Rectangle) float64 {
	s := make([]int, len(gt))
	for i, g := range gt {
		s[i] = max(g.Dx(), g.Dy())
	}
	sort.Ints(s)
	return float64(s[len(s)/2])
}

// smallVariant scales the photo so that its median face is side px (the
// photo's faces then span about 0.7 to 1.5 times that) and tiles copies of
// it over a 1280×720 frame, as distant faces appear in video: the passes
// are planned for the frame, not for a thumbnail. Faces cut by the frame
// edge are left out of the ground truth and the score.
func smallVariant(side float64) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		s := side / medianSide(gt)
		sz := scaledSize(img.Cols(), img.Rows(), s)
		sx, sy := float64(sz.X)/float64(img.Cols()), float64(sz.Y)/float64(img.Rows())
		small := resized(img, sz)
		defer small.Close()
		const fw, fh = 1280, 720
		frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(110, 110, 110, 0), fh, fw, gocv.MatTypeCV8UC3)
		var out []image.Rectangle
		bounds := image.Rect(0, 0, fw, fh)
		for y := 0; y < fh; y += sz.Y {
			for x := 0; x < fw; x += sz.X {
				r := image.Rect(x, y, x+sz.X, y+sz.Y).Intersect(bounds)
				src := small.Region(image.Rect(0, 0, r.Dx(), r.Dy()))
				dst := frame.Region(r)
				src.CopyTo(&dst)
				dst.Close()
				src.Close()
				for _, g := range gt {
					b := scaleBox(boxFromRect(g, 1, LabelFace), image.Pt(0, 0), 1/sx, 1/sy).Rect().Add(image.Pt(x, y))
					if b.In(bounds) {
						out = append(out, b)
					}
				}
			}
		}
		return frame, out
	}
}

// turnVariant turns the photo by a quarter or half turn; boxes map exactly.
func turnVariant(code gocv.RotateFlag) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		w, h := img.Cols(), img.Rows()
		out := gocv.NewMat()
		gocv.Rotate(img, &out, code)
		turned := make([]image.Rectangle, len(gt))
		for i, g := range gt {
			switch code {
			case gocv.Rotate90Clockwise: // (x, y) -> (h-1-y, x)
				turned[i] = image.Rect(h-g.Max.Y, g.Min.X, h-g.Min.Y, g.Max.X)
			case gocv.Rotate90CounterClockwise: // (x, y) -> (y, w-1-x)
				turned[i] = image.Rect(g.Min.Y, w-g.Max.X, g.Max.Y, w-g.Min.X)
			default: // (x, y) -> (w-1-x, h-1-y)
				turned[i] = image.Rect(w-g.Max.X, h-g.Max.Y, w-g.Min.X, h-g.Min.Y)
			}
		}
		return out, turned
	}
}

// tiltVariant turns the photo by deg (a head tilted, a face near a fisheye
// edge); see turnImage for how boxes map.
func tiltVariant(deg int) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		return turnImage(img.Clone(), gt, deg)
	}
}

// darkVariant darkens the photo as night ward lighting does: a gamma
// curve, a gain, then sensor noise (Gaussian, sigma in grey levels,
// seeded per photo).
func darkVariant(gamma, gain, sigma float64) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, seed int64) (gocv.Mat, []image.Rectangle) {
		data := img.ToBytes()
		rng := rand.New(rand.NewSource(seed))
		var lut [256]float64
		for i := range lut {
			lut[i] = 255 * gain * math.Pow(float64(i)/255, gamma)
		}
		for i, v := range data {
			data[i] = clampByte(lut[v] + sigma*rng.NormFloat64())
		}
		out, err := gocv.NewMatFromBytes(img.Rows(), img.Cols(), gocv.MatTypeCV8UC3, data)
		if err != nil {
			panic(err)
		}
		return out, gt
	}
}

func clampByte(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// blurVariant smears the photo horizontally over a quarter of the median
// face side (a head turning, a walking camera wearer).
func blurVariant(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
	n := max(3, int(math.Round(medianSide(gt)/4))|1)
	k := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), n, n, gocv.MatTypeCV32F)
	defer k.Close()
	for x := 0; x < n; x++ {
		k.SetFloatAt(n/2, x, 1/float32(n))
	}
	out := gocv.NewMat()
	gocv.Filter2D(img, &out, -1, k, image.Pt(-1, -1), 0, gocv.BorderReflect101)
	return out, gt
}

// jpegVariant re-encodes the photo as a JPEG of quality q.
func jpegVariant(q int) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, q})
		if err != nil {
			panic(err)
		}
		defer buf.Close()
		out, err := gocv.IMDecode(buf.GetBytes(), gocv.IMReadColor)
		if err != nil {
			panic(err)
		}
		return out, gt
	}
}

// topDownVariant warps the photo as a camera high up and looking down
// sees it: the far (top) edge narrowed to 60% and the height squashed to
// 75%. A face box becomes the bounding box of its warped corners.
func topDownVariant(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
	w, h := img.Cols(), img.Rows()
	nh := int(math.Round(0.75 * float64(h)))
	src := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {w, 0}, {w, h}, {0, h}})
	defer src.Close()
	dst := gocv.NewPointVectorFromPoints([]image.Point{{w / 5, 0}, {w - w/5, 0}, {w, nh}, {0, nh}})
	defer dst.Close()
	m := gocv.GetPerspectiveTransform(src, dst)
	defer m.Close()
	out := gocv.NewMat()
	gocv.WarpPerspective(img, &out, m, image.Pt(w, nh))
	warp := func(x, y float64) (float64, float64) {
		d := m.GetDoubleAt(2, 0)*x + m.GetDoubleAt(2, 1)*y + m.GetDoubleAt(2, 2)
		return (m.GetDoubleAt(0, 0)*x + m.GetDoubleAt(0, 1)*y + m.GetDoubleAt(0, 2)) / d,
			(m.GetDoubleAt(1, 0)*x + m.GetDoubleAt(1, 1)*y + m.GetDoubleAt(1, 2)) / d
	}
	boxes := make([]image.Rectangle, len(gt))
	for i, g := range gt {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, c := range [][2]int{{g.Min.X, g.Min.Y}, {g.Max.X, g.Min.Y}, {g.Max.X, g.Max.Y}, {g.Min.X, g.Max.Y}} {
			x, y := warp(float64(c[0]), float64(c[1]))
			x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
		}
		boxes[i] = image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
	}
	return out, boxes
}

// faceSample is one generated image with its ground truth.
type faceSample struct {
	name string
	img  gocv.Mat
	gt   []image.Rectangle
}

// faceBench holds every variant of every photo of one split, made once.
type faceBench struct {
	split    string
	variants []string
	samples  map[string][]faceSample // by variant
}

func (b *faceBench) Close() {
	for _, ss := range b.samples {
		for _, s := range ss {
			s.img.Close()
		}
	}
}

// loadSplit reads the photos of one dlib split ("training" or "testing").
func loadSplit(t testing.TB, split string) (names []string, faces map[string][]image.Rectangle, dir string) {
	t.Helper()
	dir, images, all := loadAnnotationsSplit(t)
	faces = map[string][]image.Rectangle{}
	for _, n := range images {
		if all[n].split == split {
			names = append(names, n)
			faces[n] = all[n].rects
		}
	}
	if len(names) == 0 {
		t.Fatalf("no images in split %q", split)
	}
	return names, faces, dir
}

func newFaceBench(t testing.TB, split string, variants []faceVariant) *faceBench {
	t.Helper()
	names, faces, dir := loadSplit(t, split)
	b := &faceBench{split: split, samples: map[string][]faceSample{}}
	for _, v := range variants {
		b.variants = append(b.variants, v.name)
		for i, n := range names {
			img := gocv.IMRead(filepath.Join(dir, n), gocv.IMReadColor)
			if img.Empty() {
				t.Fatalf("cannot read %s", n)
			}
			out, gt := v.make(img, faces[n], int64(1000+i))
			img.Close()
			b.samples[v.name] = append(b.samples[v.name], faceSample{name: n, img: out, gt: gt})
		}
	}
	return b
}

// benchResult is a setup's score per variant, plus its CPU time.
type benchResult struct {
	by  map[string]*evalResult
	cpu map[string]time.Duration
}

func (r benchResult) total(variants []string) evalResult {
	var t evalResult
	for _, v := range variants {
		x := r.by[v]
		t.faces += x.faces
		t.redacted += x.redacted
		t.dets += x.dets
		t.truePos += x.truePos
		t.maskedPx += x.maskedPx
		t.px += x.px
		t.elapsed += x.elapsed
		t.calls += x.calls
	}
	return t
}

// meanRecall is the mean of the variants' recalls: each variant counts
// the same, however many faces its frames hold.
func (r benchResult) meanRecall(variants []string) float64 {
	sum := 0.0
	for _, v := range variants {
		sum += r.by[v].recall()
	}
	return sum / float64(len(variants))
}

func (r benchResult) worstRecall(variants []string) float64 {
	worst := 1.0
	for _, v := range variants {
		worst = math.Min(worst, r.by[v].recall())
	}
	return worst
}

func (r benchResult) cpuMS(variants []string) float64 {
	var c time.Duration
	n := 0
	for _, v := range variants {
		c += r.cpu[v]
		n += r.by[v].calls
	}
	return float64(c.Microseconds()) / 1000 / float64(max(1, n))
}

// runBench runs d over every sample of b.
func runBench(t testing.TB, d Detector, b *faceBench) benchResult {
	t.Helper()
	res := benchResult{by: map[string]*evalResult{}, cpu: map[string]time.Duration{}}
	for _, v := range b.variants {
		r := &evalResult{}
		for _, s := range b.samples[v] {
			if c, ok := d.(interface{ ResetCadence() }); ok {
				c.ResetCadence()
			}
			c0, t0 := cpuTime(), time.Now()
			var dets []Box
			var err error
			if _, ok := d.(groundTruthDetector); ok {
				for _, g := range s.gt {
					dets = append(dets, boxFromRect(g, 1, LabelFace))
				}
			} else {
				dets, err = d.Detect(s.img)
			}
			r.elapsed += time.Since(t0)
			res.cpu[v] += cpuTime() - c0
			r.calls++
			if err != nil {
				t.Fatalf("%s on %s/%s: %v", d.Name(), v, s.name, err)
			}
			r.score(s.name, s.img.Cols(), s.img.Rows(), s.gt, dets)
		}
		res.by[v] = r
	}
	return res
}

// faceSetup is a detector configuration under test.
type faceSetup struct {
	name string
	cfg  Config
	// open, when set, builds the detector instead of Open (references).
	open func(t testing.TB) Detector
}

func (s faceSetup) detector(t testing.TB) Detector {
	t.Helper()
	if s.open != nil {
		return s.open(t)
	}
	cfg := s.cfg
	cfg.ModelsDir = sharedModels(t)
	if cfg.Text == "" {
		cfg.Text = TextNone
	}
	d, _, err := Open(cfg)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return d
}

// plainReference is the plain reference: YuNet 2022mar's network
// at score 0.3 on the photo at its own size and at half size, merged,
// with none of the pass planning, band limits or giant filter.
type plainReference struct {
	d      *scaledDetector
	closer Detector
	scales []float64
}

func newPlainReference(t testing.TB) Detector {
	c, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: sharedModels(t), FaceThreshold: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return &plainReference{d: innermost(c.face).(*scaledDetector), closer: c, scales: []float64{1, 0.5}}
}

func (p *plainReference) Name() string    { return "ref: yunet-2022mar@0.3 x1,x0.5" }
func (p *plainReference) Models() []Model { return p.d.Models() }
func (p *plainReference) Close() error    { return p.closer.Close() }
func (p *plainReference) Detect(img gocv.Mat) ([]Box, error) {
	var all []Box
	for _, s := range p.scales {
		sz := scaledSize(img.Cols(), img.Rows(), s)
		in := resized(img, sz)
		boxes, err := p.d.run(in)
		in.Close()
		if err != nil {
			return nil, err
		}
		sx, sy := float64(sz.X)/float64(img.Cols()), float64(sz.Y)/float64(img.Rows())
		for _, b := range boxes {
			all = append(all, scaleBox(b, image.Point{}, sx, sy))
		}
	}
	return inFrame(NMS(all, defaultNMS), img.Cols(), img.Rows()), nil
}

// printBench writes one table: recall per variant (rows) and setup
// (columns, lettered), then each setup's totals over every variant:
// recall, precision, masked share of the picture (the ground truth's own
// share, with the same margin, is the floor) and time per image.
func printBench(w *strings.Builder, title string, variants []string, rows []string, res []benchResult, gtMasked float64) {
	fmt.Fprintf(w, "\n%s\n", title)
	for i, name := range rows {
		fmt.Fprintf(w, "  %c = %s\n", 'A'+i, name)
	}
	fmt.Fprintf(w, "%-18s", "recall %")
	for i := range rows {
		fmt.Fprintf(w, " %6c", 'A'+i)
	}
	w.WriteString("\n")
	for _, v := range variants {
		fmt.Fprintf(w, "%-18s", v)
		for i := range rows {
			fmt.Fprintf(w, " %6.1f", 100*res[i].by[v].recall())
		}
		w.WriteString("\n")
	}
	tots := make([]evalResult, len(rows))
	for i := range rows {
		tots[i] = res[i].total(variants)
	}
	line := func(label string, f func(i int) float64) {
		fmt.Fprintf(w, "%-18s", label)
		for i := range rows {
			fmt.Fprintf(w, " %6.1f", f(i))
		}
		w.WriteString("\n")
	}
	line("mean recall %", func(i int) float64 { return 100 * res[i].meanRecall(variants) })
	line("worst recall %", func(i int) float64 { return 100 * res[i].worstRecall(variants) })
	line("ALL precision %", func(i int) float64 { return 100 * tots[i].precision() })
	line("masked % of px", func(i int) float64 { return 100 * tots[i].masked() })
	line("cpu ms/image", func(i int) float64 { return res[i].cpuMS(variants) })
	line("wall ms/image", func(i int) float64 { return tots[i].msPerImage() })
	fmt.Fprintf(w, "(the true faces with the same margin take %.1f%% of the pixels; small variants tile the photos over 1280x720 frames)\n",
		100*gtMasked)
}

// evalFaceSetups runs setups on both splits and prints two tables.
func evalFaceSetups(t *testing.T, title string, setups []faceSetup, variants []faceVariant) map[string][2]benchResult {
	t.Helper()
	out := map[string][2]benchResult{}
	var b strings.Builder
	for si, split := range []string{"training", "testing"} {
		bench := newFaceBench(t, split, variants)
		var names []string
		var res []benchResult
		for _, s := range setups {
			d := s.detector(t)
			r := runBench(t, d, bench)
			d.Close()
			names = append(names, s.name)
			res = append(res, r)
			pair := out[s.name]
			pair[si] = r
			out[s.name] = pair
		}
		label := map[string]string{"training": "TUNING split (training.xml)",
			"testing": "REPORTED split (testing.xml)"}[split]
		gt := runBench(t, groundTruthDetector{}, bench).total(bench.variants)
		printBench(&b, title+": "+label, bench.variants, names, res, gt.masked())
		bench.Close()
	}
	t.Log(b.String())
	return out
}

type splitFaces struct {
	split string
	rects []image.Rectangle
}

// loadAnnotationsSplit reads annotations_all.csv with its split column.
func loadAnnotationsSplit(t testing.TB) (dir string, images []string, faces map[string]splitFaces) {
	t.Helper()
	csvPath := testenv.Shared(t, "data/faces_dlib/annotations_all.csv")
	dir = filepath.Dir(csvPath)
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "image,x,y,w,h,split" {
		t.Fatalf("unexpected header in %s", csvPath)
	}
	faces = map[string]splitFaces{}
	for i, r := range rows[1:] {
		v := make([]int, 4)
		for j := range v {
			if v[j], err = strconv.Atoi(r[j+1]); err != nil {
				t.Fatalf("row %d: %v", i+2, err)
			}
		}
		f, ok := faces[r[0]]
		if !ok {
			images = append(images, r[0])
		} else if f.split != r[5] {
			t.Fatalf("%s is in two splits", r[0])
		}
		f.split = r[5]
		f.rects = append(f.rects, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
		faces[r[0]] = f
	}
	return dir, images, faces
}

// mainDefault is the face detection of main before issue 12: YuNet 2022mar
// at 0.5, passes planned for 20 px faces, no extra views.
var mainDefault = Config{Face: FaceYuNet, MinFace: 20, RotatedFaces: PassOff, Contrast: PassOff}

// TestEvalFaces compares the face models and the plain reference on every
// variant.
func TestEvalFaces(t *testing.T) {
	needEval(t)
	setups := []faceSetup{
		{name: "ref: yunet-2022mar@0.3 x1,x0.5", open: newPlainReference},
		{name: "yunet-2022mar (main default)", cfg: mainDefault},
		{name: "yunet-2023mar, main's other settings", cfg: Config{Face: FaceYuNet2023, MinFace: 20, RotatedFaces: PassOff, Contrast: PassOff}},
	}
	evalFaceSetups(t, "models", setups, faceVariants)
}

// groundTruthDetector is never run: runBench scores the annotations
// themselves for it.
type groundTruthDetector struct{ Detector }

// tuneTable runs setups on one split and prints one line per setup:
// totals, then the faces missed per variant.
func tuneTable(t *testing.T, bench *faceBench, setups []faceSetup) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-50s %6s %6s %6s %7s  %s\n", "setup ("+bench.split+" split)", "recall", "prec", "masked", "cpu ms", "misses by variant")
	for _, s := range setups {
		d := s.detector(t)
		r := runBench(t, d, bench)
		d.Close()
		tot := r.total(bench.variants)
		var miss []string
		for _, v := range bench.variants {
			if m := r.by[v].faces - r.by[v].redacted; m > 0 {
				miss = append(miss, fmt.Sprintf("%s:%d", v, m))
			}
		}
		fmt.Fprintf(&b, "%-50s %6.1f %6.1f %6.1f %7.1f  %s\n", s.name,
			100*r.meanRecall(bench.variants), 100*tot.precision(), 100*tot.masked(), r.cpuMS(bench.variants), strings.Join(miss, " "))
	}
	return b.String()
}

// TestEvalFacesTune sweeps model, threshold, smallest face and quarter
// turns on the tuning split only.
func TestEvalFacesTune(t *testing.T) {
	needEval(t)
	bench := newFaceBench(t, "training", faceVariants)
	defer bench.Close()
	var setups []faceSetup
	for _, face := range []string{FaceYuNet, FaceYuNet2023} {
		for _, rot := range []string{PassOff, PassOn} {
			for _, minFace := range []int{20, 10} {
				for _, th := range []float64{0.3, 0.35, 0.4, 0.45, 0.5} {
					setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f min=%d rot=%s", face, th, minFace, rot),
						cfg: Config{Face: face, FaceThreshold: th, MinFace: minFace, RotatedFaces: rot, QuarterTurnsOnly: true, Contrast: PassOff}})
				}
			}
		}
	}
	t.Log(tuneTable(t, bench, setups))
}

// TestEvalFacesTuneContrast: when to search a contrast-normalised copy,
// on the tuning split.
func TestEvalFacesTuneContrast(t *testing.T) {
	needEval(t)
	bench := newFaceBench(t, "training", faceVariants)
	defer bench.Close()
	var setups []faceSetup
	for _, face := range []string{FaceYuNet2023, FaceYuNet} {
		for _, th := range []float64{0.35, 0.5} {
			setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f contrast off", face, th),
				cfg: Config{Face: face, FaceThreshold: th, Contrast: PassOff, RotatedFaces: PassOff}})
			for _, dark := range []float64{40, 70, 100} {
				setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f contrast auto<%v", face, th, dark),
					cfg: Config{Face: face, FaceThreshold: th, Contrast: PassAuto, DarkLuma: dark, RotatedFaces: PassOff}})
			}
			setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f contrast on", face, th),
				cfg: Config{Face: face, FaceThreshold: th, Contrast: PassOn, RotatedFaces: PassOff}})
		}
	}
	t.Log(tuneTable(t, bench, setups))
}

// TestEvalFacesTuneTurns: which turned passes, on the tuning split.
func TestEvalFacesTuneTurns(t *testing.T) {
	needEval(t)
	bench := newFaceBench(t, "training", faceVariants)
	defer bench.Close()
	var setups []faceSetup
	for _, face := range []string{FaceYuNet2023, FaceYuNet} {
		for _, th := range []float64{0.3, 0.35, 0.4} {
			base := Config{Face: face, FaceThreshold: th}
			off, quarter, all := base, base, base
			off.RotatedFaces = PassOff
			quarter.RotatedFaces, quarter.QuarterTurnsOnly = PassOn, true
			all.RotatedFaces = PassOn
			setups = append(setups,
				faceSetup{name: fmt.Sprintf("%s th=%.2f upright only", face, th), cfg: off},
				faceSetup{name: fmt.Sprintf("%s th=%.2f +quarter turns", face, th), cfg: quarter},
				faceSetup{name: fmt.Sprintf("%s th=%.2f +quarter and half turns", face, th), cfg: all})
		}
	}
	t.Log(tuneTable(t, bench, setups))
}

// TestFaceSizeSweep2023 is TestFaceSizeSweep for both YuNet releases at
// the default and a low threshold: the share of the 43 faces one network
// pass finds at each face side. It is how yunet2023Range was chosen.
func TestFaceSizeSweep2023(t *testing.T) {
	needEval(t)
	sides := []int{6, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256, 288, 320, 384, 448}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-24s", "face side px")
	for _, s := range sides {
		fmt.Fprintf(&b, "%5d", s)
	}
	b.WriteString("\n")
	for _, kind := range []string{FaceYuNet, FaceYuNet2023} {
		for _, th := range []float64{0.5, 0.3} {
			c, _, err := OpenComposite(Config{Face: kind, Text: TextNone, ModelsDir: sharedModels(t), FaceThreshold: th})
			if err != nil {
				t.Fatal(err)
			}
			d := innermost(c.face).(*scaledDetector)
			fmt.Fprintf(&b, "%-24s", fmt.Sprintf("%s@%.1f", d.Name(), th))
			for _, s := range sides {
				fmt.Fprintf(&b, "%5.0f", 100*sweepRate(t, d, s, 640, 640))
			}
			b.WriteString("\n")
			c.Close()
		}
	}
	t.Log(b.String())
}

// costFrames are real frames at the sizes the cost table reports: the
// body-camera clip's 608×1080, the fisheye clip's 2560×1920, and that
// frame resized to 1920×1080 and 1280×720 (the cost depends on the size,
// not on the content, for the DNN models).
func costFrames(t testing.TB) (names []string, frames []gocv.Mat) {
	g1 := readFrame(t, extractFrames(t, gen1Video, 1, 150)[0])
	g2 := readFrame(t, extractFrames(t, gen2Video, 1, 3)[0])
	hd := resized(g2, image.Pt(1920, 1080))
	sd := resized(g2, image.Pt(1280, 720))
	return []string{"608x1080", "1280x720", "1920x1080", "2560x1920"}, []gocv.Mat{g1, sd, hd, g2}
}

const gen2Video = "data/video/gen2_demo_assets_test_face_video.mp4"

// TestEvalFacesCost times face settings per frame size: a full call (every
// pass: stills, and every SmallFaceEvery-th detection on video) and a
// coarse call (the detections in between), in CPU ms (both cores).
func TestEvalFacesCost(t *testing.T) {
	needEval(t)
	names, frames := costFrames(t)
	defer closeAll(frames)
	setups := []faceSetup{
		{name: "main default: yunet-2022mar", cfg: Config{Face: FaceYuNet, RotatedFaces: PassOff, Contrast: PassOff}},
		{name: "yunet-2023mar upright", cfg: Config{Face: FaceYuNet2023, RotatedFaces: PassOff, Contrast: PassOff}},
		{name: "yunet-2023mar +quarter turns", cfg: Config{Face: FaceYuNet2023, RotatedFaces: PassAuto, QuarterTurnsOnly: true, Contrast: PassOff}},
		{name: "yunet-2023mar +all turns", cfg: Config{Face: FaceYuNet2023, RotatedFaces: PassAuto, Contrast: PassOff}},
		{name: "yunet-2023mar +contrast copy (dark frame)", cfg: Config{Face: FaceYuNet2023, RotatedFaces: PassOff, Contrast: PassOn}},
		{name: "yunet-2023mar upright MinFace 12", cfg: Config{Face: FaceYuNet2023, RotatedFaces: PassOff, Contrast: PassOff, MinFace: 12}},
		{name: "yunet-2023mar (new defaults)", cfg: Config{}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-44s", "CPU ms per call: full / coarse")
	for _, n := range names {
		fmt.Fprintf(&b, " %17s", n)
	}
	b.WriteString("\n")
	for _, s := range setups {
		d := s.detector(t)
		c := d.(*Composite)
		fmt.Fprintf(&b, "%-44s", s.name)
		for _, f := range frames {
			full := timeCalls(t, func() error { c.ResetCadence(); _, err := c.detectFaces(f, true); return err })
			coarse := timeCalls(t, func() error { _, err := runInner(c.face, f, false, 0); return err })
			fmt.Fprintf(&b, " %8.0f / %6.0f", full, coarse)
		}
		b.WriteString("\n")
		d.Close()
	}
	t.Log(b.String())
}

// timeCalls is the CPU ms of one call of f, the best of three after a
// warm-up (network allocation).
func timeCalls(t testing.TB, f func() error) float64 {
	if err := f(); err != nil {
		t.Fatal(err)
	}
	best := math.Inf(1)
	for i := 0; i < 3; i++ {
		c0 := cpuTime()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		best = math.Min(best, float64((cpuTime()-c0).Microseconds())/1000)
	}
	return best
}

// TestEvalFacesTuneSmall: how small a face the upright passes plan for,
// on the tuning split.
func TestEvalFacesTuneSmall(t *testing.T) {
	needEval(t)
	var vs []faceVariant
	for _, v := range faceVariants {
		if strings.HasPrefix(v.name, "small") || v.name == "ceiling" || v.name == "plain" {
			vs = append(vs, v)
		}
	}
	bench := newFaceBench(t, "training", vs)
	defer bench.Close()
	var setups []faceSetup
	for _, face := range []string{FaceYuNet2023, FaceYuNet} {
		for _, th := range []float64{0.3, 0.35, 0.4} {
			for _, mf := range []int{20, 16, 12, 10} {
				setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f MinFace %d", face, th, mf),
					cfg: Config{Face: face, FaceThreshold: th, MinFace: mf, RotatedFaces: PassOff}})
			}
		}
	}
	t.Log(tuneTable(t, bench, setups))
}

// fisheyeVariant shows a scene as a circular equidistant fisheye lens of
// fovDeg would see it, on a 1280×960 frame (the shape of the wearable clip):
// the scene is the photo scaled so that its median face is 40 px and tiled
// over a sphere as an equirectangular panorama (the same angle per pixel
// both ways, so its faces are undistorted in angle), and each output pixel
// at radius r from the centre and azimuth phi shows the ray at angle r/f
// from the axis, the image circle (fovDeg wide) touching the frame's left
// and right edges; outside it the frame is black. Faces away from the
// centre come out squashed radially by sin(theta)/theta and turned by
// their azimuth, as on a wearable or ceiling fisheye. A face box becomes
// the inner 80% of the bounding box of its mapped outline; faces whose
// centre falls outside the image circle, or that the frame edge cuts, are
// left out.
func fisheyeVariant(fovDeg float64) variantFunc {
	return func(img gocv.Mat, gt []image.Rectangle, _ int64) (gocv.Mat, []image.Rectangle) {
		const w, h = 1280, 960
		cx, cy := float64(w)/2, float64(h)/2
		rmax := fovDeg * math.Pi / 360 // the image circle's half angle
		f := cx / rmax                 // fisheye px per radian
		s := 40 / medianSide(gt)       // photo px per scene px
		pw, ph := float64(img.Cols())*s, float64(img.Rows())*s
		// Scene px per radian: the same as the fisheye's at its centre.
		scene := func(lon, lat float64) (float64, float64) {
			x, y := lon*f, lat*f
			return math.Mod(math.Mod(x, pw)+pw, pw) / s, math.Mod(math.Mod(y, ph)+ph, ph) / s
		}
		mapX := gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
		mapY := gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
		defer mapX.Close()
		defer mapY.Close()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				th, phi := math.Hypot(dx, dy)/f, math.Atan2(dy, dx)
				sx, sy := -10.0, -10.0
				if th <= rmax {
					vx, vy, vz := math.Sin(th)*math.Cos(phi), math.Sin(th)*math.Sin(phi), math.Cos(th)
					sx, sy = scene(math.Atan2(vx, vz), math.Asin(math.Max(-1, math.Min(1, vy))))
				}
				mapX.SetFloatAt(y, x, float32(sx-0.5))
				mapY.SetFloatAt(y, x, float32(sy-0.5))
			}
		}
		out := gocv.NewMat()
		gocv.Remap(img, &out, &mapX, &mapY, gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
		// A scene point (lon, lat) lands at:
		fwd := func(lon, lat float64) (float64, float64, float64) {
			vx, vy, vz := math.Cos(lat)*math.Sin(lon), math.Sin(lat), math.Cos(lat)*math.Cos(lon)
			th, phi := math.Acos(math.Max(-1, math.Min(1, vz))), math.Atan2(vy, vx)
			return cx + f*th*math.Cos(phi), cy + f*th*math.Sin(phi), th
		}
		var boxes []image.Rectangle
		// Every copy of every face whose centre is inside the circle.
		for ty := -math.Ceil(math.Pi / 2 * f / ph); ty <= math.Ceil(math.Pi/2*f/ph); ty++ {
			for tx := -math.Ceil(math.Pi * f / pw); tx <= math.Ceil(math.Pi*f/pw); tx++ {
				for _, g := range gt {
					toAngle := func(px, py float64) (float64, float64) { return (px*s + tx*pw) / f, (py*s + ty*ph) / f }
					clon, clat := toAngle(float64(g.Min.X+g.Max.X)/2, float64(g.Min.Y+g.Max.Y)/2)
					if math.Abs(clat) > math.Pi/2-0.05 || math.Abs(clon) > math.Pi {
						continue
					}
					if _, _, th := fwd(clon, clat); th > rmax*0.97 {
						continue
					}
					x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
					for i := 0; i <= 8; i++ {
						t := float64(i) / 8
						for _, p := range [][2]float64{
							{float64(g.Min.X) + t*float64(g.Dx()), float64(g.Min.Y)}, {float64(g.Min.X) + t*float64(g.Dx()), float64(g.Max.Y)},
							{float64(g.Min.X), float64(g.Min.Y) + t*float64(g.Dy())}, {float64(g.Max.X), float64(g.Min.Y) + t*float64(g.Dy())},
						} {
							x, y, _ := fwd(toAngle(p[0], p[1]))
							x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
						}
					}
					r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
					if r.Dx() > w/2 || r.Dy() > h/2 || !r.In(image.Rect(0, 0, w, h)) {
						continue // straddling the panorama's seam, or cut by the frame edge
					}
					boxes = append(boxes, r.Inset(min(r.Dx(), r.Dy())/10))
				}
			}
		}
		return out, boxes
	}
}

// TestEvalFacesFisheye: the fisheye variants, on both splits.
func TestEvalFacesFisheye(t *testing.T) {
	needEval(t)
	vs := []faceVariant{faceVariants[0]}
	for _, v := range faceVariants {
		if strings.HasPrefix(v.name, "fisheye") {
			vs = append(vs, v)
		}
	}
	setups := []faceSetup{
		{name: "ref: yunet-2022mar@0.3 x1,x0.5", open: newPlainReference},
		{name: "yunet-2022mar (main default)", cfg: mainDefault},
		{name: "yunet-2023mar@0.35 fisheye off", cfg: Config{Face: FaceYuNet2023, FaceThreshold: 0.35, Fisheye: PassOff}},
		{name: "yunet-2023mar@0.35 fisheye auto, lens 160", cfg: Config{Face: FaceYuNet2023, FaceThreshold: 0.35, FisheyeFOV: 160}},
		{name: "yunet-2023mar@0.35 fisheye auto, lens 180", cfg: Config{Face: FaceYuNet2023, FaceThreshold: 0.35, FisheyeFOV: 180}},
		{name: "yunet-2023mar@0.35 fisheye auto, lens 200", cfg: Config{Face: FaceYuNet2023, FaceThreshold: 0.35, FisheyeFOV: 200}},
		{name: "yunet-2023mar@0.35 fisheye auto, lens 220", cfg: Config{Face: FaceYuNet2023, FaceThreshold: 0.35, FisheyeFOV: 220}},
	}
	evalFaceSetups(t, "fisheye", setups, vs)
}

// TestEvalFacesTuneThreshold: the score threshold with every other default
// in place, on the tuning split. The default is the lowest threshold whose
// precision there is at least 0.7 (a margin over the 0.6 the issue asks
// for, since the reported split may fall lower).
func TestEvalFacesTuneThreshold(t *testing.T) {
	needEval(t)
	bench := newFaceBench(t, "training", faceVariants)
	defer bench.Close()
	var setups []faceSetup
	for _, face := range []string{FaceYuNet2023, FaceYuNet} {
		for _, th := range []float64{0.25, 0.3, 0.35, 0.4, 0.45, 0.5} {
			setups = append(setups, faceSetup{name: fmt.Sprintf("%s th=%.2f, other defaults", face, th),
				cfg: Config{Face: face, FaceThreshold: th}})
		}
	}
	t.Log(tuneTable(t, bench, setups))
}
