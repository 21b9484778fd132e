//go:build unix

package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestMain doubles as a writer that a test kills: with
// ATOMICFILE_WRITER=MODE:DIR it starts an output in DIR (MODE "file",
// "fallback" or "dir"), writes 1 MiB to it, says "ready" and waits to be
// killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv("ATOMICFILE_WRITER"); spec != "" {
		os.Exit(writer(spec))
	}
	os.Exit(m.Run())
}

func writer(spec string) int {
	mode, dir, _ := strings.Cut(spec, ":")
	data := bytes.Repeat([]byte("plaintext footage "), 1<<16)
	switch mode {
	case "fallback":
		useTmpfile = false
		fallthrough
	case "file":
		f, err := Create(dir, "out.mp4", 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		f.Write(data)
	case "dir":
		d, err := TempDir(dir, "bundle", 0o750)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.WriteFile(filepath.Join(d.Path, "data"), data, 0o600)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until killed
	return 0
}

// startWriter runs the writer above in a child process and returns once
// its output is half-written.
func startWriter(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_WRITER="+mode+":"+dir)
	stdin, _ := cmd.StdinPipe()
	t.Cleanup(func() { stdin.Close() })
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("writer %s: %q, %v", mode, line, err)
	}
	return cmd
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func withFallback(t *testing.T) {
	useTmpfile = false
	t.Cleanup(func() { useTmpfile = true })
}

// TestCreateLink: a new file has no name while it is written, gets exactly
// the permissions asked for, and is linked into place without replacing
// anything; both with O_TMPFILE and with the fallback.
func TestCreateLink(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			if fallback {
				withFallback(t)
			}
			dir := t.TempDir()
			old := syscall.Umask(0o077)
			defer syscall.Umask(old)
			f, err := Create(dir, "out.mp4", 0o640)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if !fallback && runtime.GOOS == "linux" && f.temp != "" {
				t.Fatalf("O_TMPFILE not used in %s (temporary file %s)", dir, f.temp)
			}
			if _, err := f.Write([]byte("footage")); err != nil {
				t.Fatal(err)
			}
			n := names(t, dir)
			if !fallback && len(n) != 0 || fallback && (len(n) != 1 || !strings.HasPrefix(n[0], ".out.mp4"+partialMarker)) {
				t.Fatalf("while writing the directory holds %v", n)
			}
			out := filepath.Join(dir, "out.mp4")
			if err := f.Link(out); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(out); string(b) != "footage" {
				t.Fatalf("linked file holds %q", b)
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v, want 0640 whatever the umask", fi.Mode().Perm())
			}
			assertOnly(t, dir, "out.mp4")

			g, err := Create(dir, "out.mp4", 0o600)
			if err != nil {
				t.Fatal(err)
			}
			g.Write([]byte("other"))
			if err := g.Link(out); !errors.Is(err, ErrExists) {
				t.Fatalf("linking over an existing file: %v, want ErrExists", err)
			}
			if err := g.Link(filepath.Join(dir, "out-2.mp4")); err != nil {
				t.Fatalf("another name after ErrExists: %v", err)
			}
			g.Close()
			if b, _ := os.ReadFile(out); string(b) != "footage" {
				t.Fatalf("existing file changed to %q", b)
			}
		})
	}
}

// TestCloseDiscards: a file closed before Link leaves nothing.
func TestCloseDiscards(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		if fallback {
			withFallback(t)
		}
		dir := t.TempDir()
		f, err := Create(dir, "out.mp4", 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("half"))
		f.Close()
		f.Close()
		if n := names(t, dir); len(n) != 0 {
			t.Fatalf("fallback=%v: closed file left %v", fallback, n)
		}
	}
}

// TestKilledWriter kills a real writer process with SIGKILL half-way. An
// unnamed file leaves nothing at all. The fallback's temporary file and a
// temporary directory stay while their writer lives, even when other
// writers start beside them, and are removed by the next writer in that
// directory once their writer is dead.
func TestKilledWriter(t *testing.T) {
	if runtime.GOOS == "linux" {
		dir := t.TempDir()
		kill9(t, startWriter(t, "file", dir))
		if n := names(t, dir); len(n) != 0 {
			t.Fatalf("killed writer of an unnamed file left %v", n)
		}
	}
	for _, mode := range []string{"fallback", "dir"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			w := startWriter(t, mode, dir)
			left := names(t, dir)
			if len(left) != 1 || !strings.Contains(left[0], partialMarker) {
				t.Fatalf("a live %s writer's directory holds %v", mode, left)
			}
			// A live writer's file survives other writers' cleanup.
			if got := CleanStale(dir); len(got) != 0 {
				t.Fatalf("cleanup removed a live writer's %v", got)
			}
			d, err := TempDir(dir, "other", 0o700)
			if err != nil {
				t.Fatal(err)
			}
			d.Remove()
			if n := names(t, dir); len(n) != 1 || n[0] != left[0] {
				t.Fatalf("after another writer the directory holds %v, want %v", n, left)
			}
			kill9(t, w)
			if n := names(t, dir); len(n) != 1 {
				t.Fatalf("killed %s writer left %v, want its temporary (nothing cleans it yet)", mode, n)
			}
			withFallback(t)
			f, err := Create(dir, "next.mp4", 0o600)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("next"))
			if err := f.Link(filepath.Join(dir, "next.mp4")); err != nil {
				t.Fatal(err)
			}
			f.Close()
			assertOnly(t, dir, "next.mp4")
		})
	}
}

// TestCleanStaleLeavesOthers: cleanup touches only unlocked regular files
// and directories carrying the marker: not a symlink named like one (nor
// what it points to), not a FIFO (without blocking on it), not a file
// without the marker.
func TestCleanStaleLeavesOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no cleanup without flock")
	}
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("keep"), 0o600)
	os.Symlink(outside, filepath.Join(dir, ".a"+partialMarker+"1"))
	os.Symlink(filepath.Dir(outside), filepath.Join(dir, ".b"+partialMarker+"2"))
	syscall.Mkfifo(filepath.Join(dir, ".c"+partialMarker+"3"), 0o600)
	os.WriteFile(filepath.Join(dir, ".d.partial-4"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "e"+partialMarker+"5"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, ".f"+partialMarker+"6"), []byte("stale"), 0o600)
	os.MkdirAll(filepath.Join(dir, ".g"+partialMarker+"7", "sub"), 0o700)
	got := CleanStale(dir)
	if strings.Join(got, ",") != ".f"+partialMarker+"6,.g"+partialMarker+"7" {
		t.Fatalf("removed %v", got)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Fatalf("symlink target: %q, %v", b, err)
	}
	if n := names(t, dir); len(n) != 5 {
		t.Fatalf("left %v", n)
	}
}
