package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestStaticBuild builds the CGO_ENABLED=0 binary a police liaison runs and
// checks that it links no OpenCV, yet can init, import, list, show, open
// and verify, and that the redaction commands say plainly what they need.
func TestStaticBuild(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	dir := t.TempDir()
	bin := testenv.StaticBinary(t)
	if out, _ := exec.Command("ldd", bin).CombinedOutput(); !strings.Contains(string(out), "not a dynamic executable") {
		t.Fatalf("static build is dynamically linked:\n%s", out)
	}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CUSTODY_PASSPHRASE=pw")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("custody %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return string(out)
	}
	key := filepath.Join(dir, "k.txt")
	if out, err := exec.Command("age-keygen", "-o", key).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v %s", err, out)
	}
	pub, _ := exec.Command("age-keygen", "-y", key).Output()
	clip := filepath.Join(dir, "c.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1", "-c:v", "libx264", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	run(0, "init", "--store", "st", "--recipient", strings.TrimSpace(string(pub)), "--kdf-work-factor", "10")
	out := run(0, "import", "--store", "st", clip)
	id := strings.Fields(out)[4]
	run(0, "list", "--store", "st")
	run(0, "show", "--store", "st", id)
	run(0, "open", "--store", "st", id, "-i", key, "-o", "out.mp4", "--reason", "static test")
	if out := run(0, "verify", "--store", "st"); !strings.Contains(out, "verified") {
		t.Fatalf("verify: %s", out)
	}
	if out := run(2, "redact", "x.mp4"); !strings.Contains(out, "needs the full build") {
		t.Fatalf("redact in the static build: %s", out)
	}
}
