// Package testenv locates the real models and footage that tests and
// benchmarks use (../shared beside the checkout) and checks for the external
// tools (ffmpeg, age) that interop tests need.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir is ../shared beside the checkout, or $CUSTODY_SHARED.
func SharedDir() string {
	if d := os.Getenv("CUSTODY_SHARED"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "..", "shared")
}

// Shared returns the path of a file under the shared directory and fails the
// test if it is missing: the real material is part of the test contract, so a
// missing file is an error, not a skip.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test material missing: %v (see ../shared/README.md)", err)
	}
	return p
}

// Tool returns the path of an external program and fails the test if it is
// not installed (run `make deps`).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed: run `make deps`", name)
	}
	return p
}

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
)

// StaticBinary builds the CGO_ENABLED=0 custody binary (the one a police
// liaison runs) once per test process and returns its path under
// .cache/test. Packages tested in parallel each build it to a private name
// and rename it into place, so none ever runs a half-written file.
func StaticBinary(t testing.TB) string {
	t.Helper()
	staticOnce.Do(func() {
		dir := filepath.Join(RepoRoot(), ".cache", "test")
		if staticErr = os.MkdirAll(dir, 0o755); staticErr != nil {
			return
		}
		staticBin = filepath.Join(dir, "custody-static")
		tmp := fmt.Sprintf("%s.%d", staticBin, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "./cmd/custody")
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("CGO_ENABLED=0 go build ./cmd/custody: %v\n%s", err, out)
			return
		}
		staticErr = os.Rename(tmp, staticBin)
	})
	if staticErr != nil {
		t.Fatal(staticErr)
	}
	return staticBin
}

// Run runs an installed tool and fails the test with its stderr on error;
// it returns the tool's standard output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Tool(t, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// MakeClip renders a real media file with ffmpeg: args are the input and
// encoding arguments, and the file is dir/name.
func MakeClip(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	Run(t, "ffmpeg", append(append([]string{"-hide_banner", "-v", "error", "-y"}, args...), p)...)
	return p
}
