//go:build cgo

package redact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/media"
)

// TestRedactFormats: the odd footage hospitals hand over (issue 12 item 6)
// is redacted, every frame kept at its size and time, and the faces are
// masked: MPEG-1, MPEG-2 in a program and a transport stream, MJPEG in
// AVI, HEVC 10-bit, and a variable-frame-rate clip of odd size in 4:4:4.
// Each input is made by ffmpeg from the same clip of a real photo.
func TestRedactFormats(t *testing.T) {
	dir := t.TempDir()
	src := facesClip(t, dir, "src.mp4", "1")
	cases := []struct {
		name, file string
		args       []string
		codec      string
		vfr        bool   // compare every frame's time
		ext        string // of the output; default .mp4
	}{
		{"mpeg-1", "m1.mpg", []string{"-c:v", "mpeg1video", "-q:v", "4", "-c:a", "mp2"}, "mpeg1video", false, ""},
		{"mpeg-2 program stream", "m2.mpg", []string{"-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2"}, "mpeg2video", false, ""},
		{"mpeg-2 transport stream", "m2.ts", []string{"-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2", "-f", "mpegts"}, "mpeg2video", false, ""},
		{"mjpeg avi", "mj.avi", []string{"-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le"}, "mjpeg", false, ".mov"},
		{"hevc 10-bit", "h10.mkv", []string{"-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-preset", "ultrafast",
			"-x265-params", "log-level=error", "-c:a", "copy"}, "hevc", false, ".mkv"},
		{"vfr odd size 4:4:4", "oddvfr.mp4", []string{"-vf", `scale=321:241,select=not(eq(mod(n\,4)\,1))`, "-fps_mode", "vfr",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "copy"}, "h264", true, ""},
	}
	strict := newHaar(t, 6)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := makeClip(t, dir, tc.file, append([]string{"-i", src}, tc.args...)...)
			inInfo, err := media.Probe(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := inInfo.Video.Codec; got != tc.codec {
				t.Fatalf("test clip codec %s, want %s", got, tc.codec)
			}
			ext := tc.ext
			if ext == "" {
				ext = ".mp4"
			}
			out := filepath.Join(dir, strings.ReplaceAll(tc.file, ".", "-")+"-out"+ext)
			rep, err := Redact(context.Background(), in, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Tracks) == 0 {
				t.Fatal("no face found")
			}
			info, err := media.Probe(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if info.Video.Width != inInfo.Video.Width || info.Video.Height != inInfo.Video.Height {
				t.Errorf("output %dx%d, input %dx%d", info.Video.Width, info.Video.Height, inInfo.Video.Width, inInfo.Video.Height)
			}
			inPTS, outPTS := framePTS(t, in), framePTS(t, out)
			if len(inPTS) != len(outPTS) || (tc.vfr && !slices.Equal(inPTS, outPTS)) {
				t.Errorf("frames: %d in %v, %d out %v", len(inPTS), head(inPTS), len(outPTS), head(outPTS))
			}
			before, _ := countFaces(t, strict, in)
			after, _ := countFaces(t, strict, out)
			if before < len(inPTS)/2 || float64(after) > 0.05*float64(before) {
				t.Errorf("%d faces before, %d after (of %d frames)", before, after, len(inPTS))
			}
		})
	}
}

// What redaction cannot write is refused with an error that names it and
// what to do, and no file is left: an output container it does not write,
// and PCM audio (MJPEG AVI's) that MP4 cannot carry bit-exact.
func TestRedactUnsupportedOutput(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "0.2")
	pcm := makeClip(t, dir, "pcm.avi", "-i", in, "-c:v", "mjpeg", "-c:a", "pcm_s16le")
	for _, tc := range []struct{ in, out, says string }{
		{in, "out.ts", ".mp4, .mov or .mkv"},
		{pcm, "pcm.mp4", "choose a .mov or .mkv output"},
	} {
		out := filepath.Join(dir, tc.out)
		_, err := Redact(context.Background(), tc.in, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3)}})
		if !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line of ErrUnsupported saying %q", tc.out, err, tc.says)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("left %s", out)
		}
	}
}

func head(s []string) []string {
	if len(s) > 6 {
		return s[:6]
	}
	return s
}
