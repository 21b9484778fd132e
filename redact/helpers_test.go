package redact

import (
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// run and makeClip are the shared test helpers under their short names.
var (
	run      = testenv.Run
	makeClip = testenv.MakeClip
)

// facesClip renders a clip with real faces: a photo from faces_dlib
// (several people, faces of about 90-110 px) scaled and panned, with a
// detailed test pattern in the bottom-left corner (x 0-160, y 290-350, for
// manual-region edits) and a sine tone as audio. Extra output arguments go
// before the file name.
func facesClip(t testing.TB, dir, name string, seconds string, extra ...string) string {
	t.Helper()
	photo := testenv.Shared(t, "data/faces_dlib/2008_002506.jpg")
	args := []string{"-loop", "1", "-framerate", "30", "-i", photo,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-f", "lavfi", "-i", "testsrc2=size=160x60:rate=30",
		"-filter_complex", "[0:v]scale=640:480,crop=480:360:x='min(160,t*60)':y=40[bg];[bg][2:v]overlay=0:290,format=yuv420p[v]",
		"-map", "[v]", "-map", "1:a", "-t", seconds,
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac"}
	return makeClip(t, dir, name, append(args, extra...)...)
}

func fields(out string) []string {
	var f []string
	for _, l := range strings.Fields(out) {
		f = append(f, strings.TrimRight(l, ","))
	}
	return f
}

func framePTS(t testing.TB, path string) []string {
	t.Helper()
	return fields(run(t, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", path))
}

func audioMD5(t testing.TB, path string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-c", "copy", "-f", "md5", "-"))
}
