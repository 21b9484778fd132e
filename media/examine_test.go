package media

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestExamine runs the real ffprobe on whole, cut and broken recordings
// and on files that are not recordings.
func TestExamine(t *testing.T) {
	dir := sniffFixtures(t)
	clip := func(name string) string { return filepath.Join(dir, name) }
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	plain, _ := os.ReadFile(clip("plain.mp4"))
	moovAt := int64(bytes.LastIndex(plain, []byte("moov")) - 4)
	text := filepath.Join(t.TempDir(), "notes.mp4")
	os.WriteFile(text, []byte("This is a text file renamed .mp4.\n"), 0o644)
	png := makeClip(t, t.TempDir(), "still.png", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1")

	for _, tc := range []struct {
		name      string
		path      string
		damaged   bool
		decodable float64 // the duration to expect, ± 0.25 s
		reason    string  // substring of Damage.Reason
		trunc     bool    // TruncatedAt is the file's size
	}{
		{"whole faststart mp4", clip("faststart.mp4"), false, 2, "", false},
		{"whole mp4", clip("plain.mp4"), false, 2, "", false},
		{"whole fragmented mp4", clip("fragmented.mp4"), false, 2, "", false},
		{"whole ts", clip("camera.ts"), false, 2, "", false},
		{"whole mkv", clip("clip.mkv"), false, 2, "", false},
		{"whole avi", clip("cctv.avi"), false, 2, "", false},
		{"whole wav", clip("audio.wav"), false, 2, "", false},
		{"real body-camera clip", testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4"), false, 20, "", false},
		{"real clip with audio", testenv.Shared(t, "data/video/gen2_demo_assets_test_face_video.mp4"), false, 1.4, "", false},
		{"faststart mp4 cut at half", cut(t, clip("faststart.mp4"), size(clip("faststart.mp4"))/2+101, "half.mp4"), true, 1, "truncated at byte", true},
		{"mp4 cut before its moov", cut(t, clip("plain.mp4"), moovAt, "nomoov.mp4"), true, 0, "no moov box", false},
		{"mp4 cut inside mdat", cut(t, clip("plain.mp4"), moovAt/2, "nomoov2.mp4"), true, 0, "no moov box, truncated at byte", true},
		{"fragmented mp4 cut", cut(t, clip("fragmented.mp4"), size(clip("fragmented.mp4"))/2+101, "frag.mp4"), true, 1, "truncated at byte", true},
		{"mkv cut at half", cut(t, clip("clip.mkv"), size(clip("clip.mkv"))/2+101, "half.mkv"), true, 1, "truncated at byte", true},
		{"ts cut mid-packet", cut(t, clip("camera.ts"), size(clip("camera.ts"))/2+101, "half.ts"), true, 1, "truncated at byte", true},
		{"avi cut at half", cut(t, clip("cctv.avi"), size(clip("cctv.avi"))/2+101, "half.avi"), true, 1, "truncated at byte", true},
		{"wav cut at half", cut(t, clip("audio.wav"), size(clip("audio.wav"))/2+101, "half.wav"), true, 1, "truncated at byte", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.path)
			fi0, _ := os.Stat(tc.path)
			info, err := Examine(context.Background(), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Damaged != tc.damaged || (info.Damage != nil) != tc.damaged {
				t.Fatalf("damaged %v, want %v: %+v", info.Damaged, tc.damaged, info.Damage)
			}
			if math.Abs(info.Duration-tc.decodable) > 0.25 {
				t.Fatalf("duration %.3f s, want about %.1f s (damage %+v)", info.Duration, tc.decodable, info.Damage)
			}
			if after, _ := os.ReadFile(tc.path); !bytes.Equal(before, after) {
				t.Fatal("Examine changed the file")
			}
			if fi1, _ := os.Stat(tc.path); !fi1.ModTime().Equal(fi0.ModTime()) {
				t.Fatal("Examine changed the file's modification time")
			}
			if !tc.damaged {
				return
			}
			d := info.Damage
			if !strings.Contains(d.Reason, tc.reason) || (d.TruncatedAt == fi0.Size()) != tc.trunc || d.DecodableDuration != info.Duration ||
				len(d.Read) == 0 || len(d.Unreadable) == 0 || d.Signature == "" {
				t.Fatalf("damage %+v", d)
			}
			if !strings.Contains(d.Summary(), "decod") {
				t.Fatalf("summary %q does not say what decodes", d.Summary())
			}
		})
	}

	// The cut faststart file declares its whole length.
	half, err := Examine(context.Background(), cut(t, clip("faststart.mp4"), size(clip("faststart.mp4"))/2+101, "h.mp4"))
	if err != nil || math.Abs(half.Damage.DeclaredDuration-2) > 0.1 || half.Video == nil || half.Audio == nil {
		t.Fatalf("%v %+v", err, half)
	}
	// An MP4 without a moov is still one: ffprobe's complaint is kept.
	nomoov, _ := Examine(context.Background(), cut(t, clip("plain.mp4"), moovAt, "n.mp4"))
	if nomoov.Container != "mp4" || nomoov.Video != nil || !strings.Contains(strings.Join(nomoov.Damage.Unreadable, "\n"), "ffprobe: moov atom not found") {
		t.Fatalf("%+v %+v", nomoov, nomoov.Damage)
	}

	heic := filepath.Join(t.TempDir(), "photo.heic")
	os.WriteFile(heic, append(isoBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic")), isoBox("meta", make([]byte, 64))...), 0o644)
	for _, tc := range []struct{ name, path, want string }{
		{"text renamed .mp4", text, "not a video or audio recording"},
		{"png still", png, "still image"},
		{"heif still, an ISO-BMFF file", heic, "still image (heif)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Examine(context.Background(), tc.path)
			if !errors.Is(err, ErrNotMedia) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrNotMedia mentioning %q", err, tc.want)
			}
		})
	}
}

func TestHead(t *testing.T) {
	h := NewHead(8)
	for _, s := range []string{"abc", "defgh", "ijk"} {
		h.Write([]byte(s))
	}
	if got := h.String(); got != "abcdefgh" {
		t.Fatalf("head %q", got)
	}
}

func TestFFLines(t *testing.T) {
	in := "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d2b3cdd7c0] moov atom not found\n/x/a.mp4: Invalid data found\n" +
		"[h264 @ 0x1] moov atom not found\nthree \x1b[31mred\u202e\nfour\nfive\n"
	got := ffLines(in, "/x/a.mp4", 4)
	want := []string{"moov atom not found", "Invalid data found", "three ?[31mred?", "four", "(and more)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q", got)
	}
}
