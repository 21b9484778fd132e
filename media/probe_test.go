package media

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestProbe runs the real ffprobe on files ffmpeg makes, and on things
// that are not recordings.
func TestProbe(t *testing.T) {
	ffmpeg := testenv.Tool(t, "ffmpeg")
	dir := t.TempDir()
	make := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command(ffmpeg, append(append([]string{"-v", "error"}, args...), "-y", p)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v\n%s", name, err, out)
		}
		return p
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("This is a text file.\nIt has lines.\n"), 0o644)
	for _, tc := range []struct {
		name, path string
		wantErr    string // substring; "" means accepted
		check      func(*Info) bool
	}{
		{"mp4 with audio", make("a.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "1",
			"-c:v", "libx264", "-c:a", "aac", "-metadata", "creation_time=2026-01-02T03:04:05Z", "-metadata", "make=AcmeCam", "-movflags", "use_metadata_tags"), "",
			func(i *Info) bool {
				return i.Video.Codec == "h264" && i.Video.Width == 320 && i.Video.FrameRate == "25/1" && i.Audio.Codec == "aac" &&
					i.Created.Format("2006-01-02T15:04:05Z") == "2026-01-02T03:04:05Z" && i.DeviceTags["make"] == "AcmeCam"
			}},
		{"mjpeg avi", make("m.avi", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1", "-c:v", "mjpeg"), "",
			func(i *Info) bool { return i.Video.Codec == "mjpeg" && i.Video.Width == 160 && i.Audio == nil }},
		{"audio only", make("s.wav", "-f", "lavfi", "-i", "sine", "-t", "1"), "",
			func(i *Info) bool { return i.Video == nil && i.Audio.SampleRate == 44100 }},
		{"text file", text, "not a video or audio recording", nil},
		{"png still", make("p.png", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1"), "still image", nil},
		{"jpeg still", make("p.jpg", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1"), "still image", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Probe(context.Background(), tc.path)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrNotMedia) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrNotMedia mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(info) {
				t.Fatalf("unexpected probe result: %+v video %+v audio %+v", info, info.Video, info.Audio)
			}
		})
	}
}

func TestProbeMissing(t *testing.T) {
	_, err := Probe(context.Background(), filepath.Join(t.TempDir(), "nope.mp4"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotMedia) {
		t.Fatalf("got %v, want a not-exist error (a usage error, not a refusal)", err)
	}
}

func TestTail(t *testing.T) {
	tl := NewTail(8)
	for _, s := range []string{"abc", "defgh", "ijk", "0123456789"} {
		tl.Write([]byte(s))
	}
	if got := tl.String(); got != "23456789" {
		t.Fatalf("tail %q", got)
	}
}
