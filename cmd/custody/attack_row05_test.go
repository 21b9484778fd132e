package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestAttackRow05TlogWitness (issue 11, rows 1 and 5): the attacker, who
// can rewrite the store's files but has no passphrase, rolls the whole
// store back to an older copy: ledger, checkpoint, sealed files, and the
// witnessed/ directory where the station keeps its witness's
// cosignatures. That copy is consistent with itself, and verify passed.
// Now the store publishes each checkpoint to a C2SP tlog witness (custody
// witness serve, a separate process, as it would run on another host),
// which still holds the newer one: verify fails with witness-rollback and
// the next write refuses.
func TestAttackRow05TlogWitness(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	a := &witnessRun{t: t, bin: testenv.StaticBinary(t), dir: t.TempDir()}
	st := a.path("st")
	testenv.Run(t, "age-keygen", "-o", a.path("dpo.key"))
	os.WriteFile(a.path("dpo.pub"), []byte(testenv.Run(t, "age-keygen", "-y", a.path("dpo.key"))), 0o644)
	a.must("init", "--store", st, "--recipients-file", a.path("dpo.pub"), "--kdf-work-factor", "10")

	// The trust's witness: its key, the station's key it accepts, and the
	// server, on loopback here.
	vkey, _, code := a.run("witness", "keygen", "--name", "witness.trust.test/custody", "-o", a.path("witness.key"))
	if code != 0 {
		t.Errorf("witness keygen: exit %d", code)
	}
	logKey, _, code := a.run("key", "--store", st, "--vkey")
	if code != 0 {
		t.Errorf("key --vkey: exit %d", code)
	}
	wargs := []string{"witness", "serve", "--key", a.path("witness.key"), "--state", a.path("witness-state"), "--log-key", strings.TrimSpace(logKey)}
	w := a.startWitness(wargs...)
	if w != nil {
		if _, _, code := a.run("witness", "add", "--store", st, "trust", w.url, "--key", strings.TrimSpace(vkey), "--reason", "trust IT witness"); code != 0 {
			t.Errorf("witness add: exit %d", code)
		}
	}
	for _, c := range []string{"a", "b", "c"} {
		a.clip(c + ".mp4")
	}
	a.must("import", "--store", st, a.path("a.mp4"))
	copyTree(t, st, a.path("old"))
	a.must("import", "--store", st, a.path("b.mp4"))
	if out, _, code := a.run("verify", "--store", st); code != 0 {
		t.Fatalf("verify before the rollback: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(st, "witnessed")); err != nil && w != nil {
		t.Errorf("no cosignature kept: %v", err)
	}

	// The witness restarts on its host in between: what it holds is on
	// disk, and Ctrl-C stops it cleanly.
	if w != nil {
		w.stop()
		w = a.startWitness(append(wargs, "--addr", strings.TrimPrefix(w.url, "http://"))...)
	}

	// The rollback.
	if err := os.RemoveAll(st); err != nil {
		t.Fatal(err)
	}
	copyTree(t, a.path("old"), st)
	out, _, code := a.run("verify", "--store", st)
	if code != 1 || !strings.Contains(out, "FAIL witness-rollback     witness trust: holds a checkpoint of 4 entries") {
		t.Errorf("verify of the rolled-back store: exit %d, want 1 with witness-rollback\n%s", code, out)
	}
	_, errOut, code := a.run("import", "--store", st, a.path("c.mp4"))
	if code != 1 || !strings.Contains(errOut, "witness trust holds a checkpoint of 4 entries that the ledger (3 entries) does not reach") {
		t.Errorf("a write over the rolled-back store: exit %d, want 1 and a refusal\n%s", code, errOut)
	}
	if w != nil {
		w.stop()
	}
}

// witnessRun runs the custody binary in a work directory.
type witnessRun struct {
	t        *testing.T
	bin, dir string
}

func (a *witnessRun) path(name string) string { return filepath.Join(a.dir, name) }

func (a *witnessRun) command(args ...string) *exec.Cmd {
	cmd := exec.Command(a.bin, args...)
	cmd.Dir = a.dir
	cmd.Env = append(os.Environ(), "CUSTODY_PASSPHRASE=row05-pass", "CUSTODY_WITNESSES=")
	return cmd
}

// run returns stdout, stderr and the exit code.
func (a *witnessRun) run(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := a.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		a.t.Fatalf("custody %s: %v", strings.Join(args, " "), err)
	}
	if errb.Len() > 0 {
		a.t.Logf("custody %s:\n%s", args[0], errb.String())
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func (a *witnessRun) must(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.run(args...)
	if code != 0 {
		a.t.Fatalf("custody %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (a *witnessRun) clip(name string) {
	a.t.Helper()
	testenv.Run(a.t, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "title="+name, "-y", a.path(name))
}

// servedWitness is a running custody witness serve process.
type servedWitness struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan error
}

// startWitness starts custody witness serve and reads its URL from the
// first line of its output; nil (and a test error) if it does not start.
func (a *witnessRun) startWitness(args ...string) *servedWitness {
	a.t.Helper()
	w := &servedWitness{t: a.t, cmd: a.command(args...), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	w.cmd.Stderr = w.stderr
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		a.t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- strings.TrimSpace(line)
		w.done <- w.cmd.Wait()
	}()
	a.t.Cleanup(func() { w.cmd.Process.Kill() })
	select {
	case w.url = <-first:
	case <-time.After(30 * time.Second):
	}
	if !strings.HasPrefix(w.url, "http://127.0.0.1:") {
		w.cmd.Process.Kill()
		<-w.done
		a.t.Errorf("custody %s did not print its URL (%q)\n%s", strings.Join(args, " "), w.url, w.stderr.String())
		return nil
	}
	return w
}

// stop interrupts the witness as Ctrl-C would and waits for a clean exit.
func (w *servedWitness) stop() {
	w.t.Helper()
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Errorf("witness serve after Ctrl-C: %v\n%s", err, w.stderr.String())
		}
	case <-time.After(30 * time.Second):
		w.t.Errorf("witness serve did not stop on Ctrl-C")
	}
	w.t.Logf("witness serve:\n%s", w.stderr.String())
}
