//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// TestEvalFaceViewsCost times each extra face view on its own, in CPU ms
// per call (both cores), on real frames: the body-camera clip's 608×1080,
// the fisheye clip's 2560×1920 and that frame resized to 1280×720 and
// 1920×1080 (a DNN's cost depends on the size, not the content). A full
// call runs every pass (stills, and every SmallFaceEvery-th detection on
// video: the only calls the turned and fisheye views run on); a coarse
// call, the detections in between. Text and heads are off: faces only.
//
//	go test ./detect -eval -run TestEvalFaceViewsCost -v
func TestEvalFaceViewsCost(t *testing.T) {
	needEval(t)
	g1 := readFrame(t, extractFrames(t, gen1Video, 1, 150)[0])
	g2 := readFrame(t, extractFrames(t, gen2Video, 1, 3)[0])
	names := []string{"608x1080", "1280x720", "1920x1080", "2560x1920"}
	frames := []gocv.Mat{g1, resized(g2, image.Pt(1280, 720)), resized(g2, image.Pt(1920, 1080)), g2}
	defer closeAll(frames)
	off := Config{RotatedFaces: PassOff, Contrast: PassOff, Fisheye: PassOff}
	with := func(f func(*Config)) Config { c := off; f(&c); return c }
	setups := []struct {
		name string
		cfg  Config
	}{
		{"yunet-2022mar, min face 20, no views", with(func(c *Config) { c.Face, c.MinFace = FaceYuNet, 20 })},
		{"yunet-2023mar, min face 20, no views", with(func(c *Config) { c.MinFace = 20 })},
		{"yunet-2023mar, min face 12, no views", off},
		{"+ quarter and half turns", with(func(c *Config) { c.RotatedFaces = PassAuto })},
		{"+ contrast copy (a dark frame)", with(func(c *Config) { c.Contrast = PassOn })},
		{"+ fisheye views (a fisheye frame)", with(func(c *Config) { c.Fisheye = PassOn })},
		{"defaults", Config{}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-40s", "CPU ms per call: full / coarse")
	for _, n := range names {
		fmt.Fprintf(&b, " %17s", n)
	}
	b.WriteString("\n")
	for _, s := range setups {
		s.cfg.Text, s.cfg.Heads, s.cfg.SmallFaceEvery = TextNone, HeadsOff, 2
		c := openT(t, s.cfg)
		fmt.Fprintf(&b, "%-40s", s.name)
		for _, f := range frames {
			full := timeCalls(t, func() error { c.ResetCadence(); _, err := c.detectFaces(f, true); return err })
			coarse := timeCalls(t, func() error { _, err := runInner(c.face, f, false, 0); return err })
			fmt.Fprintf(&b, " %8.0f / %6.0f", full, coarse)
		}
		b.WriteString("\n")
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
	for range 3 {
		c0 := cpuTime()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		best = math.Min(best, float64((cpuTime()-c0).Microseconds())/1000)
	}
	return best
}
