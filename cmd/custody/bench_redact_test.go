//go:build cgo

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

// benchClip is a clip BenchmarkRedact times: a shared clip, or one made
// from them at a broadcast size.
type benchClip struct {
	name, path string
	// target: the issue 4 targets apply (gen1 as shared).
	target bool
	// thorough: also time --thorough once, for reference.
	thorough bool
}

// benchClips makes the 720p and 1080p clips of BenchmarkRedact from the
// shared real clips with ffmpeg: gen1 (one person at close range, 608×1080
// portrait) three times side by side (as shared, mirrored, and zoomed
// 1.25x, so the three faces differ), scaled to 1280×720 and 1920×1080 and
// pillarboxed, 240 frames at 30 fps; and gen2 (the fisheye wearable
// camera, people at a table, 2560×1920) cropped to 16:9, scaled to
// 1920×1080 and looped to 140 frames at 10 fps. They are encoded at CRF 18
// so that the clip, not its coding, is what the runs decode.
func benchClips(b *testing.B, dir, gen1, gen2 string) []benchClip {
	b.Helper()
	triptych := func(w, h int) string {
		return fmt.Sprintf("[0:v]split=3[a][b][c];[b]hflip[b2];[c]crop=iw/1.25:ih/1.25,scale=608:1080[c2];"+
			"[a][b2][c2]hstack=inputs=3,scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1[v]", w, h, w, h)
	}
	specs := []struct {
		name, in string
		pre      []string
		filter   string
		frames   int
	}{
		{"gen1x3-720p", gen1, nil, triptych(1280, 720), 240},
		{"gen1x3-1080p", gen1, nil, triptych(1920, 1080), 240},
		{"gen2-1080p", gen2, []string{"-stream_loop", "9"}, "[0:v]crop=2560:1440,scale=1920:1080,setsar=1[v]", 140},
	}
	var out []benchClip
	for _, s := range specs {
		p := filepath.Join(dir, s.name+".mp4")
		args := append([]string{"-v", "error", "-y"}, s.pre...)
		args = append(args, "-i", s.in, "-filter_complex", s.filter, "-map", "[v]", "-frames:v", fmt.Sprint(s.frames),
			"-c:v", "libx264", "-preset", "fast", "-crf", "18", "-pix_fmt", "yuv420p", "-an", p)
		if o, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			b.Fatalf("making %s: %v\n%s", s.name, err, o)
		}
		out = append(out, benchClip{name: s.name + ".mp4", path: p})
	}
	return out
}

// BenchmarkRedact measures `custody redact IN -o OUT` at the defaults
// (YuNet, badges, heads auto, the default cadence) and with the fast
// cadence preset (--cadence fast), on the shared gen1 clip and on 720p and
// 1080p clips made from the shared clips (benchClips), against `ffmpeg -i
// IN -c:v libx264 -preset veryfast OUT` of the same file, run alternately
// with it in the same run, median of 3 each. Targets (issue 4, on gen1 as
// shared, at the defaults): custody's frames per second >= 40% of the
// transcode's, and >= 2x real time (the clip's duration over custody's
// wall time). The larger clips have no target: their figures are the
// ones issue 12 asks for.
//
// One more row on gen1, run once, is the thorough setting (--thorough:
// every frame through every pass of every detector), for reference.
//
// Wall times depend on what else the machine runs; the CPU column (user +
// system time of the command and the ffmpeg processes it waited for, per
// frame) much less so, and its ratio to the transcode's is the stable
// figure to compare between machines. The binary is built here with `go
// build`, as `make build` does.
//
//	go test ./cmd/custody -run '^$' -bench Redact -benchtime 1x -timeout 60m
func BenchmarkRedact(b *testing.B) {
	testenv.Tool(b, "ffmpeg")
	testenv.Tool(b, "ffprobe")
	models := filepath.Join(testenv.SharedDir(), "models")
	if _, err := os.Stat(filepath.Join(models, "yunet")); err != nil {
		b.Skipf("no shared models in %s (set CUSTODY_SHARED): %v", models, err)
	}
	gen1 := testenv.Shared(b, "data/video/gen1_demo_assets_test_video.mp4")
	gen2 := testenv.Shared(b, "data/video/gen2_demo_assets_test_face_video.mp4")
	dir := b.TempDir()
	clips := append([]benchClip{{name: filepath.Base(gen1), path: gen1, target: true, thorough: true}}, benchClips(b, dir, gen1, gen2)...)
	// CUSTODY_BENCH_CLIPS=gen1x3-720p,... runs some of them only.
	if sel := os.Getenv("CUSTODY_BENCH_CLIPS"); sel != "" {
		var keep []benchClip
		for _, c := range clips {
			if strings.Contains(sel, strings.TrimSuffix(c.name, ".mp4")) {
				keep = append(keep, c)
			}
		}
		clips = keep
	}
	bin := buildCustody(b, dir, false)

	// CUSTODY_BENCH_ROUNDS=1 for a quick look; the figures to report are
	// medians of 3.
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	var rows []benchRow
	// Start each command with no dirty pages left by the one before.
	timedRun := func(name string, args ...string) run {
		syscall.Sync()
		return timeRun(b, name, args...)
	}
	for _, c := range clips {
		info, err := media.Probe(context.Background(), c.path)
		if err != nil || info.Video == nil || info.Video.Frames == 0 || info.Duration <= 0 {
			b.Fatalf("probing %s: %v", c.path, err)
		}
		r := benchRow{clip: c.name, size: fmt.Sprintf("%dx%d", info.Video.Width, info.Video.Height),
			frames: int(info.Video.Frames), duration: info.Duration}
		out := func(name string) string { return filepath.Join(dir, name+".mp4") }
		redactArgs := func(extra ...string) []string {
			return append([]string{"redact", c.path, "-o", out("redacted"), "--models", models}, extra...)
		}
		var base, def, fast []run
		for i := 0; i < rounds; i++ {
			os.Remove(out("baseline"))
			base = append(base, timedRun("ffmpeg", "-v", "error", "-y", "-i", c.path, "-c:v", "libx264", "-preset", "veryfast", out("baseline")))
			os.Remove(out("redacted"))
			def = append(def, timedRun(bin, redactArgs()...))
			os.Remove(out("redacted"))
			fast = append(fast, timedRun(bin, redactArgs("--cadence", "fast")...))
		}
		bm := medianRun(base)
		r.base = bm
		for _, s := range []struct {
			setup string
			runs  []run
		}{{"default", def}, {"--cadence fast", fast}} {
			r.setup, r.run, r.target = s.setup, medianRun(s.runs), c.target && s.setup == "default"
			rows = append(rows, r)
		}
		if c.thorough {
			os.Remove(out("redacted"))
			r.setup, r.run, r.target = "--thorough (1 run)", timedRun(bin, redactArgs("--thorough")...), false
			rows = append(rows, r)
		}
		if c.target {
			om := medianRun(def)
			b.ReportMetric(float64(r.frames)/om.wall.Seconds(), "gen1-fps")
			b.ReportMetric(bm.wall.Seconds()/om.wall.Seconds(), "gen1-ratio")
			b.ReportMetric(r.duration/om.wall.Seconds(), "gen1-x-realtime")
			b.ReportMetric(float64(om.cpu.Milliseconds())/float64(r.frames), "gen1-cpu-ms/frame")
		}
	}
	// Printed, not logged: the testing package cuts a benchmark's log
	// to ten lines.
	fmt.Print("\n" + benchTable(models, rows, rounds))
}

type benchRow struct {
	clip, size, setup string
	frames            int
	duration          float64 // seconds of video
	run, base         run
	target            bool
}

func benchTable(models string, rows []benchRow, rounds int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "custody redact IN -o OUT --models %s, beside ffmpeg -i IN -c:v libx264 -preset veryfast OUT\n", models)
	fmt.Fprintf(&s, "%-38s %-9s %-18s %6s | %7s %7s %6s %-4s | %7s %-4s | %8s %8s %6s\n",
		"clip", "size", "settings", "frames", "fps", "ffmpeg", "ratio", "", "x real", "", "cpu ms/f", "ffmpeg", "ratio")
	verdict := func(ok, applies bool) string {
		switch {
		case !applies:
			return ""
		case ok:
			return "ok"
		}
		return "MISS"
	}
	for _, r := range rows {
		fps := float64(r.frames) / r.run.wall.Seconds()
		ffps := float64(r.frames) / r.base.wall.Seconds()
		ratio := fps / ffps
		xr := r.duration / r.run.wall.Seconds()
		cpu := float64(r.run.cpu.Microseconds()) / 1000 / float64(r.frames)
		fcpu := float64(r.base.cpu.Microseconds()) / 1000 / float64(r.frames)
		fmt.Fprintf(&s, "%-38s %-9s %-18s %6d | %7.1f %7.1f %5.0f%% %-4s | %6.2fx %-4s | %8.1f %8.1f %5.0f%%\n",
			r.clip, r.size, r.setup, r.frames, fps, ffps, 100*ratio, verdict(ratio >= 0.40, r.target),
			xr, verdict(xr >= 2, r.target), cpu, fcpu, 100*fcpu/cpu)
	}
	fmt.Fprintf(&s, "default and --cadence fast: median of %d runs each, alternating with the transcode (median of %d); --thorough: one run, every pass on every frame.\n", rounds, rounds)
	s.WriteString("targets (default settings, on gen1 as issue 4 sets them): fps >= 40% of the transcode's, and x real time (clip duration / wall time) >= 2.\n" +
		"gen1x3-*: gen1 three times side by side (as shared, mirrored, zoomed), scaled and pillarboxed; gen2-1080p: the fisheye clip cropped to 16:9, looped 10x.\n" +
		"cpu ms/f: user+system CPU per frame of the command and the ffmpeg processes it ran, on all cores (less load-dependent than wall time);\n" +
		"its ratio is the transcode's CPU over custody's: with both using the 2 cores fully, the fps ratio tends to it.\n" +
		"Ceiling on this 2-core machine: custody's wall time cannot fall below its CPU time / 2, so fps <= 2000 / (cpu ms/f).\n")
	return s.String()
}
