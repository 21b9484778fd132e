//go:build matprofile && cgo

package evalrun

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/evalset/refyunet"
)

// TestLeakMats labels a short clip as the clip truth does and fails if any
// Mat is left open. Run: go test -tags matprofile ./internal/evalset/evalrun -run Leak
func TestLeakMats(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "testsrc.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	before := gocv.MatProfile.Count()
	tr := refyunet.Labeller{Version: "2023mar", Threshold: 0.8, ModelsDir: filepath.Join(evalset.DefaultShared(), "models"), Cache: dir}
	faces, err := tr.Faces(context.Background(), clip)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Errorf("%d frames labelled, want 10", len(faces))
	}
	if n := gocv.MatProfile.Count() - before; n != 0 {
		t.Errorf("%d Mats left open", n)
	}
}
