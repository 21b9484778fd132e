//go:build cgo

package redact

import (
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
)

// headsClip is a clip for TestEvalHeads, with labelled faces per frame
// when it is synthetic.
type headsClip struct {
	name, path string
	gt         map[int][]image.Rectangle // frame -> faces; nil for real clips
}

type headsSetup struct {
	name       string
	heads      string
	headsEvery int
}

// TestEvalHeads measures --heads off, auto and on (and the person pass
// cadence) with the CLI's default cadences (--every 6, --small-face-every
// 2; text off, to isolate the heads' cost) on the shared clips and on two
// synthetic clips made from faces_dlib's testing photos seen from above
// (perspective-warped, heights foreshortened to half), 720p:
//
//   - "CCTV still camera": two groups walking across a fixed grey room
//     at 8 and 6 px a frame, 15 fps;
//   - "panning camera": a hand-held camera panning over one group at
//     10 px a frame (the case auto leaves alone).
//
// For each: face-frames missed (the labelled faces, and the faces an
// independent YuNet at >= 0.8 finds on every frame of the original, that
// the detect --json regions do not cover >= 70%), the mean share of the
// frame masked, CPU milliseconds per frame (custody and its ffmpeg
// decoder), and person passes run/skipped.
//
//	go test ./redact -run TestEvalHeads -eval -v -timeout 30m
func TestEvalHeads(t *testing.T) {
	if !*evalFlag {
		t.Skip("evaluation: run with -eval")
	}
	models := filepath.Join(testenv.SharedDir(), "models")
	dir := t.TempDir()
	clips := []headsClip{
		cctvClip(t, dir, "CCTV still camera (synthetic)", false),
		cctvClip(t, dir, "panning camera (synthetic)", true),
		{name: "gen1 (608x1080)", path: testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4")},
		{name: "gen2 fisheye (2560x1920)", path: testenv.Shared(t, "data/video/gen2_demo_assets_test_face_video.mp4")},
	}
	setups := []headsSetup{
		{"heads off", detect.HeadsOff, 0},
		{"heads auto", detect.HeadsAuto, 0},
		{"heads on", detect.HeadsOn, 0},
		{"heads on, every 2nd pass", detect.HeadsOn, 2},
		{"heads on, every 4th pass", detect.HeadsOn, 4},
	}
	strict, _, err := detect.Open(detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone, Heads: detect.HeadsOff,
		ModelsDir: models, FaceThreshold: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-30s %-26s %7s | %12s %12s | %7s | %8s | %s\n", "clip", "setup", "frames",
		"labelled", "yunet>=0.8", "masked", "cpu ms/f", "person passes run/skipped")
	for _, c := range clips {
		indep := independentFaces(t, strict, c.path)
		for _, s := range setups {
			if s.headsEvery != 0 && c.gt == nil {
				continue // cadence rows on the synthetic clips only
			}
			det, _, err := detect.OpenComposite(detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone, SmallFaceEvery: 2,
				Heads: s.heads, HeadsEvery: s.headsEvery, ModelsDir: models})
			if err != nil {
				t.Fatal(err)
			}
			recs := map[int][]image.Rectangle{}
			var maskedPx float64
			frames := 0
			c0 := cpuSeconds()
			_, err = DetectVideo(context.Background(), c.path, ScanOptions{Detector: det}, func(r Record) error {
				var rs []image.Rectangle
				for _, bx := range r.Boxes {
					rs = append(rs, bx.Rect())
				}
				recs[r.Frame] = rs
				maskedPx += float64(detect.UnionArea(rs)) / float64(r.Width*r.Height)
				return nil
			})
			cpu := cpuSeconds() - c0
			run, skipped := det.PersonPasses()
			det.Close()
			if err != nil {
				t.Fatal(err)
			}
			frames = len(indep.frames)
			lab := "n/a"
			if c.gt != nil {
				lab = missed(c.gt, recs)
			}
			row := fmt.Sprintf("%-30s %-26s %7d | %12s %12s | %6.2f%% | %8.1f | %d/%d", c.name, s.name, frames,
				lab, missed(indep.faces, recs), 100*maskedPx/float64(max(1, frames)), 1000*cpu/float64(max(1, frames)), run, skipped)
			t.Log(row)
			b.WriteString(row + "\n")
		}
	}
	b.WriteString("labelled / yunet>=0.8: face-frames not covered >= 70% by the detect --json regions, of all (missed/all = %).\n" +
		"masked: mean share of the frame under the regions (boxes; the ellipses painted are smaller).\n")
	t.Log(b.String())
}

// missed formats how many of the faces (per frame) the regions do not
// cover >= 70%.
func missed(faces, regions map[int][]image.Rectangle) string {
	n, miss := 0, 0
	for f, fs := range faces {
		for _, g := range fs {
			n++
			if detect.Coverage(g, regions[f]) < 0.7 {
				miss++
			}
		}
	}
	return fmt.Sprintf("%d/%d=%.1f%%", miss, n, 100*float64(miss)/float64(max(1, n)))
}

type indepFaces struct {
	frames []int
	faces  map[int][]image.Rectangle
}

// independentFaces runs d on every frame of the original, decoded by
// OpenCV (not by custody's pipeline).
func independentFaces(t *testing.T, d detect.Detector, path string) indepFaces {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	out := indepFaces{faces: map[int][]image.Rectangle{}}
	for i := 0; vc.Read(&img) && !img.Empty(); i++ {
		boxes, err := d.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		out.frames = append(out.frames, i)
		for _, b := range boxes {
			out.faces[i] = append(out.faces[i], b.Rect())
		}
	}
	return out
}

// cctvClip renders a 720p synthetic clip from faces_dlib's testing photos
// seen from above. Still: two groups walk across a fixed grey room.
// Panning: the camera pans over one group. The labelled faces are carried
// along.
func cctvClip(t *testing.T, dir, name string, panning bool) headsClip {
	t.Helper()
	faces := dlibFaces(t)
	const w, h, frames = 1280, 720, 90
	var groups []group
	for _, g := range []struct {
		file  string
		scale float64
	}{{"2008_007676.jpg", 0.7}, {"2008_002470.jpg", 0.7}} {
		img := gocv.IMRead(testenv.Shared(t, "data/faces_dlib/"+g.file), gocv.IMReadColor)
		img, gt := fromAbove(img, faces[g.file], 0.5, 0.7, g.scale)
		groups = append(groups, group{img, gt})
	}
	defer func() {
		for _, g := range groups {
			g.img.Close()
		}
	}()
	sub := filepath.Join(dir, strings.Map(safe, name))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// The panning camera's room: a photo stretched to 2200×720, blurred
	// (a textured floor and walls), that slides with the group.
	room := gocv.IMRead(testenv.Shared(t, "data/faces_dlib/2008_004176.jpg"), gocv.IMReadColor)
	gocv.Resize(room, &room, image.Pt(2200, h), 0, 0, gocv.InterpolationLinear)
	gocv.GaussianBlur(room, &room, image.Pt(31, 31), 0, 0, gocv.BorderDefault)
	defer room.Close()
	gt := map[int][]image.Rectangle{}
	for i := 0; i < frames; i++ {
		canvas := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(100, 105, 110, 0), h, w, gocv.MatTypeCV8UC3)
		var offs []image.Point
		if panning {
			// The camera moves: the room and the group slide.
			view := room.Region(image.Rect(10*i, 0, 10*i+w, h))
			view.CopyTo(&canvas)
			view.Close()
			offs = []image.Point{{900 - 10*i, 250}}
		} else {
			offs = []image.Point{{60 + 8*i, 60}, {900 - 6*i, 380}}
		}
		for k, off := range offs {
			g := groups[k]
			r := image.Rectangle{Min: off, Max: off.Add(image.Pt(g.img.Cols(), g.img.Rows()))}.Intersect(image.Rect(0, 0, w, h))
			if r.Empty() {
				continue
			}
			src := g.img.Region(r.Sub(off))
			dst := canvas.Region(r)
			src.CopyTo(&dst)
			src.Close()
			dst.Close()
			for _, f := range g.gt {
				if f2 := f.Add(off).Intersect(image.Rect(0, 0, w, h)); f2 == f.Add(off) {
					gt[i] = append(gt[i], f2) // faces wholly in the picture only
				}
			}
		}
		gocv.IMWrite(filepath.Join(sub, fmt.Sprintf("f%04d.png", i)), canvas)
		canvas.Close()
	}
	out := filepath.Join(dir, strings.Map(safe, name)+".mp4")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-y", "-framerate", "15", "-i", filepath.Join(sub, "f%04d.png"),
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", out).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v %s", name, err, b)
	}
	return headsClip{name: name, path: out, gt: gt}
}

type group struct {
	img gocv.Mat
	gt  []image.Rectangle
}

// fromAbove warps img as a camera looking down would see it (heights
// times squash, the bottom edge narrow times the top) and shrinks it by
// scale; face boxes become the bounding boxes of their warped corners.
func fromAbove(img gocv.Mat, gt []image.Rectangle, squash, narrow, scale float64) (gocv.Mat, []image.Rectangle) {
	w, h := float64(img.Cols()), float64(img.Rows())
	nw, nh := w*scale, h*squash*scale
	in := (w - w*narrow) / 2 * scale
	src := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {int(w), 0}, {int(w), int(h)}, {0, int(h)}})
	dst := gocv.NewPointVectorFromPoints([]image.Point{{0, 0}, {int(nw), 0}, {int(nw - in), int(nh)}, {int(in), int(nh)}})
	defer src.Close()
	defer dst.Close()
	m := gocv.GetPerspectiveTransform(src, dst)
	defer m.Close()
	out := gocv.NewMat()
	gocv.WarpPerspectiveWithParams(img, &out, m, image.Pt(int(nw), int(nh)), gocv.InterpolationArea, gocv.BorderConstant,
		color.RGBA{R: 110, G: 105, B: 100})
	img.Close()
	var warped []image.Rectangle
	for _, g := range gt {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range []image.Point{g.Min, {g.Max.X, g.Min.Y}, g.Max, {g.Min.X, g.Max.Y}} {
			x, y := float64(p.X), float64(p.Y)
			d := m.GetDoubleAt(2, 0)*x + m.GetDoubleAt(2, 1)*y + m.GetDoubleAt(2, 2)
			u := (m.GetDoubleAt(0, 0)*x + m.GetDoubleAt(0, 1)*y + m.GetDoubleAt(0, 2)) / d
			v := (m.GetDoubleAt(1, 0)*x + m.GetDoubleAt(1, 1)*y + m.GetDoubleAt(1, 2)) / d
			x0, y0, x1, y1 = math.Min(x0, u), math.Min(y0, v), math.Max(x1, u), math.Max(y1, v)
		}
		warped = append(warped, image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1))))
	}
	return out, warped
}

// dlibFaces reads faces_dlib's labelled face boxes, per image.
func dlibFaces(t *testing.T) map[string][]image.Rectangle {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "data/faces_dlib/annotations_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]image.Rectangle{}
	for _, r := range rows[1:] {
		v := make([]int, 4)
		for j := range v {
			if v[j], err = strconv.Atoi(r[j+1]); err != nil {
				t.Fatal(err)
			}
		}
		out[r[0]] = append(out[r[0]], image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	return out
}
