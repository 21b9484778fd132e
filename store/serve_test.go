package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

// TestServeToFFmpeg serves a sealed MP4 (moov atom at the end, so ffmpeg
// must seek) over loopback and checks ffmpeg decodes exactly the original's
// frames, with no plaintext file anywhere.
func TestServeToFFmpeg(t *testing.T) {
	ffmpeg := testenv.Tool(t, "ffmpeg")
	dir := t.TempDir()
	clip := filepath.Join(dir, "c.mp4")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
		"-t", "2", "-c:v", "libx264", "-c:a", "aac", clip).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Init(context.Background(), filepath.Join(dir, "st"), InitOptions{Recipients: []string{id.Recipient().String()}, Passphrase: []byte("pw"), WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Import(context.Background(), clip, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := s.Serve(context.Background(), c.Object, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	info, err := media.Probe(context.Background(), sv.URL)
	if err != nil {
		t.Fatalf("probe over loopback: %v", err)
	}
	if info.Video == nil || info.Video.Width != 320 || info.Audio == nil {
		t.Fatalf("probe over loopback: %+v", info)
	}
	md5 := func(in string) string {
		out, err := exec.Command(ffmpeg, "-v", "error", "-i", in, "-map", "0:v", "-f", "md5", "-").Output()
		if err != nil {
			t.Fatalf("ffmpeg md5 %s: %v", in, err)
		}
		return strings.TrimSpace(string(out))
	}
	if got, want := md5(sv.URL), md5(clip); got != want {
		t.Fatalf("decoded over loopback %s, original %s", got, want)
	}

	other, _ := age.GenerateX25519Identity()
	if _, err := s.Serve(context.Background(), c.Object, []age.Identity{other}); err != ErrAccessDenied {
		t.Fatalf("wrong identity: %v", err)
	}
	// A modified sealed file is refused before anything is served.
	p := filepath.Join(s.Dir, c.Object.Path)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o600)
	if _, err := s.Serve(context.Background(), c.Object, []age.Identity{id}); err == nil {
		t.Fatal("served a modified sealed file")
	}
}
