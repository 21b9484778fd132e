package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

var (
	long      = flag.Bool("long", false, "run the long version of the crash test (200 kills)")
	crashSeed = flag.Uint64("crash-seed", 0, "seed for the crash test's kill times (0: random, logged)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}

// custodyBin builds the CGO-free binary, the one a police liaison runs.
func custodyBin(t *testing.T) string { return testenv.StaticBinary(t) }

// custody runs the binary to completion and returns its exit code, stdout
// and stderr.
func custody(t *testing.T, args ...string) (int, []byte, []byte) {
	t.Helper()
	cmd := custodyCmd(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.Bytes(), stderr.Bytes()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.Bytes(), stderr.Bytes()
}

func custodyCmd(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(custodyBin(t), args...)
	cmd.Env = append(os.Environ(), "CUSTODY_PASSPHRASE="+testPass, "CUSTODY_ACTOR=crash-test", "CUSTODY_STORE=")
	return cmd
}

// listed is the part of `custody list --json` the crash test checks.
type listed struct {
	ID           string `json:"id"`
	SHA256       string `json:"sha256"`
	CipherSHA256 string `json:"cipher_sha256"`
	CipherSize   int64  `json:"cipher_size"`
	Object       string `json:"object"`
}

func listClips(t *testing.T, dir string) []listed {
	t.Helper()
	code, out, errOut := custody(t, "list", "--store", dir, "--json")
	if code != 0 {
		t.Fatalf("custody list: exit %d: %s", code, errOut)
	}
	var clips []listed
	if err := json.Unmarshal(out, &clips); err != nil {
		t.Fatalf("custody list --json: %v\n%s", err, out)
	}
	return clips
}

// checkSealed asserts every listed clip has its complete sealed file, in
// objects/ or (committed but not yet published) in staging/. It returns
// how many were in staging.
func checkSealed(t *testing.T, dir string, clips []listed) int {
	t.Helper()
	staged := 0
	for _, c := range clips {
		p := filepath.Join(dir, filepath.FromSlash(c.Object))
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			p = filepath.Join(dir, store.StagingDir, c.ID+".age.partial")
			staged++
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("clip %s is registered but its sealed file is missing: %v", c.ID, err)
		}
		if fi.Size() != c.CipherSize || fileSHA256(t, p) != c.CipherSHA256 {
			t.Fatalf("clip %s: sealed file %s (%d bytes) does not match the ledger (%d bytes, %s)", c.ID, p, fi.Size(), c.CipherSize, c.CipherSHA256)
		}
	}
	return staged
}

func mustVerify(t *testing.T, dir, when string) {
	t.Helper()
	code, out, errOut := custody(t, "verify", "--store", dir)
	if code != 0 {
		t.Fatalf("%s: custody verify exit %d\n%s%s", when, code, out, errOut)
	}
}

var dupRE = regexp.MustCompile(`already in the store as clip ([0-9a-f]+)`)

// TestCrashDuringImport kills `custody import` of a ~52 MB recording with
// SIGKILL at random moments, many times. After every kill the store must
// verify, no registered clip may lack its complete sealed file, and
// importing the same file again must either succeed (the killed import had
// not committed) or be refused as a duplicate of the clip it did commit.
func TestCrashDuringImport(t *testing.T) {
	// 40 kills, or fewer if they would take more than the time budget (a
	// busy CI machine), but never fewer than 12; -long makes 200, -short 8.
	iterations, minimum, budget := 40, 12, 75*time.Second
	if *long {
		iterations, minimum, budget = 200, 200, 0
	} else if testing.Short() {
		iterations, minimum = 8, 8
	}
	began := time.Now()
	seed := *crashSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -crash-seed %d), up to %d kills", seed, seed, iterations)
	rng := rand.New(rand.NewPCG(seed, 0))
	custodyBin(t)

	work := t.TempDir()
	// A big, real recording: raw video in Matroska, about 52 MB.
	big := filepath.Join(work, "big.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "6", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", big)
	bigSum := fileSHA256(t, big)

	// A template store holding one small clip: each iteration works on a
	// copy, so that verification stays cheap while the store has history.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(work, "template")
	if code, _, e := custody(t, "init", "--store", tmpl, "--recipient", id.Recipient().String(), "--kdf-work-factor", "10"); code != 0 {
		t.Fatalf("init: %s", e)
	}
	small := makeClip(t, filepath.Join(work, "small.mp4"))
	if code, _, e := custody(t, "import", "--store", tmpl, small); code != 0 {
		t.Fatalf("import: %s", e)
	}

	// Calibrate: how long a whole import takes here, how big its sealed
	// file is, and how long it runs after the sealed file is complete in
	// staging (the fsync and the commit).
	cal := filepath.Join(work, "calibrate")
	copyDir(t, tmpl, cal)
	var full, tail time.Duration
	var cipherSize int64
	{
		start := time.Now()
		cmd := custodyCmd(t, "import", "--store", cal, big)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		sealedAt := waitSize(filepath.Join(cal, store.StagingDir), -1, done)
		if err := <-done; err != nil {
			t.Fatalf("calibration import: %v", err)
		}
		full = time.Since(start)
		tail = time.Since(sealedAt)
		clips := listClips(t, cal)
		cipherSize = clips[len(clips)-1].CipherSize
		if sealedAt.IsZero() || tail <= 0 {
			tail = full / 4
		}
	}
	os.RemoveAll(cal)
	t.Logf("a full import of %s takes %v, %v of it after the sealed file is complete", humanSize(big), full, tail)

	var stats struct{ beforeCommit, staged, published, finished, torn int }
	kills := 0
	for i := range iterations {
		if i >= minimum && budget > 0 && time.Since(began) > budget {
			t.Logf("time budget of %v spent", budget)
			break
		}
		kills++
		dir := filepath.Join(work, "store-"+strconv.Itoa(i))
		copyDir(t, tmpl, dir)

		// A third of the kills at any time in the import, the rest once
		// the sealed file is complete in staging: during the fsync, the
		// ledger append, the rename and the checkpoint.
		var trigger killTrigger
		switch rng.IntN(3) {
		case 0:
			trigger = killTrigger{delay: time.Duration(rng.Float64() * float64(full))}
		case 1:
			trigger = killTrigger{watch: filepath.Join(dir, store.StagingDir), size: cipherSize, delay: time.Duration(rng.Float64() * 1.2 * float64(tail))}
		case 2:
			// As soon as the import entry is in the ledger: between the
			// append and the rename into objects/.
			fi, _ := os.Stat(filepath.Join(dir, store.LedgerFile))
			trigger = killTrigger{watch: filepath.Join(dir, store.LedgerFile), size: fi.Size() + 1, delay: time.Duration(rng.Float64() * float64(time.Millisecond))}
		}
		finished := killImport(t, trigger, "import", "--store", dir, big)

		when := fmt.Sprintf("kill %d (%s)", i, trigger)
		mustVerify(t, dir, when)
		if _, torn, err := manifest.Parse(bytes.NewReader(readFile(t, filepath.Join(dir, store.LedgerFile)))); err != nil {
			t.Fatalf("%s: ledger: %v", when, err)
		} else if torn != nil {
			stats.torn++
		}
		clips := listClips(t, dir)
		staged := checkSealed(t, dir, clips)
		var killed *listed
		for j := range clips {
			if clips[j].SHA256 == bigSum {
				killed = &clips[j]
			}
		}
		switch {
		case finished:
			stats.finished++
		case killed == nil:
			stats.beforeCommit++
		case staged > 0:
			stats.staged++
		default:
			stats.published++
		}

		// Import the same file again.
		code, out, errOut := custody(t, "import", "--store", dir, "--json", big)
		switch {
		case killed == nil && code == 0:
			var c listed
			if err := json.Unmarshal(out, &c); err != nil || c.SHA256 != bigSum {
				t.Fatalf("%s: re-import printed %s (%v)", when, out, err)
			}
		case killed != nil && code == 3:
			m := dupRE.FindSubmatch(errOut)
			if m == nil || string(m[1]) != killed.ID {
				t.Fatalf("%s: re-import refused with %q, want a duplicate of clip %s", when, errOut, killed.ID)
			}
		default:
			t.Fatalf("%s: re-import exit %d (registered before: %v)\n%s%s", when, code, killed != nil, out, errOut)
		}

		// Every clip now verifies, the write recovered whatever the kill
		// left, and the recording opens to its original bytes.
		mustVerify(t, dir, when+", after re-import")
		clips = listClips(t, dir)
		if len(clips) != 2 {
			t.Fatalf("%s: %d clips after re-import", when, len(clips))
		}
		if n := checkSealed(t, dir, clips); n != 0 {
			t.Fatalf("%s: %d sealed files still in staging after a write", when, n)
		}
		if left := dirNames(t, filepath.Join(dir, store.StagingDir)); len(left) != 0 {
			t.Fatalf("%s: staging holds %v after a write", when, left)
		}
		if killed != nil && !finished {
			openAndCompare(t, dir, killed, id, bigSum)
		}
		os.RemoveAll(dir)
	}
	t.Logf("%d kills in %v", kills, time.Since(began).Round(time.Second))
	t.Logf("kills before the commit: %d; after it, file still in staging: %d; after the rename: %d; import had finished: %d; torn ledger tails: %d",
		stats.beforeCommit, stats.staged, stats.published, stats.finished, stats.torn)
}

// killTrigger says when to kill: delay after the start or, with watch
// set, delay after a file in the watched directory (or the watched file)
// reaches size bytes.
type killTrigger struct {
	watch string
	size  int64
	delay time.Duration
}

func (k killTrigger) String() string {
	if k.watch != "" {
		return fmt.Sprintf("%v after %s reached %d bytes", k.delay.Round(time.Microsecond), filepath.Base(k.watch), k.size)
	}
	return fmt.Sprintf("%v after the start", k.delay.Round(time.Millisecond))
}

// waitSize polls path (a file, or every file in a directory) until one
// reaches size bytes and returns when; with size < 0 it waits for done and
// returns when the largest file last grew. It returns early if done fires,
// leaving the value in done.
func waitSize(path string, size int64, done chan error) time.Time {
	var last int64
	var lastAt time.Time
	for {
		var sizes []int64
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
			sizes = append(sizes, fi.Size())
		} else if ents, err := os.ReadDir(path); err == nil {
			for _, e := range ents {
				if fi, err := e.Info(); err == nil {
					sizes = append(sizes, fi.Size())
				}
			}
		}
		for _, n := range sizes {
			if size >= 0 && n >= size {
				return time.Now()
			}
			if n > last {
				last, lastAt = n, time.Now()
			}
		}
		select {
		case err := <-done:
			done <- err
			return lastAt
		default:
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// killImport starts custody with args in its own process group and kills
// the group (custody and its ffprobe) with SIGKILL when the trigger says,
// unless it has finished; it reports whether it finished first.
func killImport(t *testing.T, k killTrigger, args ...string) bool {
	t.Helper()
	cmd := custodyCmd(t, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if k.watch != "" {
		waitSize(k.watch, k.size, done)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("custody %v failed before the kill: %v\n%s", args, err, stderr.Bytes())
		}
		return true
	case <-time.After(k.delay):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err := <-done
		var ee *exec.ExitError
		if err == nil {
			return true // it exited just as it was killed
		}
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return false
	}
}

// openAndCompare decrypts a clip the killed import committed and checks
// the plaintext against the original's hash.
func openAndCompare(t *testing.T, dir string, c *listed, id age.Identity, want string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(c.Object)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := seal.Open(context.Background(), io.Discard, f, []age.Identity{id}, c.SHA256, nil)
	if err != nil || got.Plain.SHA256 != want {
		t.Fatalf("clip %s does not open to the original: %+v %v", c.ID, got.Plain, err)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func humanSize(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
}

// Separate custody processes importing at the same time all land, and the
// chain stays linear.
func TestConcurrentImportProcesses(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	dir := filepath.Join(work, "store")
	if code, _, e := custody(t, "init", "--store", dir, "--recipient", id.Recipient().String(), "--kdf-work-factor", "10"); code != 0 {
		t.Fatalf("init: %s", e)
	}
	// Files big enough (about 17 MB) for the imports to overlap.
	base := filepath.Join(work, "base.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", base)
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		v := variant(t, base, filepath.Join(work, fmt.Sprintf("v%d.mkv", i)), i)
		cmds[i] = custodyCmd(t, "import", "--store", dir, "--note", strconv.Itoa(i), v)
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("import %d: %v\n%s", i, err, outs[i])
		}
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger(t, s)
	if st := store.Replay(l); len(st.Clips) != n {
		t.Fatalf("%d clips, want %d", len(st.Clips), n)
	}
	mustVerify(t, dir, "after concurrent imports")
	checkSealed(t, dir, listClips(t, dir))
}
