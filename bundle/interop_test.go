package bundle_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
)

// extractZip unpacks a bundle zip with archive/zip (not the bundle reader)
// and checks RFC 8493 section 4: one base directory, named after the zip.
func extractZip(t *testing.T, zipPath string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	dst := t.TempDir()
	base := strings.TrimSuffix(filepath.Base(zipPath), ".zip")
	for _, zf := range zr.File {
		if !filepath.IsLocal(zf.Name) || !strings.HasPrefix(zf.Name, base+"/") {
			t.Fatalf("zip entry %q is not under the single base directory %q", zf.Name, base)
		}
		p := filepath.Join(dst, filepath.FromSlash(zf.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, data, 0o644)
	}
	ents, _ := os.ReadDir(dst)
	if len(ents) != 1 || ents[0].Name() != base {
		t.Fatalf("the zip does not deserialize to one base directory %q: %v", base, ents)
	}
	return filepath.Join(dst, base)
}

func sh(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s\n%v\n%s", script, err, out)
	}
	return string(out)
}

// TestExportInterop shows that a bundle works with standard tools: an
// independent RFC 8493 validator, sha256sum/sha512sum -c from the bundle
// root, ffprobe and ffmpeg on the redacted footage, stock age on the
// re-encrypted originals, and every command the report tells a receiver to
// run, verbatim.
func TestExportInterop(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe", "age", "sha256sum", "sha512sum", "ssh-keygen", "bash"} {
		testenv.Tool(t, tool)
	}
	f := bundletest.New(t, 2)
	dir := filepath.Join(f.Dir, "NPT-2026-1142")
	res := f.Export(t, dir, true, f.Originals[0], f.Originals[1])
	zipPath := filepath.Join(f.Dir, "NPT-2026-1143.zip")
	f.Export(t, zipPath, true, f.Originals[0])
	bags := map[string]string{"dir": dir, "zip": extractZip(t, zipPath)}

	t.Run("bagit-validator", func(t *testing.T) {
		for form, b := range bags {
			if errs := validateBag(b); len(errs) > 0 {
				t.Errorf("%s form is not a valid bag:\n%s", form, strings.Join(errs, "\n"))
			}
		}
		// The validator can fail: a flipped payload byte and a stray file.
		c := bundletest.CopyDir(t, dir)
		red, _ := bundletest.Payloads(t, c)
		p := filepath.Join(c, red[0])
		data, _ := os.ReadFile(p)
		data[100] ^= 1
		os.WriteFile(p, data, 0o644)
		os.WriteFile(filepath.Join(c, "data", "stray.bin"), []byte("x"), 0o644)
		errs := strings.Join(validateBag(c), "\n")
		if !strings.Contains(errs, red[0]+" is ") || !strings.Contains(errs, "data/stray.bin is not in manifest-sha256.txt") {
			t.Fatalf("the validator missed damage:\n%s", errs)
		}
	})

	t.Run("sha256sum-from-root", func(t *testing.T) {
		for form, b := range bags {
			for _, c := range []string{"sha256sum -c manifest-sha256.txt", "sha512sum -c manifest-sha512.txt", "sha512sum -c tagmanifest-sha512.txt"} {
				out := sh(t, b, c)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				for _, l := range lines {
					if !strings.HasSuffix(l, ": OK") {
						t.Errorf("%s: %s: %s", form, c, l)
					}
				}
				if len(lines) < 2 {
					t.Errorf("%s: %s checked only %d files", form, c, len(lines))
				}
			}
		}
	})

	t.Run("redacted-footage-plays", func(t *testing.T) {
		for _, x := range res.Exhibits {
			if x.Kind != "redacted" {
				continue
			}
			p := filepath.Join(dir, x.Path)
			cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", p)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("ffprobe %s: %v %s", x.Path, err, stderr.String())
			}
			if got := strings.Fields(string(out)); strings.Join(got, ",") != "video,audio" {
				t.Errorf("%s streams %v, want video and audio", x.Path, got)
			}
			// Decoding the whole file reports nothing.
			dec, err := exec.Command("ffmpeg", "-v", "error", "-i", p, "-f", "null", "-").CombinedOutput()
			if err != nil || len(dec) > 0 {
				t.Errorf("ffmpeg decode of %s: %v %s", x.Path, err, dec)
			}
		}
	})

	t.Run("stock-age-opens-originals", func(t *testing.T) {
		n := 0
		for _, x := range res.Exhibits {
			if x.Kind != "original" {
				continue
			}
			n++
			out := sh(t, dir, "age -d -i "+f.ReceiverFile+" "+x.Path+" | sha256sum")
			if !strings.HasPrefix(out, x.SHA256+" ") {
				t.Errorf("%s decrypts to sha256 %s, the ledger says %s", x.Path, out, x.SHA256)
			}
			// The store's own key (the DPO's) cannot open what went to
			// the receiver.
			if err := exec.Command("age", "-d", "-i", f.DPOFile, "-o", os.DevNull, filepath.Join(dir, x.Path)).Run(); err == nil {
				t.Errorf("%s opens with a key that is not the receiver's", x.Path)
			}
		}
		if n != 2 {
			t.Fatalf("%d originals", n)
		}
	})

	t.Run("report-instructions-work", func(t *testing.T) {
		for form, b := range bags {
			runReportCommands(t, f, form, b)
		}
	})

	t.Run("report-html", func(t *testing.T) {
		checkReportHTML(t, dir, res)
	})
}

// runReportCommands runs, in the bundle root, every standard-tool command
// report.txt gives, with the receiver's real key paths in place of the
// placeholders, and checks what the report says each must print.
func runReportCommands(t *testing.T, f *bundletest.Fixture, form, root string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, bundle.ReportText))
	if err != nil {
		t.Fatal(err)
	}
	_, how, ok := strings.Cut(string(text), "HOW TO VERIFY THIS BUNDLE")
	if !ok {
		t.Fatal("report.txt has no verification section")
	}
	var script []string
	var wants []string
	for _, line := range strings.Split(how, "\n") {
		c, ok := strings.CutPrefix(line, "     ")
		if !ok || strings.HasPrefix(c, " ") {
			continue
		}
		switch {
		case strings.HasPrefix(c, "custody "), strings.HasPrefix(c, "cp "), strings.HasPrefix(c, "unzip "), strings.HasPrefix(c, "cd "):
			continue // custody itself is tested elsewhere; we are already in the root
		}
		c = strings.ReplaceAll(c, "/path/to/station.pub", f.StationPub)
		c = strings.ReplaceAll(c, "/path/to/your-key", f.ReceiverFile)
		if _, want, ok := strings.Cut(c, "# must print "); ok {
			wants = append(wants, strings.TrimSpace(want))
		}
		script = append(script, c)
	}
	if len(script) < 10 {
		t.Fatalf("%s: only %d commands in the report: %q", form, len(script), script)
	}
	out := sh(t, root, "set -eo pipefail\n"+strings.Join(script, "\n"))
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %s", form, w)
		}
	}
	good := regexp.MustCompile(`Good "custody-[a-z-]+-v1" signature for station`).FindAllString(out, -1)
	lines := strings.Count(string(mustRead(t, filepath.Join(root, bundle.LedgerFile))), "\n")
	if len(good) != lines+2 { // every entry, the statement, the checkpoint
		t.Errorf("%s: %d good signatures, want %d:\n%s", form, len(good), lines+2, out)
	}
	if strings.Contains(out, "FAILED") {
		t.Errorf("%s: a check failed:\n%s", form, out)
	}
	m := regexp.MustCompile(`(?m)^(\d+)\nfiles (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no file count in:\n%s", form, out)
	}
	found, _ := strconv.Atoi(m[1])
	listed, _ := strconv.Atoi(m[2])
	if found != listed+3 {
		t.Errorf("%s: %d files, the statement lists %d (+3 expected)", form, found, listed)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// node is a parsed XHTML element.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) text() string {
	s := n.Text
	for i := range n.Nodes {
		s += " " + n.Nodes[i].text()
	}
	return s
}

func (n *node) find(pred func(*node) bool) []*node {
	var out []*node
	if pred(n) {
		out = append(out, n)
	}
	for i := range n.Nodes {
		out = append(out, n.Nodes[i].find(pred)...)
	}
	return out
}

func parseHTML(t *testing.T, data []byte) *node {
	t.Helper()
	var root node
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("report.html is not well-formed: %v", err)
	}
	if scripts := root.find(func(n *node) bool { return n.XMLName.Local == "script" || n.attr("src") != "" }); len(scripts) > 0 {
		t.Fatalf("report.html has scripts or external resources: %v", scripts[0].XMLName)
	}
	return &root
}

// checkReportHTML parses report.html and finds, in its tables, every
// exhibit with the SHA-256 of the file actually in the bundle, and each
// clip's timeline: import, the access with its reason, the redaction, the
// export itself.
func checkReportHTML(t *testing.T, dir string, res *bundle.Result) {
	t.Helper()
	root := parseHTML(t, mustRead(t, filepath.Join(dir, bundle.ReportHTML)))
	rows := root.find(func(n *node) bool { return n.XMLName.Local == "tr" && n.attr("class") == "exhibit" })
	if len(rows) != len(res.Exhibits) {
		t.Fatalf("%d exhibit rows, want %d", len(rows), len(res.Exhibits))
	}
	for i, x := range res.Exhibits {
		out := sh(t, dir, "sha256sum "+x.Path)
		sum := strings.Fields(out)[0]
		txt := rows[i].text()
		if !strings.Contains(txt, x.Exhibit) || !strings.Contains(txt, x.Path) || !strings.Contains(txt, sum) {
			t.Errorf("exhibit row %d %q lacks %s, %s or %s", i, txt, x.Exhibit, x.Path, sum)
		}
	}
	timelines := root.find(func(n *node) bool { return n.XMLName.Local == "table" && n.attr("class") == "timeline" })
	if len(timelines) != 4 { // two originals, two redacted versions
		t.Fatalf("%d timelines", len(timelines))
	}
	all := ""
	for _, tl := range timelines {
		all += tl.text()
	}
	for _, want := range []string{"imported clip0.mp4", "opened by operator: review for incident INC-2026-0042", "redacted by operator as clip",
		"made from clip", "exported as exhibit JD/1 (redacted)", "in bundle NPT-2026-1142 for incident INC-2026-0042"} {
		if !strings.Contains(all, want) {
			t.Errorf("timelines lack %q", want)
		}
	}
	red := root.find(func(n *node) bool { return n.attr("class") == "edit" })
	if len(red) < 2 || !strings.Contains(red[0].text(), "reason: patient's face reflected in a window") {
		t.Errorf("redaction edits with reasons missing: %d", len(red))
	}
}

// TestReportEscapes: text from the ledger (notes, reasons, the incident)
// cannot inject markup into the HTML report or escapes into the text one.
func TestReportEscapes(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 0)
	src := filepath.Join(f.Dir, "x.mp4")
	bundletest.MakeClip(t, src, 1, 700)
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)> & ]]> ` + "\x1b[31m"
	c, err := f.Store.Import(t.Context(), src, store.ImportOptions{Note: hostile, Wearer: "<b>Nurse</b>"})
	if err != nil {
		t.Fatal(err)
	}
	red := filepath.Join(f.Dir, "x.red.mp4")
	bundletest.Blur(t, src, red)
	f.Register(t, c.ID, red)
	o := f.ExportOptions(filepath.Join(f.Dir, "out"), c.ID)
	o.Incident = `INC <1> & "2"`
	if _, err := bundle.Export(t.Context(), f.Store, o); err != nil {
		t.Fatal(err)
	}
	html := mustRead(t, filepath.Join(f.Dir, "out", bundle.ReportHTML))
	root := parseHTML(t, html)
	if !strings.Contains(root.text(), `<script>alert("x")</script>`) || !strings.Contains(root.text(), `INC <1> & "2"`) {
		t.Error("the hostile note is not shown as text")
	}
	if bytes.Contains(html, []byte("<script>")) || bytes.Contains(html, []byte("<b>Nurse")) || bytes.Contains(html, []byte("\x1b")) {
		t.Error("report.html contains unescaped markup or control characters")
	}
	if txt := mustRead(t, filepath.Join(f.Dir, "out", bundle.ReportText)); bytes.Contains(txt, []byte("\x1b")) {
		t.Error("report.txt contains a terminal escape")
	}
}
