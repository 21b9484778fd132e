package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
)

// TestStaticVerifiesBundle: the CGO_ENABLED=0 binary a police liaison runs
// verifies bundles (directory and zip) with no OpenCV, no ffmpeg and no age
// anywhere on its PATH, and makes no network system call while doing so
// (strace shows no socket, connect or other network call).
func TestStaticVerifiesBundle(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	strace := testenv.Tool(t, "strace")
	dir := t.TempDir()
	bin := testenv.StaticBinary(t)
	if out, _ := exec.Command("ldd", bin).CombinedOutput(); !strings.Contains(string(out), "not a dynamic executable") {
		t.Fatalf("static build is dynamically linked:\n%s", out)
	}
	f := bundletest.New(t, 1)
	b := filepath.Join(dir, "INC-7")
	f.Export(t, b, true, f.Originals[0])
	z := filepath.Join(dir, "INC-7.zip")
	f.Export(t, z, true, f.Originals[0])

	empty := t.TempDir() // PATH: nothing at all
	run := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + empty, "HOME=" + empty}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("custody %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return string(out)
	}
	for _, p := range []string{b, z} {
		if out := run(0, "verify", p, "--key", f.StationPub); !strings.Contains(out, "verified: every file is as the station signed it") {
			t.Fatalf("verify %s: %s", p, out)
		}
		if out := run(1, "verify", p); !strings.Contains(out, "integrity checked, signer NOT trusted") {
			t.Fatalf("verify without a pinned key: %s", out)
		}
	}
	bad := bundletest.CopyDir(t, b)
	red, _ := bundletest.Payloads(t, bad)
	fh, _ := os.OpenFile(filepath.Join(bad, red[0]), os.O_WRONLY|os.O_APPEND, 0)
	fh.Write([]byte("x"))
	fh.Close()
	if out := run(1, "verify", bad, "--key", f.StationPub); !strings.Contains(out, "FAIL file-size") {
		t.Fatalf("tampered bundle: %s", out)
	}
	run(2, "verify", filepath.Join(dir, "no-such-bundle"), "--key", f.StationPub)

	// No network system call, for either form.
	for _, p := range []string{b, z} {
		log := filepath.Join(dir, "strace.log")
		cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=%network", "-o", log, bin, "verify", p, "--key", f.StationPub)
		cmd.Env = []string{"PATH=" + empty, "HOME=" + empty}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("verify under strace: %v\n%s", err, out)
		}
		calls, _ := os.ReadFile(log)
		if m := regexp.MustCompile(`(?m)\b(socket|connect|bind|sendto|sendmsg|recvfrom)\(`).Find(calls); m != nil {
			t.Fatalf("verify made a network system call:\n%s", calls)
		}
	}
}
