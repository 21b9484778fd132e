package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestAttackIssue12Row07RedactWithoutModels (issue 12, row 7): `custody
// redact --store`, run as documented but with CUSTODY_MODELS unset and no
// --models, fell back to Haar cascades with a warning, silently dropped
// badge masking (text=none), exited 0, sealed the result and used up the
// approval. Now, in a dual-control store with an approved redaction
// request:
//   - the redaction uses the models built into custody: the default face
//     model and the badge model, never Haar; the badge on the nurse's
//     chest is masked; the ledger entry names each model, built in, with
//     the sha256 `custody version` lists; the approval is spent;
//   - a custody built without its models (go build alone) refuses instead,
//     exit 2, with how to build it, nothing logged and the approval
//     unspent: with --models the same approval then redacts.
func TestAttackIssue12Row07RedactWithoutModels(t *testing.T) {
	c, id, builtIn := approvedRedaction(t)
	ledger := filepath.Join(c.dir, "st", "ledger.jsonl")
	before := lineCount(t, ledger)
	out, code, stderr := c.run("redact", "--store", "st", id, "-i", "nina", "--every", "3", "--json")
	if !builtIn {
		// No models, nowhere: refused, nothing logged, approval unspent.
		if code != 2 || !strings.Contains(stderr, "built without its models") || !strings.Contains(stderr, "make build") {
			t.Fatalf("redact --store without models: exit %d, want 2 with how to build custody with its models\n%s%s",
				code, detectorOf(out), stderr)
		}
		if n := lineCount(t, ledger); n != before {
			t.Errorf("refused redaction logged %d ledger entries", n-before)
		}
		out = c.ok("redact", "--store", "st", id, "-i", "nina", "--every", "3", "--json", "--models", testenv.SharedDir()+"/models")
		checkRedaction(t, out, ledger, "directory", nil)
		return
	}
	if code != 0 {
		t.Fatalf("redact --store with the built-in models: exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("the default redaction warned: %s", stderr)
	}
	checkRedaction(t, out, ledger, "embedded", c.versionModels())
	if _, code, stderr := c.run("redact", "--store", "st", id, "-i", "nina", "--every", "3"); code == 0 || !strings.Contains(stderr, "one-time") {
		t.Errorf("second redaction: exit %d, %s; want the one-time approval spent", code, stderr)
	}
}

// TestAttackIssue12Row07WeakerDetectorRefused (issue 12, row 7): in store
// mode a DPO could ask for a weaker detector than the defaults by name
// (--detector haar, --text none), and the redaction was sealed as the
// release copy. Now each is refused, exit 2, before anything is logged or
// the approval spent: the same approval then redacts with the defaults.
func TestAttackIssue12Row07WeakerDetectorRefused(t *testing.T) {
	c, id, builtIn := approvedRedaction(t)
	ledger := filepath.Join(c.dir, "st", "ledger.jsonl")
	for _, weak := range [][]string{{"--detector", "haar", "--text", "none"}, {"--text", "none"}, {"--detector", "haar"}, {"--detector", "ultraface"}} {
		flags := strings.Join(weak, " ")
		args := append([]string{"redact", "--store", "st", id, "-i", "nina", "--every", "3", "--json", "--models", testenv.SharedDir() + "/models"}, weak...)
		before := lineCount(t, ledger)
		out, code, stderr := c.run(args...)
		if code != 2 || !strings.Contains(stderr, "weaker") {
			t.Fatalf("redact --store %s: exit %d, want 2, refused as weaker than the defaults\n%s%s", flags, code, detectorOf(out), stderr)
		}
		if n := lineCount(t, ledger); n != before {
			t.Errorf("redact --store %s was refused but logged %d ledger entries", flags, n-before)
		}
	}
	args := []string{"redact", "--store", "st", id, "-i", "nina", "--every", "3", "--json"}
	source := "embedded"
	if !builtIn {
		args, source = append(args, "--models", testenv.SharedDir()+"/models"), "directory"
	}
	checkRedaction(t, c.ok(args...), ledger, source, nil)
}

// approvedRedaction makes a dual-control store holding a real clip with a
// name badge, owned by nina, whose request to redact it dave approved;
// custody finds no models directory. It returns the clip and whether this
// custody has models built in.
func approvedRedaction(t *testing.T) (c *cliRun, clipID string, builtIn bool) {
	t.Helper()
	if !cgoEnabled {
		t.Skip("redaction needs the full build with OpenCV")
	}
	c = newCLIRun(t)
	c.noModelsDir()
	builtIn = c.builtInModels()
	if !builtIn && os.Getenv("CUSTODY_TEST_BUILT_IN_MODELS") != "" {
		t.Fatal("this custody carries no models, and make test insists it does (make models first)")
	}
	t.Logf("models built into this custody: %v", builtIn)
	clip := badgeClip(t, c.dir)
	for _, who := range []string{"dana", "dave", "nina"} {
		testenv.Run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", filepath.Join(c.dir, who))
	}
	c.ok("init", "--store", "st", "--dual-control", "--kdf-work-factor", "10", "--dpo", "dana=dana.pub", "--dpo", "dave=dave.pub")
	c.ok("user", "add", "--store", "st", "nina", "--role", "clinician", "--key", "nina.pub", "-i", "dana")
	clipID = c.jsonField("id", "import", "--store", "st", "--owner", "nina", clip, "--json")
	req := c.jsonField("id", "request", "--store", "st", clipID, "--purpose", "redact", "--reason", "police request",
		"--incident", "NPT-1142", "-i", "nina", "--json")
	c.ok("approve", "--store", "st", req, "-i", "dave")
	return c, clipID, builtIn
}

// detectorOf says which detector a redact --json output names, for
// failure messages.
func detectorOf(out string) string {
	var res struct {
		Report struct {
			Detector string `json:"detector"`
			Params   struct {
				Detection string `json:"detection"`
			} `json:"params"`
		} `json:"report"`
	}
	if json.Unmarshal([]byte(out), &res) != nil {
		return ""
	}
	return "it redacted with " + res.Report.Detector + " (" + res.Report.Params.Detection + ")\n"
}

// checkRedaction checks a store redaction's report and its ledger entry:
// the default detectors (never Haar), the badge masked, and every model
// named with its source and sha256 (the built-in ones as `custody version`
// lists them, when given).
func checkRedaction(t *testing.T, out, ledger, source string, builtIn map[string]string) {
	t.Helper()
	var res struct {
		ID     string `json:"id"`
		Report struct {
			Detector string `json:"detector"`
			Tracks   []struct {
				Label  string `json:"label"`
				Masked bool   `json:"masked"`
			} `json:"tracks"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rep := res.Report
	if strings.Contains(rep.Detector, "haar") || !strings.Contains(rep.Detector, ":badges") {
		t.Errorf("detector %q, want the default face model and badge masking", rep.Detector)
	}
	masked := map[string]bool{}
	for _, tr := range rep.Tracks {
		masked[tr.Label] = masked[tr.Label] || tr.Masked
	}
	if !masked["face"] || !masked["text"] {
		t.Errorf("masked: %v, want the face and the badge", masked)
	}
	models := ledgerModels(t, ledger, "redact", res.ID)
	if len(models) < 2 {
		t.Fatalf("ledger entry of the redaction names %d models", len(models))
	}
	for _, m := range models {
		if m.Source != source || len(m.SHA256) != 64 || (source == "embedded" && !strings.HasPrefix(m.Path, "embedded:")) {
			t.Errorf("ledger records model %+v, want it %s, with its sha256", m, source)
		}
		if builtIn != nil && builtIn[m.Name] != m.SHA256 {
			t.Errorf("ledger records %s sha256 %s; custody version lists %q", m.Name, m.SHA256, builtIn[m.Name])
		}
	}
}

type ledgerModel struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Source string `json:"source"`
}

type ledgerLine struct {
	Entry struct {
		Action  string `json:"action"`
		Clip    string `json:"clip"`
		Payload struct {
			Redaction struct {
				Models []ledgerModel `json:"models"`
			} `json:"redaction"`
		} `json:"payload"`
	} `json:"entry"`
}

// ledgerModels is the models the ledger entry of action for clip records.
func ledgerModels(t *testing.T, ledger, action, clip string) []ledgerModel {
	t.Helper()
	f, err := os.Open(ledger)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l ledgerLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Entry.Action == action && l.Entry.Clip == clip {
			return l.Entry.Payload.Redaction.Models
		}
	}
	t.Fatalf("no %s entry for clip %s in %s", action, clip, ledger)
	return nil
}

func lineCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// noModelsDir takes away every models directory custody could find:
// CUSTODY_MODELS, and the data directories (an empty home).
func (c *cliRun) noModelsDir() {
	var env []string
	for _, kv := range c.env {
		if !strings.HasPrefix(kv, "CUSTODY_MODELS=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_DATA_") {
			env = append(env, kv)
		}
	}
	home := filepath.Join(c.dir, "home")
	c.env = append(env, "HOME="+home, "XDG_DATA_HOME="+home+"/.local/share", "XDG_DATA_DIRS="+home+"/share")
}

// run runs custody and returns its stdout, exit code and stderr.
func (c *cliRun) run(args ...string) (string, int, string) {
	c.t.Helper()
	cmd := c.cmd(args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode(), errb.String()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), 0, errb.String()
}

// versionModels is the built-in models `custody version --json` lists, by
// name, with their sha256 (nil when it lists none, or has no version
// command).
func (c *cliRun) versionModels() map[string]string {
	c.t.Helper()
	out, code, _ := c.run("version", "--json")
	if code != 0 {
		return nil
	}
	var v struct {
		Models []struct {
			Name    string `json:"name"`
			SHA256  string `json:"sha256"`
			Present bool   `json:"present"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		c.t.Fatalf("custody version --json: %v\n%s", err, out)
	}
	var m map[string]string
	for _, x := range v.Models {
		if x.Present {
			if m == nil {
				m = map[string]string{}
			}
			m[x.Name] = x.SHA256
		}
	}
	return m
}

func (c *cliRun) builtInModels() bool { return len(c.versionModels()) > 0 }

// badgeClip is a second of the real body-camera clip with a name badge
// (white card, blue edge, name and role) drawn on the nurse's chest.
func badgeClip(t *testing.T, dir string) string {
	t.Helper()
	font := "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	if _, err := os.Stat(font); err != nil {
		t.Skipf("no DejaVu font to draw the badge: %v", err)
	}
	out := filepath.Join(dir, "badge.mp4")
	testenv.Run(t, "ffmpeg", "-v", "error", "-i", testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4"), "-t", "1",
		"-vf", "drawbox=x=330:y=560:w=170:h=110:color=0x1a3a8a:t=fill,drawbox=x=336:y=566:w=158:h=98:color=white:t=fill,"+
			"drawtext=fontfile="+font+":text='JANE DOE':x=346:y=585:fontsize=22:fontcolor=black,"+
			"drawtext=fontfile="+font+":text='STAFF NURSE':x=346:y=620:fontsize=18:fontcolor=0x1a3a8a",
		"-c:v", "libx264", "-preset", "ultrafast", "-an", out)
	return out
}
