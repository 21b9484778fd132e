//go:build cgo

package detect

import (
	"os"
	"testing"
)

// TestBuiltInModels checks the set this test binary was built with: every
// model of the defaults, intact, and nothing else. make test insists on it
// (CUSTODY_TEST_BUILT_IN_MODELS); a plain go test without `make models`
// has none.
func TestBuiltInModels(t *testing.T) {
	if !HasEmbedded() {
		if os.Getenv("CUSTODY_TEST_BUILT_IN_MODELS") != "" {
			t.Fatal("this build carries no models: make runs `make models` first")
		}
		t.Skip("built without models (run `make models` first)")
	}
	for _, em := range Embedded() {
		if !em.Present || em.Err != nil || em.SHA256Got != em.SHA256 || em.LicenseText == "" {
			t.Errorf("%s: present %v, err %v, sha256 %s, licence %d bytes", em.Name, em.Present, em.Err, em.SHA256Got, len(em.LicenseText))
		}
	}
	for rel := range embeddedFiles {
		named := false
		for _, k := range KnownModels {
			named = named || (k.Embed && (rel == k.embeddedPath() || rel == k.LicenseFile))
		}
		if !named {
			t.Errorf("%s is built in, but the table does not embed it", rel)
		}
	}
}

// The default detectors run only models built in, and are not weaker
// than themselves; what adds to them (all text, rotated faces) is not
// weaker either. A model added to the defaults without being marked Embed
// fails here.
func TestDefaultsAreBuiltIn(t *testing.T) {
	for _, cfg := range []Config{{}, {Text: TextBadges}, {Text: TextAll, RotatedFaces: PassOn}} {
		cfg.ModelsDir = sharedModels(t)
		c, warnings, err := OpenComposite(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range c.Models() {
			if k, ok := knownModel(m.Name); !ok || !k.Embed {
				t.Errorf("%+v: the defaults use %s, which is not built in", cfg, m.Name)
			}
		}
		if w := c.Weaker(); len(w) != 0 || len(warnings) != 0 {
			t.Errorf("%+v: weaker %q, warnings %q", cfg, w, warnings)
		}
		c.Close()
	}
}
