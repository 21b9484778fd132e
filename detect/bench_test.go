//go:build cgo

package detect

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

const gen1Video = "data/video/gen1_demo_assets_test_video.mp4"

// extractFrames decodes n frames, one every `every` frames from the start,
// of a shared video into PNGs in dir with ffmpeg, and returns their paths.
func extractFrames(tb testing.TB, video string, n, every int) []string {
	tb.Helper()
	ffmpeg := testenv.Tool(tb, "ffmpeg")
	src := testenv.Shared(tb, video)
	dir := tb.TempDir()
	cmd := exec.Command(ffmpeg, "-v", "error", "-i", src,
		"-vf", fmt.Sprintf("select=not(mod(n\\,%d))", every), "-fps_mode", "passthrough",
		"-frames:v", fmt.Sprint(n), filepath.Join(dir, "f%04d.png"))
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg: %v: %s", err, out)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "f*.png"))
	if len(paths) != n {
		tb.Fatalf("ffmpeg wrote %d frames, want %d", len(paths), n)
	}
	return paths
}

// extractFrameNumbers decodes the given frames (0-based, ascending) of a
// shared video into PNGs and returns their paths in the same order.
func extractFrameNumbers(tb testing.TB, video string, numbers []int) []string {
	tb.Helper()
	ffmpeg := testenv.Tool(tb, "ffmpeg")
	src := testenv.Shared(tb, video)
	dir := tb.TempDir()
	sel := make([]string, len(numbers))
	for i, n := range numbers {
		sel[i] = fmt.Sprintf("eq(n\\,%d)", n)
	}
	cmd := exec.Command(ffmpeg, "-v", "error", "-i", src,
		"-vf", "select="+strings.Join(sel, "+"), "-fps_mode", "passthrough", filepath.Join(dir, "f%04d.png"))
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg: %v: %s", err, out)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "f*.png"))
	if len(paths) != len(numbers) {
		tb.Fatalf("ffmpeg wrote %d frames, want %d", len(paths), len(numbers))
	}
	return paths
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func readFrame(tb testing.TB, path string) gocv.Mat {
	tb.Helper()
	img := gocv.IMRead(path, gocv.IMReadColor)
	if img.Empty() {
		tb.Fatalf("cannot read %s", path)
	}
	return img
}

func benchDetector(b *testing.B, cfg Config) {
	frame := readFrame(b, extractFrames(b, gen1Video, 1, 150)[0])
	defer frame.Close()
	cfg.ModelsDir = sharedModels(b)
	d, _, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Detect(frame); err != nil { // warm-up: network allocation
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Detect(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
}

// Benchmarks on one 608×1080 frame of the body-camera clip, MinFace 20.
func BenchmarkYuNet1080p(b *testing.B) { benchDetector(b, Config{Face: FaceYuNet, Text: TextNone}) }
func BenchmarkUltraFace1080p(b *testing.B) {
	benchDetector(b, Config{Face: FaceUltraFace, Text: TextNone})
}
func BenchmarkSSD1080p(b *testing.B)  { benchDetector(b, Config{Face: FaceSSD, Text: TextNone}) }
func BenchmarkHaar1080p(b *testing.B) { benchDetector(b, Config{Face: FaceHaar, Text: TextNone}) }
func BenchmarkYuNetBadges1080p(b *testing.B) {
	benchDetector(b, Config{Face: FaceYuNet, Text: TextBadges})
}

// BenchmarkYuNetSinglePass1080p is the baseline for BenchmarkYuNet1080p:
// one YuNet pass at native resolution, which is what OpenCV's
// FaceDetectorYN does (and which misses faces larger than ~300 px).
func BenchmarkYuNetSinglePass1080p(b *testing.B) {
	frame := readFrame(b, extractFrames(b, gen1Video, 1, 150)[0])
	defer frame.Close()
	c, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: sharedModels(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	d := innermost(c.face).(*scaledDetector)
	if _, err := d.run(frame); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.run(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
}

// TestSpeedReport times each detector on 12 frames of the body-camera clip
// (608×1080, 30 fps) and prints ms per frame beside the baseline of one
// native-resolution YuNet pass and the real-time budget, with the share of
// frames the detector could run on at twice real time if detection had
// the machine to itself. It asserts nothing about speed (timing depends on
// the machine). Run: go test ./detect -eval -run TestSpeedReport -v
func TestSpeedReport(t *testing.T) {
	needEval(t)
	paths := extractFrames(t, gen1Video, 12, 50)
	frames := make([]gocv.Mat, len(paths))
	for i, p := range paths {
		frames[i] = readFrame(t, p)
	}
	defer closeAll(frames)
	models := sharedModels(t)
	const budget = 1000.0 / 60 // ms per frame at 2× real time, 30 fps
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-72s %9s %9s %14s\n", "detector on 608x1080 (MinFace 20 unless said)", "ms/frame", "cpu ms", "detect 1 in N")
	row := func(name string, f func(gocv.Mat) error) {
		if err := f(frames[0]); err != nil { // warm-up
			t.Fatal(err)
		}
		c0 := cpuTime()
		t0 := time.Now()
		for _, fr := range frames {
			if err := f(fr); err != nil {
				t.Fatal(err)
			}
		}
		ms := float64(time.Since(t0).Microseconds()) / 1000 / float64(len(frames))
		cpu := float64((cpuTime() - c0).Microseconds()) / 1000 / float64(len(frames))
		fmt.Fprintf(&b, "%-72s %9.1f %9.1f %14.0f\n", name, ms, cpu, math.Ceil(ms/budget))
	}
	c, _, err := OpenComposite(Config{Face: FaceYuNet, Text: TextNone, ModelsDir: models})
	if err != nil {
		t.Fatal(err)
	}
	yd := innermost(c.face).(*scaledDetector)
	row("baseline: one native YuNet pass (FaceDetectorYN)", func(m gocv.Mat) error { _, err := yd.run(m); return err })
	c.Close()
	for _, cfg := range []Config{
		{Face: FaceYuNet, Text: TextNone},
		{Face: FaceYuNet, Text: TextNone, MinFace: 40},
		{Face: FaceUltraFace, Text: TextNone},
		{Face: FaceSSD, Text: TextNone},
		{Face: FaceSSD, Text: TextNone, MinFace: 40},
		{Face: FaceHaar, Text: TextNone},
		{Face: FaceHaar, Text: TextNone, MinFace: 40},
		{Face: FaceYuNet, Text: TextBadges},
		{Face: FaceYuNet, Text: TextBadges, TextEvery: 4},
	} {
		cfg.ModelsDir = models
		d, _, err := OpenComposite(cfg)
		if err != nil {
			t.Fatal(err)
		}
		name := d.Name()
		if cfg.MinFace != 0 {
			name += fmt.Sprintf(" (MinFace %d)", cfg.MinFace)
		}
		if cfg.TextEvery > 1 {
			name += fmt.Sprintf(" (TextEvery %d)", cfg.TextEvery)
		}
		row(name, func(m gocv.Mat) error { _, err := d.Detect(m); return err })
		d.Close()
	}
	fmt.Fprintf(&b, "budget at 2x real time (30 fps): %.1f ms per frame for everything (decode, detect, mask, encode);\n"+
		"\"detect 1 in N\" is the detection cadence that would fit that budget if detection had it all;\n"+
		"cpu ms is the process CPU time per frame (both cores), less sensitive to other load on the machine\n", budget)
	t.Log(b.String())
}
