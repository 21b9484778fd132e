package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
)

// TestVersionLicenses: `custody version` names the build, Go, OpenCV,
// ffmpeg and every model built in with the table's sha256; --licenses
// prints each built-in model's licence text, as in ../shared, and where
// the model comes from. The static build says it carries no models.
func TestVersionLicenses(t *testing.T) {
	c := newCLIRun(t)
	var v struct {
		Go, Build, OpenCV, FFmpeg string
		Models                    []struct {
			Name, File, SHA256, License, Origin string
			LicenseFile                         string `json:"license_file"`
			LicenseText                         string `json:"license_text"`
			Present                             bool
		}
	}
	if err := json.Unmarshal([]byte(c.ok("version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Go != runtime.Version() || !strings.HasPrefix(v.FFmpeg, "ffmpeg version ") {
		t.Errorf("version --json: go %q, ffmpeg %q", v.Go, v.FFmpeg)
	}
	text := c.ok("version")
	if !cgoEnabled {
		if v.Build != "static" || len(v.Models) != 0 || !strings.Contains(text, "models: none") {
			t.Errorf("static build: build %q, models %+v\n%s", v.Build, v.Models, text)
		}
		return
	}
	if v.Build != "full" || !strings.HasPrefix(v.OpenCV, "4.") || !strings.Contains(text, "OpenCV "+v.OpenCV) {
		t.Errorf("full build: build %q, OpenCV %q\n%s", v.Build, v.OpenCV, text)
	}
	if !c.builtInModels() {
		if os.Getenv("CUSTODY_TEST_BUILT_IN_MODELS") != "" {
			t.Fatal("this custody carries no models, and make test insists it does")
		}
		if !strings.Contains(text, "models built in: none") {
			t.Errorf("a build without models does not say so:\n%s", text)
		}
		t.Skip("built without models (make models first)")
	}
	licenses := c.ok("version", "--licenses")
	want := map[string]detect.KnownModel{}
	for _, k := range detect.KnownModels {
		if k.Embed {
			want[k.Name] = k
		}
	}
	if len(v.Models) != len(want) {
		t.Errorf("version lists %d models, the table embeds %d", len(v.Models), len(want))
	}
	for _, m := range v.Models {
		k := want[m.Name]
		if !m.Present || m.SHA256 != k.SHA256 || m.File != k.Dir+"/"+k.File || m.LicenseText != "" {
			t.Errorf("version --json lists %+v; the table says %s sha256 %s", m, k.Dir+"/"+k.File, k.SHA256)
		}
		if !strings.Contains(text, m.Name) || !strings.Contains(text, m.SHA256) {
			t.Errorf("version does not list %s with its sha256", m.Name)
		}
		lic, err := os.ReadFile(testenv.Shared(t, "models/"+k.LicenseFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{strings.TrimSpace(string(lic)), "== " + k.LicenseFile + " (" + k.License + ")", m.Name + " (" + m.File + "): from " + k.Origin} {
			if !strings.Contains(licenses, s) {
				t.Errorf("version --licenses does not print %q", firstLine(s))
			}
		}
	}
	var withText struct {
		Models []struct {
			LicenseText string `json:"license_text"`
		}
	}
	if err := json.Unmarshal([]byte(c.ok("version", "--licenses", "--json")), &withText); err != nil {
		t.Fatal(err)
	}
	for i, m := range withText.Models {
		if m.LicenseText == "" {
			t.Errorf("version --licenses --json: model %d has no licence text", i)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
