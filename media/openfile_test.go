package media

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/custody-evidence/custody/internal/atomicfile"
)

// TestOpenFileEncoderUnnamed: ffmpeg writes a faststart MP4 (which it
// re-reads to move the moov box) and the rotation is recorded, into a file
// that has no name until the caller links it: nothing is in the directory
// until then.
func TestOpenFileEncoderUnnamed(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.5",
		"-c:v", "libx264", "-preset", "ultrafast")
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o700)
	ctx := context.Background()
	d, err := NewDecoder(ctx, in, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := atomicfile.Create(outDir, "out.mp4", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := NewOpenFileEncoder(ctx, f.File(), d.Layout(), d.Width, d.Height, EncodeOptions{Preset: "ultrafast", Rotation: 90})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && !slices.Contains(e.Args, "/proc/self/fd/3") {
		t.Errorf("ffmpeg is not writing its inherited file: %q", e.Args)
	}
	if _, err := pumpFrames(d, e, nil); err != nil {
		e.Abort()
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(outDir); runtime.GOOS == "linux" && len(ents) != 0 {
		t.Fatalf("before the link the output directory holds %v", ents)
	}
	out := filepath.Join(outDir, "out.mp4")
	if err := f.Link(out); err != nil {
		t.Fatal(err)
	}
	if n := len(framePTS(t, out)); n != 5 {
		t.Errorf("%s has %d frames, want 5", out, n)
	}
	if info, err := Probe(ctx, out); err != nil || info.Video.Rotation != 90 {
		t.Errorf("rotation not recorded: %+v, %v", info, err)
	}
	// +faststart puts the moov box straight after ftyp.
	b, _ := os.ReadFile(out)
	if i := bytes.Index(b, []byte("moov")); i < 0 || i > 64 {
		t.Errorf("moov is not at the start (faststart): at %d", i)
	}
}
