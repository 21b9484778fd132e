package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run is one timed command: its wall time, and the CPU time (user +
// system) of the process and of the children it waited for.
type run struct {
	wall, cpu time.Duration
}

// timeRun runs a command to completion and times it. Nothing watches the
// process while it runs: sampling /proc/PID/status every few milliseconds
// slowed an import by half.
func timeRun(tb testing.TB, name string, args ...string) run {
	tb.Helper()
	cmd := exec.Command(name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	var cpu time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return run{wall: wall, cpu: cpu}
}

// peakRSS runs a command to completion and returns the peak resident set
// of that process alone: its VmHWM, read at its exit under ptrace
// (PTRACE_O_TRACEEXIT stops it after its last instruction and before its
// memory is released). rusage cannot give this figure: ru_maxrss of a
// child includes the grandchildren it waited for (custody waits for
// ffprobe, which is larger than custody), and Go starts children with
// CLONE_VM, so the kernel carries this test's own high-water mark across
// the exec. Sampling /proc while it runs misses a late peak and slows the
// process.
func peakRSS(tb testing.TB, name string, args ...string) int64 {
	tb.Helper()
	// Every ptrace request must come from the thread that started the
	// tracee.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out, err := os.CreateTemp(tb.TempDir(), "out")
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pid := cmd.Process.Pid
	var ws syscall.WaitStatus
	// The tracee stops with SIGTRAP after its exec.
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.PtraceCont(pid, 0); err != nil {
		tb.Fatal(err)
	}
	peak := int64(-1)
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			tb.Fatal(err)
		}
		if ws.Exited() || ws.Signaled() {
			break
		}
		sig := 0
		switch {
		case ws.StopSignal() == syscall.SIGTRAP && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT:
			peak = vmHWM(pid)
		case ws.StopSignal() != syscall.SIGTRAP:
			sig = int(ws.StopSignal()) // pass the signal on
		}
		if err := syscall.PtraceCont(pid, sig); err != nil {
			tb.Fatal(err)
		}
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		b, _ := os.ReadFile(out.Name())
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), ws, b)
	}
	if peak < 0 {
		tb.Fatalf("%s: no exit stop seen, so no peak RSS", name)
	}
	return peak
}

// vmHWM reads a live process's peak resident set from /proc.
func vmHWM(pid int) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb * 1024
		}
	}
	return -1
}

func median(ds []time.Duration) time.Duration {
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// medianRun is the run with the median wall time.
func medianRun(rs []run) run {
	rs = append([]run(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	return rs[len(rs)/2]
}

// TestPeakRSS checks the measuring tool itself against a process whose
// peak is known: it must see a large short-lived allocation made just
// before exit, and must not count a larger child the process waited for.
func TestPeakRSS(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	// 200 MiB touched just before exit, in a child that itself starts a
	// 400 MiB grandchild first.
	prog := `import subprocess,sys
subprocess.run([sys.executable,"-c","b=bytearray(400<<20)"],check=True)
b=bytearray(200<<20)`
	got := peakRSS(t, "python3", "-c", prog)
	mib := float64(got) / (1 << 20)
	if mib < 200 || mib > 260 {
		t.Fatalf("peak RSS %.1f MiB, want 200-260 (the process's own 200 MiB, not its 400 MiB child)", mib)
	}
}

// buildCustody builds the custody binary into dir, the static
// (CGO_ENABLED=0) build or the full one, with this process's environment:
// under make, the Makefile's cgo flags, so the full build is linked as
// `make build` links it.
func buildCustody(tb testing.TB, dir string, static bool) string {
	tb.Helper()
	name := "custody"
	if static {
		name = "custody-static"
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if static {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return bin
}
