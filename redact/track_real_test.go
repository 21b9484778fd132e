//go:build cgo

package redact

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"os/exec"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
)

// haarEveryFrame runs Debian's frontal-face Haar cascade on every frame of a
// real clip (decoded by ffmpeg to grey at a quarter of the size: the faces
// in this clip are large) and returns the boxes per frame, in full-size
// pixels.
func haarEveryFrame(t *testing.T, clip string, w, h int) [][]detect.Box {
	t.Helper()
	ffmpeg := testenv.Tool(t, "ffmpeg")
	cascade := gocv.NewCascadeClassifier()
	defer cascade.Close()
	if !cascade.Load(detect.DefaultHaarDir + "/haarcascade_frontalface_default.xml") {
		t.Fatalf("cannot load the Haar cascade from %s (install opencv-data)", detect.DefaultHaarDir)
	}
	const k = 4
	sw, sh := w/k, h/k
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", clip,
		"-vf", fmt.Sprintf("scale=%d:%d", sw, sh), "-f", "rawvideo", "-pix_fmt", "gray", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var frames [][]detect.Box
	buf := make([]byte, sw*sh)
	for {
		if _, err := io.ReadFull(out, buf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("reading frame %d: %v", len(frames), err)
		}
		img, err := gocv.NewMatFromBytes(sh, sw, gocv.MatTypeCV8U, buf)
		if err != nil {
			t.Fatal(err)
		}
		rects := cascade.DetectMultiScaleWithParams(img, 1.1, 3, 0, image.Pt(20, 20), image.Pt(0, 0))
		img.Close()
		var bs []detect.Box
		for _, r := range rects {
			bs = append(bs, detect.Box{X: k * r.Min.X, Y: k * r.Min.Y, W: k * r.Dx(), H: k * r.Dy(), Score: 1, Label: detect.LabelFace})
		}
		frames = append(frames, bs)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return frames
}

// TestTrackerSparseOnRealFootage measures what `--every N` costs in
// coverage on real footage. The reference is what the detector finds when it
// runs on every frame: the frontal-face cascade's detections that belong to
// a track confirmed on at least 10 frames (its one-frame false alarms left
// out; its persistent ones, such as the neckline of the shirt in this clip,
// stay in: the tracker's job is to reproduce dense detection, right or
// wrong). The tracker then sees only every Nth frame's detections, and we
// count the reference detections on the frames in between that its masks
// cover by at least 70%. The baseline in the same run is what a redactor
// without a tracker would do: keep the last observed detections until the
// next observation. A reference detection that the detector did not repeat
// on any nearby observed frame cannot be recovered by any tracker.
func TestTrackerSparseOnRealFootage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a face detector over 600 real frames")
	}
	clip := testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4")
	const w, h = 608, 1080
	dense := haarEveryFrame(t, clip, w, h)
	if len(dense) != 600 {
		t.Fatalf("decoded %d frames, want 600", len(dense))
	}
	opt := DefaultTrackerOptions(30)
	opt.Width, opt.Height = w, h

	ref := runTracker(t, opt, len(dense), 1, func(f int) []detect.Box { return dense[f] })
	stable := map[int]bool{}
	for _, tk := range ref.tracks {
		if tk.Hits >= 10 {
			stable[tk.ID] = true
		}
	}
	// The reference faces: dense detections matched into stable tracks.
	truth := make([][]detect.Box, len(dense))
	nTruth := 0
	for f, fm := range ref.masks {
		for _, mb := range fm.Boxes {
			if stable[mb.TrackID] && mb.Kind == KindDetected {
				truth[f] = append(truth[f], mb.Box)
				nTruth++
			}
		}
	}
	if nTruth < 100 {
		t.Fatalf("only %d reference detections in the clip: the cascade found too little to measure", nTruth)
	}

	t.Logf("reference: %d detections in stable tracks on %d frames (%d tracks, %d stable)", nTruth, len(dense), len(ref.tracks), len(stable))
	var refArea float64
	for f := range dense {
		refArea += maskedShare(ref.masks[f].Boxes, w, h)
	}
	t.Logf("every frame detected and tracked: %.1f%% of the frame masked on average", 100*refArea/float64(len(dense)))
	t.Logf("%-6s %-20s %-20s %-15s %s", "every", "tracker covered", "hold-last covered", "tracker area", "hold-last area")
	for _, every := range []int{2, 3, 5, 10} {
		r := runTracker(t, opt, len(dense), every, func(f int) []detect.Box { return dense[f] })
		var n, hitT, hitB int
		var area, areaB float64
		var last []detect.Box
		for f := range dense {
			if f%every == 0 {
				last = dense[f]
			}
			area += maskedShare(r.masks[f].Boxes, w, h)
			var lb []MaskBox
			for _, b := range last {
				lb = append(lb, MaskBox{Box: b})
			}
			areaB += maskedShare(lb, w, h)
			if f%every == 0 {
				continue // observed: trivially masked by both
			}
			for _, tb := range truth[f] {
				n++
				if c, _ := r.bestCover(f, tb); c >= 0.7 {
					hitT++
				} else if testing.Verbose() && n-hitT <= 3 {
					t.Logf("every %d frame %d: reference %+v covered %.0f%%: %s", every, f, tb, 100*c, fmtBoxes(r.masks[f].Boxes))
				}
				for _, b := range last {
					if coverage(tb, b.X, b.Y, b.W, b.H) >= 0.7 {
						hitB++
						break
					}
				}
			}
		}
		rt, rb := float64(hitT)/float64(n), float64(hitB)/float64(n)
		t.Logf("%-6d %5.1f%% (%4d/%4d)   %5.1f%% (%4d/%4d)   %5.1f%%          %5.1f%%",
			every, 100*rt, hitT, n, 100*rb, hitB, n, 100*area/float64(len(dense)), 100*areaB/float64(len(dense)))
		if rt < rb {
			t.Errorf("every %d: the tracker covers less of the reference (%.1f%%) than holding the last detections (%.1f%%)", every, 100*rt, 100*rb)
		}
		if every <= 3 && rt < 0.95 {
			t.Errorf("every %d: the tracker covers %.1f%% of the reference between detections, want at least 95%%", every, 100*rt)
		}
	}
}

// maskedShare is the share of the frame under the union of the boxes.
func maskedShare(bs []MaskBox, w, h int) float64 {
	rs := make([]image.Rectangle, len(bs))
	for i, b := range bs {
		rs[i] = image.Rect(b.Box.X, b.Box.Y, b.Box.X+b.Box.W, b.Box.Y+b.Box.H)
	}
	return float64(detectUnion(rs, image.Rect(0, 0, w, h))) / float64(w*h)
}

// detectUnion counts the pixels of bounds covered by any rectangle.
func detectUnion(rs []image.Rectangle, bounds image.Rectangle) int {
	if len(rs) == 0 {
		return 0
	}
	n := 0
	row := make([]bool, bounds.Dx())
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		clear(row)
		any := false
		for _, r := range rs {
			if y >= r.Min.Y && y < r.Max.Y {
				for x := max(r.Min.X, bounds.Min.X); x < min(r.Max.X, bounds.Max.X); x++ {
					row[x-bounds.Min.X] = true
					any = true
				}
			}
		}
		if any {
			for _, v := range row {
				if v {
					n++
				}
			}
		}
	}
	return n
}
