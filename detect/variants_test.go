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

// Hard variants of the labelled dlib faces, made in memory with their
// boxes carried along, for the unit tests of the extra face views (turned,
// contrast, fisheye). The figures reported come from make eval
// (internal/evalset), not from these.

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

// groundTruthDetector is never run: runBench scores the annotations
// themselves for it.
type groundTruthDetector struct{ Detector }

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

const gen2Video = "data/video/gen2_demo_assets_test_face_video.mp4"

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
