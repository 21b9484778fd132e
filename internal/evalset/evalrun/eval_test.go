//go:build cgo

package evalrun

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/redact"
)

// The benchmark's flags (go test ./internal/evalset/evalrun -run TestEval -v -eval ...).
var (
	evalFlag   = flag.Bool("eval", false, "run the redaction benchmark (make eval)")
	evalQuick  = flag.Bool("eval.quick", false, "development run: the defaults and the reference on the face variants, the badges and gen2's clips only")
	evalSplit  = flag.String("eval.split", string(evalset.Reporting), "testing (reported) or training (for tuning thresholds)")
	evalOnly   = flag.String("eval.only", "faces,badges,clips", "categories to run")
	evalVars   = flag.String("eval.variants", "", "face variants to run (comma separated; default all)")
	evalClips  = flag.String("eval.clips", "", "clips to run, by name as printed, e.g. 'gen1,gen1 dark' (default all)")
	evalTruth  = flag.String("eval.truth", "auto", "YuNet that labels the clips: auto (the one the defaults do not use), 2022mar or 2023mar")
	evalTruthT = flag.Float64("eval.truth-threshold", 0.8, "score threshold of the clips' labeller")
	evalMisses = flag.Int("eval.misses", 0, "list up to N missed regions per row and set")
	evalJSON   = flag.String("eval.json", "", "also write every figure to this JSON file")
	evalCache  = flag.String("eval.cache", "", "where generated data goes (default .cache/eval in the repository)")
	evalBin    = flag.String("eval.bin", "", "a built custody binary: check that the defaults row reports what `custody detect --json` reports")
	evalNoRef  = flag.Bool("eval.noref", false, "leave out the plain YuNet reference row")
	evalRows   rowFlags
)

func init() {
	flag.Var(&evalRows, "eval.row", "an extra row, 'NAME: key=value ...' over the defaults (repeatable): keys are detect.Config fields, every, margin, shape, plain=VERSION@THRESHOLD")
}

type rowFlags []Row

func (r *rowFlags) String() string { return fmt.Sprint(len(*r)) }
func (r *rowFlags) Set(s string) error {
	row, err := ParseRow(s)
	if err != nil {
		return err
	}
	*r = append(*r, row)
	return nil
}

// TestEval prints the benchmark's tables: make eval.
func TestEval(t *testing.T) {
	if !*evalFlag {
		t.Skip("benchmark: run with -eval (make eval)")
	}
	b := &Benchmark{Split: evalset.Split(*evalSplit), Options: evalset.Options{Cache: *evalCache},
		TruthVersion: *evalTruth, TruthThreshold: *evalTruthT, Misses: *evalMisses}
	if b.Split != evalset.Reporting && b.Split != evalset.Tuning {
		t.Fatalf("-eval.split %q: want testing or training", *evalSplit)
	}
	b.Rows = []Row{Defaults()}
	if !*evalNoRef {
		b.Rows = append(b.Rows, Reference())
	}
	b.Rows = append(b.Rows, evalRows...)
	only := strings.Split(*evalOnly, ",")
	if slices.Contains(only, "faces") {
		b.FaceVariants = pick(evalset.FaceVariants, *evalVars)
	}
	b.Badges = slices.Contains(only, "badges")
	if slices.Contains(only, "clips") {
		specs := evalset.ClipSpecs
		if *evalQuick {
			specs = []evalset.ClipSpec{{Source: evalset.ClipGen2, Variant: evalset.ClipOriginal}, {Source: evalset.ClipGen2, Variant: evalset.ClipDark}}
		}
		for _, s := range specs {
			if *evalClips == "" || slices.Contains(strings.Split(*evalClips, ","), s.Name()) {
				b.Clips = append(b.Clips, s)
			}
		}
	}
	res, err := b.Run(context.Background(), os.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	if *evalJSON != "" {
		data, err := json.MarshalIndent(res, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*evalJSON, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pick(all []string, sel string) []string {
	if sel == "" {
		return all
	}
	var out []string
	for _, v := range strings.Split(sel, ",") {
		if slices.Contains(all, v) {
			out = append(out, v)
		}
	}
	return out
}

// TestDefaultsMatchCLI: the defaults row reports exactly what `custody
// detect --json` with no flags reports, on the original photos, the badge
// pictures and the gen2 clip. It fails when the CLI's defaults change
// without Defaults following. Needs -eval.bin (make eval passes it).
func TestDefaultsMatchCLI(t *testing.T) {
	if *evalBin == "" {
		t.Skip("needs -eval.bin=path/to/custody")
	}
	ctx := context.Background()
	o := evalset.Options{Cache: *evalCache}
	var files []string
	for _, get := range []func() (*evalset.Set, error){
		func() (*evalset.Set, error) { return evalset.Faces(o, evalset.Reporting, evalset.VariantOriginal) },
		func() (*evalset.Set, error) { return evalset.Badges(o, evalset.Reporting) },
	} {
		set, err := get()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range set.Items {
			files = append(files, it.Path)
		}
	}
	clip := filepath.Join(evalset.DefaultShared(), "data", "video", evalset.ClipGen2)
	files = append(files, clip)
	cmd := exec.CommandContext(ctx, *evalBin, append([]string{"detect", "--json"}, files...)...)
	if os.Getenv("CUSTODY_MODELS") == "" {
		cmd.Env = append(os.Environ(), "CUSTODY_MODELS="+filepath.Join(evalset.DefaultShared(), "models"))
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s detect --json: %v", *evalBin, err)
	}
	cli := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var rec redact.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		cli[fmt.Sprintf("%s#%d", rec.File, rec.Frame)] = boxesKey(rec.Boxes)
	}
	row := Defaults()
	det, _, err := row.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	ours := map[string]string{}
	for _, f := range files {
		err := redact.DetectFile(ctx, f, row.scanOptions(det), func(rec redact.Record) error {
			ours[fmt.Sprintf("%s#%d", rec.File, rec.Frame)] = boxesKey(rec.Boxes)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(ours) == 0 {
		t.Fatal("nothing detected at all")
	}
	diff := 0
	for k, v := range ours {
		if cli[k] != v {
			diff++
			if diff <= 5 {
				t.Errorf("%s: the defaults row reports %s, custody detect --json %s", k, v, cli[k])
			}
		}
	}
	for k := range cli {
		if _, ok := ours[k]; !ok {
			diff++
			t.Errorf("%s: only custody detect --json reports regions", k)
		}
	}
	if diff == 0 {
		t.Logf("defaults row = custody detect --json on %d records of %d files", len(ours), len(files))
	}
}

func boxesKey(bs []detect.Box) string {
	var s []string
	for _, b := range bs {
		s = append(s, fmt.Sprintf("%s:%d,%d,%d,%d", b.Label, b.X, b.Y, b.W, b.H))
	}
	return strings.Join(s, " ")
}
