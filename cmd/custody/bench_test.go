package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
)

// BenchmarkImport measures `custody import` of a 1 GiB media file against the
// two-pass baseline `sha256sum FILE && age -r R -o OUT FILE`, in the same
// run, on the same warm file, and reports the peak RSS of the import.
// Targets (issue 2): at least 2x the baseline's speed, peak RSS <= 64 MiB.
// CUSTODY_BENCH_MB sets the file size (default 1024).
func BenchmarkImport(b *testing.B) {
	testenv.Tool(b, "ffmpeg")
	testenv.Tool(b, "age")
	testenv.Tool(b, "sha256sum")
	sizeMB := 1024
	if s := os.Getenv("CUSTODY_BENCH_MB"); s != "" {
		sizeMB, _ = strconv.Atoi(s)
	}
	cache := filepath.Join(testenv.RepoRoot(), ".cache", "bench")
	os.MkdirAll(cache, 0o755)
	media := filepath.Join(cache, fmt.Sprintf("raw-%dMiB.nut", sizeMB))
	if _, err := os.Stat(media); err != nil {
		// Uncompressed video in NUT: a real, probe-able recording of the
		// wanted size; sealing speed does not depend on the content.
		frames := sizeMB * (1 << 20) / (1280 * 720 * 3)
		out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
			"-frames:v", strconv.Itoa(frames), "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-y", media).CombinedOutput()
		if err != nil {
			b.Fatalf("making the bench file: %v\n%s", err, out)
		}
	}
	fi, _ := os.Stat(media)
	mib := float64(fi.Size()) / (1 << 20)

	dir := b.TempDir()
	bin := filepath.Join(dir, "custody")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	key := filepath.Join(dir, "k.txt")
	exec.Command("age-keygen", "-o", key).Run()
	pubb, _ := exec.Command("age-keygen", "-y", key).Output()
	pub := strings.TrimSpace(string(pubb))
	// Peak RSS is sampled from /proc (VmHWM) by runMeasured: rusage's
	// Maxrss would include this test process's own high-water mark.
	os.Setenv("CUSTODY_PASSPHRASE", "bench")
	run := func(name string, args ...string) (time.Duration, int64) { return runMeasured(b, name, args...) }
	exec.Command("cat", media).Run() // warm the page cache for both sides

	const rounds = 3
	var ours, base []time.Duration
	var peak int64
	for i := 0; i < rounds; i++ {
		st := filepath.Join(dir, fmt.Sprintf("st%d", i))
		run(bin, "init", "--store", st, "--recipient", pub, "--kdf-work-factor", "10")
		d, rss := run(bin, "import", "--store", st, media)
		ours = append(ours, d)
		peak = max(peak, rss)
		os.RemoveAll(st)

		out := filepath.Join(dir, "baseline.age")
		d1, _ := run("sha256sum", media)
		d2, _ := run("age", "-r", pub, "-o", out, media)
		base = append(base, d1+d2)
		os.Remove(out)
	}
	med := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	o, bl := med(ours), med(base)
	b.ReportMetric(mib/o.Seconds(), "custody-MiB/s")
	b.ReportMetric(mib/bl.Seconds(), "baseline-MiB/s")
	b.ReportMetric(bl.Seconds()/o.Seconds(), "speedup")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	b.Logf("file %.0f MiB; custody import %v (%.0f MiB/s, peak RSS %.1f MiB) vs sha256sum+age %v (%.0f MiB/s): %.2fx (target >= 2x, RSS <= 64 MiB)",
		mib, o.Round(time.Millisecond), mib/o.Seconds(), float64(peak)/(1<<20), bl.Round(time.Millisecond), mib/bl.Seconds(), bl.Seconds()/o.Seconds())
}
