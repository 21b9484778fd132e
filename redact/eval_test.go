//go:build cgo

package redact

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

var evalFlag = flag.Bool("eval", false, "run the speed and leak evaluation on the shared real clips (slow)")

// evalDetectors are the detectors the evaluation measures. The test Haar
// stand-in is always there; real detectors from package detect are added
// by evalRealDetectors when available.
func evalDetectors(t *testing.T) []struct {
	name string
	det  detect.Detector
} {
	out := []struct {
		name string
		det  detect.Detector
	}{{"haar (test stand-in)", newHaar(t, 3)}}
	return append(out, evalRealDetectors(t)...)
}

// TestEval prints, for each shared clip and detector, the redaction speed
// next to a plain ffmpeg transcode of the same file in the same run, and the
// leak check: an independent, stricter detector run on input and output.
// Targets: redaction >= 40% of the transcode fps, >= 2x real time with a
// DNN detector, and at most 5% of the faces left.
//
//	go test ./redact -run TestEval -eval -v -timeout 30m
func TestEval(t *testing.T) {
	if !*evalFlag {
		t.Skip("evaluation: run with -eval")
	}
	clips := []string{"data/video/gen1_demo_assets_test_video.mp4", "data/video/gen2_demo_assets_test_face_video.mp4"}
	dir := t.TempDir()
	ctx := context.Background()
	type row struct {
		clip, det               string
		frames                  int
		fps, realtime           float64
		ffmpegFPS               float64
		before, after           int
		ratio                   float64
		speedOK, realOK, leakOK string
	}
	var rows []row
	strict := newHaar(t, 6)
	for _, rel := range clips {
		in := testenv.Shared(t, rel)
		info, err := media.Probe(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		// Baseline: the plain transcode the issue compares against.
		base := filepath.Join(dir, "baseline.mp4")
		t0 := time.Now()
		cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-i", in, "-c:v", "libx264", "-preset", "veryfast", base)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("baseline transcode: %v %s", err, out)
		}
		ffFPS := float64(info.Video.Frames) / time.Since(t0).Seconds()
		os.Remove(base)
		before, _ := countFaces(t, strict, in)

		for _, d := range evalDetectors(t) {
			out := filepath.Join(dir, strings.Map(safe, d.name)+"-"+filepath.Base(in))
			rep, err := Redact(ctx, in, out, Options{ScanOptions: ScanOptions{Detector: d.det, Info: info}})
			if err != nil {
				t.Fatalf("%s on %s: %v", d.name, rel, err)
			}
			after, _ := countFaces(t, strict, out)
			r := row{clip: filepath.Base(in), det: d.name, frames: rep.Frames, fps: rep.FPS,
				realtime: rep.FPS / info.Video.FPS, ffmpegFPS: ffFPS, before: before, after: after}
			r.ratio = rep.FPS / ffFPS
			r.speedOK = verdict(r.ratio >= 0.40)
			r.realOK = verdict(r.realtime >= 2)
			if before > 0 {
				r.leakOK = verdict(float64(after) <= 0.05*float64(before))
			} else {
				r.leakOK = "n/a"
			}
			rows = append(rows, r)
			os.Remove(out)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-38s %-22s %6s %8s %8s %9s %7s %9s %7s\n", "clip", "detector", "frames", "fps", "ffmpeg", "ratio", "x real", "faces", "leak")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-38s %-22s %6d %8.1f %8.1f %5.0f%% %-3s %5.1fx %-3s %4d→%-4d %s\n", r.clip, r.det, r.frames, r.fps, r.ffmpegFPS,
			100*r.ratio, r.speedOK, r.realtime, r.realOK, r.before, r.after, r.leakOK)
	}
	fmt.Fprintf(&b, "targets: redaction >= 40%% of ffmpeg -c:v libx264 -preset veryfast fps; >= 2x real time with a DNN detector;\n"+
		"leak: a stricter independent detector (Haar alt2, 6 neighbours) finds <= 5%% of its input faces in the output\n")
	t.Log(b.String())
	for _, r := range rows {
		if r.leakOK == "no" {
			t.Errorf("%s with %s: %d of %d faces left", r.clip, r.det, r.after, r.before)
		}
	}
}

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
