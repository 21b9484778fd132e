//go:build cgo

package redact

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/evalset/refyunet"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

var (
	evalFlag  = flag.Bool("eval", false, "run the speed and leak evaluation on the shared real clips (slow)")
	evalRuns  = flag.Int("eval.runs", 2, "timed runs per row; the best is reported (the machine is shared)")
	evalQuick = flag.Bool("eval.quick", false, "evaluate the first clip with YuNet only")
)

// cpuSeconds is the CPU time used so far by this process and its reaped
// children (the ffmpeg processes), user plus system.
func cpuSeconds() float64 {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

type evalSetup struct {
	name  string
	cfg   detect.Config
	every int
}

type evalRow struct {
	clip, setup            string
	frames                 int
	fps, ffFPS             float64 // wall clock, best of runs
	cpuMS, ffCPUMS         float64 // CPU milliseconds per frame, all processes
	realtime               float64
	before, after          int
	speedOK, realOK, leakK string
}

// TestEval prints, for each shared clip and detector setting, the redaction
// speed next to `ffmpeg -i IN -c:v libx264 -preset veryfast OUT` of the same
// file, timed alternately in the same run, and the leak check: an
// independent run of YuNet at a stricter threshold (0.8 instead of 0.5, on
// every frame, decoded by OpenCV rather than by custody) counts faces in the
// input and in the output.
//
// Two speed figures are given, because the build machine is shared: wall
// clock frames per second (best of -eval.runs), and CPU milliseconds per
// frame summed over every process (custody and its ffmpeg children), which
// does not depend on what else runs. Targets: redaction >= 40% of the
// transcode fps; >= 2x real time with a DNN detector; at most 5% of faces
// left.
//
//	go test ./redact -run TestEval -eval -v -timeout 60m
func TestEval(t *testing.T) {
	if !*evalFlag {
		t.Skip("evaluation: run with -eval")
	}
	models := filepath.Join(testenv.SharedDir(), "models")
	setups := []evalSetup{
		{"no detector (pipeline)", detect.Config{}, 1},
		{"yunet every 1", detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone}, 1},
		{"yunet every 4", detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone}, 4},
		{"yunet every 8", detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone}, 8},
		{"yunet+badges every 8", detect.Config{Face: detect.FaceYuNet, Text: detect.TextBadges, TextEvery: 2}, 8},
		// The CLI's defaults: --every 6 --text-every 4 --small-face-every 2.
		{"default (yunet+badges 6/4/2)", detect.Config{Face: detect.FaceYuNet, Text: detect.TextBadges, TextEvery: 4, SmallFaceEvery: 2}, DefaultEvery},
	}
	clips := []string{"data/video/gen1_demo_assets_test_video.mp4", "data/video/gen2_demo_assets_test_face_video.mp4"}
	if *evalQuick {
		setups, clips = setups[:3], clips[:1]
	}
	strict, _, err := detect.Open(detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone, ModelsDir: models, FaceThreshold: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()

	dir := t.TempDir()
	ctx := context.Background()
	var rows []evalRow
	for _, rel := range clips {
		in := testenv.Shared(t, rel)
		info, err := media.Probe(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := countFaces(t, strict, in)
		for _, s := range setups {
			var det detect.Detector = noDetector{}
			var warn []string
			if s.cfg.Face != "" {
				s.cfg.ModelsDir = models
				if det, warn, err = detect.Open(s.cfg); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			if len(warn) > 0 {
				t.Logf("%s: %v", s.name, warn)
			}
			r := evalRow{clip: filepath.Base(in), setup: s.name, before: before}
			out := filepath.Join(dir, strings.Map(safe, s.name)+".mp4")
			for run := 0; run < *evalRuns; run++ {
				// The baseline the issue compares against, right before.
				base := filepath.Join(dir, "baseline.mp4")
				c0, t0 := cpuSeconds(), time.Now()
				if b, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", in, "-c:v", "libx264", "-preset", "veryfast", base).CombinedOutput(); err != nil {
					t.Fatalf("baseline transcode: %v %s", err, b)
				}
				wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
				n := float64(info.Video.Frames)
				r.ffFPS = max(r.ffFPS, n/wall)
				if r.ffCPUMS == 0 || 1000*cpu/n < r.ffCPUMS {
					r.ffCPUMS = 1000 * cpu / n
				}
				os.Remove(base)

				os.Remove(out)
				c0 = cpuSeconds()
				rep, err := Redact(ctx, in, out, Options{ScanOptions: ScanOptions{Detector: det, Every: s.every, Info: info}})
				if err != nil {
					t.Fatalf("%s on %s: %v", s.name, rel, err)
				}
				cpu = cpuSeconds() - c0
				r.frames = rep.Frames
				r.fps = max(r.fps, rep.FPS)
				if r.cpuMS == 0 || 1000*cpu/float64(rep.Frames) < r.cpuMS {
					r.cpuMS = 1000 * cpu / float64(rep.Frames)
				}
			}
			det.Close()
			r.after, _ = countFaces(t, strict, out)
			r.realtime = r.fps / info.Video.FPS
			r.speedOK = verdict(r.fps >= 0.40*r.ffFPS)
			r.realOK = verdict(r.realtime >= 2)
			r.leakK = "n/a"
			if r.before > 0 && s.cfg.Face != "" {
				r.leakK = verdict(float64(r.after) <= 0.05*float64(r.before))
			}
			rows = append(rows, r)
			t.Log(formatRow(r))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-36s %-28s %6s | %7s %7s %5s %-3s %6s %-3s | %9s %9s %5s | %11s %-3s\n",
		"clip", "setup", "frames", "fps", "ffmpeg", "ratio", "", "x real", "", "cpu ms/f", "ffmpeg", "ratio", "faces in→out", "")
	for _, r := range rows {
		b.WriteString(formatRow(r) + "\n")
	}
	b.WriteString("fps: wall clock, best of runs, ffmpeg = `ffmpeg -i IN -c:v libx264 -preset veryfast OUT` timed alternately;\n" +
		"cpu ms/f: CPU time per frame over all processes (load-independent); its ratio is ffmpeg's cost / custody's.\n" +
		"faces: YuNet at threshold 0.8 on every frame, decoded by OpenCV; leak ok when out <= 5% of in.\n")
	t.Log(b.String())
	for _, r := range rows {
		if r.leakK == "no" {
			t.Errorf("%s with %s: %d of %d faces left", r.clip, r.setup, r.after, r.before)
		}
	}
}

func formatRow(r evalRow) string {
	return fmt.Sprintf("%-36s %-28s %6d | %7.1f %7.1f %4.0f%% %-3s %5.1fx %-3s | %9.1f %9.1f %4.0f%% | %5d→%-5d %-3s",
		r.clip, r.setup, r.frames, r.fps, r.ffFPS, 100*r.fps/r.ffFPS, r.speedOK, r.realtime, r.realOK,
		r.cpuMS, r.ffCPUMS, 100*r.ffCPUMS/r.cpuMS, r.before, r.after, r.leakK)
}

// noDetector finds nothing: the eval's measure of what decoding, masking
// and encoding cost on their own.
type noDetector struct{}

func (noDetector) Name() string                          { return "none" }
func (noDetector) Models() []detect.Model                { return nil }
func (noDetector) Detect(gocv.Mat) ([]detect.Box, error) { return nil, nil }
func (noDetector) Close() error                          { return nil }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "no"
}

func safe(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
		return r
	}
	return '_'
}

// The benchmark of make eval (internal/evalset) from this package's own
// tests: score ScanOptions (a detector and the cadence) on a set of
// pictures or on a clip through the very path `custody detect --json`
// runs, regions scored as redact paints them. Hold a change to a floor
// measured on evalset.Tuning, never on evalset.Reporting. (Tests outside
// this package use internal/evalset/evalrun, which does the same for a
// detect.Config.)

// benchScoreStills runs DetectImage with opt on every picture of set.
func benchScoreStills(t testing.TB, opt ScanOptions, set *evalset.Set) *evalset.Result {
	t.Helper()
	var r evalset.Result
	ellipse := opt.Shape == "" || opt.Shape == ShapeEllipse
	for _, it := range set.Items {
		t0 := time.Now()
		rec, err := DetectImage(context.Background(), it.Path, opt)
		r.Elapsed += time.Since(t0)
		if err != nil {
			t.Fatalf("%s: %v", it.Path, err)
		}
		r.Add(filepath.Base(it.Path), it.Width, it.Height, it.Truth, benchMasks(rec.Boxes, ellipse))
	}
	return &r
}

// benchScoreClip runs DetectVideo with opt over a benchmark clip and
// scores the frames of split against the faces an independent YuNet
// (refyunet.Labeller, by default the model opt's detector does not use, at
// 0.8) finds in the clip's source, and the clip's cards.
func benchScoreClip(t testing.TB, opt ScanOptions, spec evalset.ClipSpec, split evalset.Split) *evalset.Result {
	t.Helper()
	ctx := context.Background()
	version := refyunet.V2022
	for _, m := range opt.Detector.Models() {
		if strings.Contains(m.Name, refyunet.V2022) {
			version = refyunet.V2023
		}
	}
	lab := refyunet.Labeller{Version: version, Threshold: 0.8, ModelsDir: filepath.Join(testenv.SharedDir(), "models"),
		Cache: evalset.DefaultCache()}
	track := func(src string) ([][]image.Rectangle, error) {
		return lab.Faces(ctx, filepath.Join(testenv.SharedDir(), "data", "video", src))
	}
	clip, err := evalset.Clips(ctx, evalset.Options{}, spec, track, lab.Name())
	if err != nil {
		t.Fatal(err)
	}
	truth, err := lab.Faces(ctx, clip.SourcePath)
	if err != nil {
		t.Fatal(err)
	}
	ellipse := opt.Shape == "" || opt.Shape == ShapeEllipse
	masks := map[int][]evalset.Mask{}
	t0 := time.Now()
	_, err = DetectVideo(ctx, clip.Path, opt, func(rec Record) error {
		masks[rec.Frame] = benchMasks(rec.Boxes, ellipse)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var r evalset.Result
	r.Elapsed = time.Since(t0)
	for i := 0; i < clip.Frames; i++ {
		if clip.InSplit(i, split) {
			r.Add(fmt.Sprintf("%s#%d", spec.Name(), i), clip.Width, clip.Height, clip.Truth(i, truth[i]), masks[i])
		}
	}
	return &r
}

func benchMasks(boxes []detect.Box, ellipse bool) []evalset.Mask {
	out := make([]evalset.Mask, len(boxes))
	for i, b := range boxes {
		out[i] = evalset.PaintedMask(b.Rect(), string(b.Label), ellipse)
	}
	return out
}

// TestBenchTuningFloors holds the CLI's default detector and cadence to
// what they mask on the tuning split (measured): every face of the
// original photos; 19 of the 68 worn cards (the issue wants all); 25 of
// the 36 face-frames YuNet 2022mar at 0.8 finds in gen2's first half (the
// defaults run 2023mar, so 2022mar labels: the 11 others are its false
// faces, looked at frame by frame: the black edge of the lens's image
// circle in the top-left corner on every frame, hands holding a glass or
// a fork; with 2023mar labelling, as when 2022mar was the default, the
// floor was every face-frame).
func TestBenchTuningFloors(t *testing.T) {
	det, _, err := detect.Open(detect.Config{TextEvery: 4, SmallFaceEvery: 2, ModelsDir: filepath.Join(testenv.SharedDir(), "models")})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	opt := ScanOptions{Detector: det}
	faces, err := evalset.Faces(evalset.Options{}, evalset.Tuning, evalset.VariantOriginal)
	if err != nil {
		t.Fatal(err)
	}
	badges, err := evalset.Badges(evalset.Options{}, evalset.Tuning)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		r     *evalset.Result
		kind  string
		floor float64
	}{
		{"original faces", benchScoreStills(t, opt, faces), evalset.KindFace, 1},
		{"worn cards", benchScoreStills(t, opt, badges), evalset.KindBadge, 19.0 / 68},
		{"gen2 face-frames", benchScoreClip(t, opt, evalset.ClipSpec{Source: evalset.ClipGen2, Variant: evalset.ClipOriginal}, evalset.Tuning), evalset.KindFace, 25.0 / 36},
	} {
		t.Logf("%s: recall %.3f of %d, precision %.3f, masked %.3f", c.name, c.r.Recall(c.kind), c.r.Count(c.kind), c.r.Precision(), c.r.Masked())
		if got := c.r.Recall(c.kind); got < c.floor-1e-9 {
			t.Errorf("%s (tuning split): recall %.3f below the floor %.3f; missed %v", c.name, got, c.floor, c.r.Missed)
		}
	}
}
