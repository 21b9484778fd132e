package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
)

// BenchmarkVerifyBundle measures `custody verify BUNDLE --key K` (the
// CGO_ENABLED=0 build) on a multi-GiB bundle against `sha512sum` of the
// same files, in the same run, on a warm page cache, and reports the peak
// RSS of verify at two bundle sizes. Targets (issue 3): at least 80% of
// sha512sum's speed; memory independent of bundle size.
// CUSTODY_BENCH_BUNDLE_MB sets the large size (default 2048); the small
// one is an eighth of it.
func BenchmarkVerifyBundle(b *testing.B) {
	testenv.Tool(b, "ffmpeg")
	testenv.Tool(b, "sha512sum")
	large := 2048
	if s := os.Getenv("CUSTODY_BENCH_BUNDLE_MB"); s != "" {
		large, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	bin := buildCustody(b, dir, true)
	type result struct {
		mib                 float64
		ours, zip, baseline time.Duration
		rss, zipRSS         int64
	}
	var results []result
	for _, mb := range []int{large / 8, large} {
		bdir, bzip, key := benchBundle(b, mb)
		files := bundleFiles(b, bdir)
		var total int64
		for _, f := range files {
			fi, _ := os.Stat(f)
			total += fi.Size()
		}
		// Warm the page cache for both sides.
		exec.Command("cat", append(files, bzip)...).Run()
		const rounds = 3
		var ours, zips, base []time.Duration
		for i := 0; i < rounds; i++ {
			ours = append(ours, timeRun(b, bin, "verify", bdir, "--key", key).wall)
			zips = append(zips, timeRun(b, bin, "verify", bzip, "--key", key).wall)
			base = append(base, timeRun(b, "sha512sum", files...).wall)
		}
		// Memory in separate runs, so that measuring it cannot slow the
		// timed ones.
		rss := peakRSS(b, bin, "verify", bdir, "--key", key)
		zrss := peakRSS(b, bin, "verify", bzip, "--key", key)
		results = append(results, result{float64(total) / (1 << 20), median(ours), median(zips), median(base), rss, zrss})
	}
	for _, r := range results {
		b.Logf("bundle %.0f MiB: custody verify %v (%.0f MiB/s, peak RSS %.1f MiB); zip form %v (%.0f MiB/s, peak RSS %.1f MiB); sha512sum %v (%.0f MiB/s): %.0f%% of sha512sum's speed (target >= 80%%)",
			r.mib, r.ours.Round(time.Millisecond), r.mib/r.ours.Seconds(), float64(r.rss)/(1<<20),
			r.zip.Round(time.Millisecond), r.mib/r.zip.Seconds(), float64(r.zipRSS)/(1<<20),
			r.baseline.Round(time.Millisecond), r.mib/r.baseline.Seconds(), 100*r.baseline.Seconds()/r.ours.Seconds())
	}
	small, big := results[0], results[len(results)-1]
	b.ReportMetric(big.mib/big.ours.Seconds(), "verify-MiB/s")
	b.ReportMetric(big.mib/big.baseline.Seconds(), "sha512sum-MiB/s")
	b.ReportMetric(100*big.baseline.Seconds()/big.ours.Seconds(), "%-of-sha512sum")
	b.ReportMetric(float64(small.rss)/(1<<20), "RSS-MiB-small")
	b.ReportMetric(float64(big.rss)/(1<<20), "RSS-MiB-large")
	b.Logf("peak RSS %.1f MiB at %.0f MiB, %.1f MiB at %.0f MiB (memory independent of size: the bundle is %.0fx larger)",
		float64(small.rss)/(1<<20), small.mib, float64(big.rss)/(1<<20), big.mib, big.mib/small.mib)
}

func bundleFiles(b *testing.B, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	return out
}

// benchBundle makes (once, cached in .cache/bench) a real bundle of about
// mb MiB: a raw-video recording of mb/2 MiB imported and sealed, a
// "redacted" derivative of the same size, exported with the original
// re-encrypted to a receiver, as a directory and as a zip.
func benchBundle(b *testing.B, mb int) (dir, zip, key string) {
	b.Helper()
	cache := filepath.Join(testenv.RepoRoot(), ".cache", "bench", fmt.Sprintf("bundle-%dMiB", mb))
	dir, zip, key = filepath.Join(cache, "INC-BENCH"), filepath.Join(cache, "INC-BENCH.zip"), filepath.Join(cache, "station.pub")
	if _, err := os.Stat(filepath.Join(cache, "done")); err == nil {
		return
	}
	os.RemoveAll(cache)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	work := b.TempDir()
	media := filepath.Join(work, "raw.nut")
	frames := mb / 2 * (1 << 20) / (1280 * 720 * 3)
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-frames:v", strconv.Itoa(max(frames, 1)), "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-y", media).CombinedOutput(); err != nil {
		b.Fatalf("making the bench recording: %v\n%s", err, out)
	}
	dpo, _ := age.GenerateX25519Identity()
	receiver, _ := age.GenerateX25519Identity()
	s, err := store.Init(ctx, filepath.Join(work, "store"), store.InitOptions{Recipients: []string{dpo.Recipient().String()},
		Passphrase: []byte("bench"), WorkFactor: 10, Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.Import(ctx, media, store.ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bundletest.RegisterRedacted(ctx, s, c.ID, media); err != nil {
		b.Fatal(err)
	}
	for _, out := range []string{dir, zip} {
		_, err := bundle.Export(ctx, s, bundle.ExportOptions{Incident: "INC-BENCH", Clips: []string{c.ID}, Out: out,
			Organization: "bench", Contact: "bench", Identities: []age.Identity{dpo}, IncludeOriginals: true,
			To: []string{receiver.Recipient().String()}})
		if err != nil {
			b.Fatal(err)
		}
	}
	line, _ := s.StationKey()
	os.WriteFile(key, []byte(line+"\n"), 0o644)
	os.WriteFile(filepath.Join(cache, "done"), nil, 0o644)
	return
}
