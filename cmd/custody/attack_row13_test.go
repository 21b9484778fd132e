package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
)

// Row 13 of the audit (issue 11): untidy failure. kill -9 during open or
// export left hidden plaintext or bundle partials for good; ffmpeg children
// inherited the passphrases; show printed raw escape sequences and bidi
// overrides from notes and reasons.

// TestAttackRow13KillOpenLeavesNoPlaintext kills a real `custody open`
// with SIGKILL while it writes a 138 MB plaintext, then looks for any file
// in the output directory.
func TestAttackRow13KillOpenLeavesNoPlaintext(t *testing.T) {
	c, id := row13BigStore(t)
	out := filepath.Join(c.dir, "out")
	os.Mkdir(out, 0o700)
	c.killMidWrite(c.cmd("open", "--store", "st", id, "-i", "dpo.key", "-o", "out/clip.mkv", "--reason", "row 13"))
	if left := filesUnder(t, out); len(left) > 0 {
		t.Fatalf("kill -9 during open left plaintext in the output directory: %v", left)
	}
	// And a new open there works.
	c.ok("open", "--store", "st", id, "-i", "dpo.key", "-o", "out/clip.mkv", "--reason", "row 13, again")
	if left := filesUnder(t, out); strings.Join(left, ",") != "clip.mkv" {
		t.Fatalf("after a complete open the output directory holds %v", left)
	}
}

// TestAttackRow13KillExportLeavesNoPartial kills `custody export` with
// SIGKILL while it writes a bundle: a zip leaves nothing; a directory
// bundle (which cannot be unnamed) leaves its hidden temporary directory
// until the next export beside it, which removes it.
func TestAttackRow13KillExportLeavesNoPartial(t *testing.T) {
	c, id := row13BigStore(t)
	police := c.ageKey("police.key")
	out := filepath.Join(c.dir, "out")
	os.Mkdir(out, 0o700)
	export := func(o string) *exec.Cmd {
		return c.cmd("export", "--store", "st", "--incident", "NPT-2026-13", "-i", "dpo.key", id,
			"--include-originals", "--to", police, "--no-receiver", "-o", o)
	}
	c.killMidWrite(export("out/bundle.zip"))
	if left := filesUnder(t, out); len(left) > 0 {
		t.Fatalf("kill -9 during a zip export left %v", left)
	}
	c.killMidWrite(export("out/bundle"))
	t.Logf("a killed directory export left %v", filesUnder(t, out))
	if _, err := runCmd(export("out/bundle")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 || ents[0].Name() != "bundle" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("after the next export the output directory holds %v, want only the bundle", names)
	}
}

// TestAttackRow13KillRedactLeavesNoPlaintext kills a real plain-mode
// `custody redact` with SIGKILL once its encoder has written part of the
// redacted video. The ffmpeg children outlive it (the encoder finishes
// what it was given); once they are gone, nothing may be left in the
// output directory.
func TestAttackRow13KillRedactLeavesNoPlaintext(t *testing.T) {
	if !cgoEnabled {
		t.Skip("redaction needs the full build with OpenCV")
	}
	c := newCLIRun(t)
	testenv.MakeClip(t, c.dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast")
	out := filepath.Join(c.dir, "out")
	os.Mkdir(out, 0o700)
	red := c.cmd("redact", "in.mp4", "-o", "out/redacted.mp4", "--every", "6")
	if err := red.Start(); err != nil {
		t.Fatal(err)
	}
	var kids []int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			red.Process.Kill()
			t.Fatal("the encoder never wrote")
		}
		kids = descendants(red.Process.Pid)
		if encoderWrote(kids) {
			break
		}
	}
	red.Process.Signal(syscall.SIGKILL)
	if err := red.Wait(); err == nil {
		t.Fatal("redact finished before it was killed")
	}
	for _, pid := range kids {
		for len(procCmdline(pid)) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if left := filesUnder(t, out); len(left) > 0 {
		t.Fatalf("kill -9 during redact left %v in the output directory", left)
	}
}

// encoderWrote reports whether one of pids is an ffmpeg writing MP4 (the
// encoder) that has written more than 64 KiB.
func encoderWrote(pids []int) bool {
	for _, pid := range pids {
		cl := strings.Join(procCmdline(pid), " ")
		if !strings.Contains(cl, "-f mp4") {
			continue
		}
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "wchar: "); ok {
				if n, _ := strconv.ParseInt(v, 10, 64); n > 64<<10 {
					return true
				}
			}
		}
	}
	return false
}

// TestAttackRow13ChildEnvHasNoSecrets reads, as a local process would, the
// environment of every ffmpeg and ffprobe a real `custody redact` starts
// while they run: no CUSTODY_ secret may be there.
func TestAttackRow13ChildEnvHasNoSecrets(t *testing.T) {
	if !cgoEnabled {
		t.Skip("redaction needs the full build with OpenCV")
	}
	c := newCLIRun(t)
	c.env = append(c.env, "CUSTODY_PASSPHRASE=station-secret-row13", "CUSTODY_IDENTITY_PASSPHRASE=identity-secret-row13")
	testenv.MakeClip(t, c.dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast")
	red := c.cmd("redact", "in.mp4", "-o", "out.mp4", "--every", "6")
	var errb bytes.Buffer
	red.Stderr = &errb
	if err := red.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- red.Wait() }()
	seen := map[int]bool{}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("redact: %v\n%s", err, errb.String())
			}
			running = false
		default:
		}
		for _, pid := range descendants(red.Process.Pid) {
			if seen[pid] {
				continue
			}
			// Only after exec: a child between fork and exec still shows
			// custody's own command line and environment.
			cl := procCmdline(pid)
			if len(cl) == 0 || filepath.Base(cl[0]) != "ffmpeg" && filepath.Base(cl[0]) != "ffprobe" {
				continue
			}
			env := procEnviron(pid)
			if env == nil {
				continue
			}
			seen[pid] = true
			name := filepath.Base(cl[0])
			t.Logf("pid %d (%s): %d environment variables", pid, name, len(env))
			for _, kv := range env {
				if strings.HasPrefix(kv, "CUSTODY_") {
					t.Errorf("%s (pid %d) inherited %s", name, pid, kv)
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if len(seen) == 0 {
		t.Fatal("saw no ffmpeg child: nothing was checked")
	}
}

// TestAttackRow13ShowEscapes puts an ESC sequence (clear screen, red) and
// a right-to-left override into a note, a reason and a wearer's name, and
// reads them back with show, log, list and in an error message: each is
// printed escaped, never raw; JSON stays valid and carries them exactly.
func TestAttackRow13ShowEscapes(t *testing.T) {
	c := newCLIRun(t)
	key := c.ageKey("dpo.key")
	c.ok("init", "--store", "st", "--recipient", key, "--kdf-work-factor", "10")
	testenv.MakeClip(t, c.dir, "a.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast")
	note := "\x1b[2J\x1b[31mall clear\u202eexe.mp4\r"
	id := c.jsonField("id", "import", "--store", "st", "a.mp4", "--note", note, "--wearer", "Nurse \u2067A\x07", "--json")
	c.ok("open", "--store", "st", id, "-i", "dpo.key", "-o", "a.out.mp4", "--reason", "review \x1b]0;pwned\x07\u202d")

	for _, args := range [][]string{{"show", "--store", "st", id}, {"log", "--store", "st"}, {"list", "--store", "st"}} {
		out := c.ok(args...)
		checkEscaped(t, args[0], out)
		if args[0] == "show" && (!strings.Contains(out, `\x1b[2J\x1b[31mall clear\u202eexe.mp4\x0d`) || !strings.Contains(out, `\u2067A\x07`)) {
			t.Errorf("show does not print the note and wearer visibly escaped:\n%s", out)
		}
	}
	js := c.ok("show", "--store", "st", id, "--json")
	checkEscaped(t, "show --json", js)
	var v struct {
		Note   string `json:"note"`
		Wearer string `json:"wearer"`
	}
	if err := json.Unmarshal([]byte(js), &v); err != nil || v.Note != note || v.Wearer != "Nurse \u2067A\x07" {
		t.Errorf("show --json: %v; note %q wearer %q, want them exactly", err, v.Note, v.Wearer)
	}
	// Error messages name paths and files as given.
	cmd := c.cmd("show", "--store", "no\x1b[2J\u202ewhere", id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("show in a store that does not exist succeeded")
	}
	checkEscaped(t, "an error message", stderr.String())
	if !strings.Contains(stderr.String(), `no\x1b[2J\u202ewhere`) {
		t.Errorf("the error message does not name the store visibly: %q", stderr.String())
	}
}

// checkEscaped fails if out holds a raw ESC, BEL, CR or bidi control.
func checkEscaped(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c {
			t.Errorf("%s printed a raw %U:\n%q", what, r, out)
			return
		}
	}
}

// row13BigStore makes a store holding one 138 MB clip (raw video), so that
// opening or exporting it takes long enough to be killed half-way.
func row13BigStore(t *testing.T) (*cliRun, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("kills the binary part way through writing a large clip")
	}
	c := newCLIRun(t)
	key := c.ageKey("dpo.key")
	c.ok("init", "--store", "st", "--recipient", key, "--kdf-work-factor", "10")
	big := testenv.MakeClip(t, t.TempDir(), "big.mkv", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25", "-t", "12",
		"-c:v", "rawvideo", "-pix_fmt", "yuv420p")
	return c, c.jsonField("id", "import", "--store", "st", big, "--json")
}

// cliRun runs the custody binary (this test binary, which testscript.Main
// installs in $PATH as "custody") in a directory of its own.
type cliRun struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func newCLIRun(t *testing.T) *cliRun {
	t.Helper()
	testenv.Tool(t, "ffmpeg")
	bin, err := exec.LookPath("custody")
	if err != nil {
		t.Fatalf("custody is not in $PATH (testscript.Main puts it there): %v", err)
	}
	return &cliRun{t: t, bin: bin, dir: t.TempDir(), env: append(os.Environ(),
		"CUSTODY_PASSPHRASE=attack-pass", "CUSTODY_STORE=", "CUSTODY_ACTOR=attack test",
		"CUSTODY_SHARED="+testenv.SharedDir(), "CUSTODY_MODELS="+testenv.SharedDir()+"/models",
		"CUSTODY_ORGANIZATION=St Elsewhere NHS Trust", "CUSTODY_CONTACT=J. Doe, DPO")}
}

func (c *cliRun) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	return cmd
}

// runCmd runs cmd and returns its stdout, or an error with its stderr.
func runCmd(cmd *exec.Cmd) (string, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), errors.New(strings.Join(cmd.Args, " ") + ": " + err.Error() + "\n" + errb.String())
	}
	return out.String(), nil
}

func (c *cliRun) ok(args ...string) string {
	c.t.Helper()
	out, err := runCmd(c.cmd(args...))
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// jsonField runs a command with --json and returns a string field of its
// output.
func (c *cliRun) jsonField(field string, args ...string) string {
	c.t.Helper()
	out := c.ok(args...)
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	s, _ := v[field].(string)
	if s == "" {
		c.t.Fatalf("%s: no %q in %s", strings.Join(args, " "), field, out)
	}
	return s
}

// ageKey makes an age key file in the directory and returns its recipient.
func (c *cliRun) ageKey(name string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	testenv.Run(c.t, "age-keygen", "-o", p)
	return strings.TrimSpace(testenv.Run(c.t, "age-keygen", "-y", p))
}

// killMidWrite starts cmd, kills it with SIGKILL once it has written 16 MB
// (/proc/PID/io wchar: well into a large output), and fails if it finished
// first.
func (c *cliRun) killMidWrite(cmd *exec.Cmd) {
	c.t.Helper()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	io := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/io"
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait // it exited (a zombie's io file still reads)
		default:
		}
		b, rerr := os.ReadFile(io)
		if rerr != nil {
			err = <-done
			break
		}
		var wchar int64
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "wchar: "); ok {
				wchar, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if wchar > 16<<20 {
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
			break
		}
		time.Sleep(time.Millisecond)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		c.t.Fatalf("%s was not killed part way (%v): the output is too small\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	}
}

// filesUnder lists everything under dir, hidden entries included.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// descendants returns the processes below pid (children, theirs, ...).
func descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			kids[pp] = append(kids[pp], p)
		}
	}
	var out []int
	for queue := kids[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, kids[queue[0]]...)
	}
	return out
}

func procStrings(pid int, file string) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// procCmdline is a process's command line, as any local user reads it.
func procCmdline(pid int) []string { return procStrings(pid, "cmdline") }

// procEnviron is a process's environment (readable by its owner).
func procEnviron(pid int) []string { return procStrings(pid, "environ") }
