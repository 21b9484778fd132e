package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
)

// embedDir is an embedded package directory: doc.go, and a stale model a
// previous table embedded.
func embedDir(t *testing.T) string {
	t.Helper()
	to := t.TempDir()
	if err := os.WriteFile(filepath.Join(to, "doc.go"), []byte("package embedded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(to, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "old", "dropped.onnx"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// The models the table embeds are copied, byte for byte, with their
// licences; the Go file embeds exactly them; what the table no longer
// names is removed; a second run changes nothing.
func TestCopiesTheTablesModels(t *testing.T) {
	from := filepath.Dir(filepath.Dir(testenv.Shared(t, "models/yunet/LICENSE.txt")))
	to := embedDir(t)
	if err := run(from, to); err != nil {
		t.Fatal(err)
	}
	gen, err := os.ReadFile(filepath.Join(to, genFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range detect.KnownModels {
		for _, rel := range []string{k.Dir + "/" + k.File, k.LicenseFile} {
			if rel == "" {
				continue
			}
			got, err := os.ReadFile(filepath.Join(to, rel))
			if !k.Embed {
				if err == nil && rel != k.LicenseFile {
					t.Errorf("%s copied, but the table does not embed %s", rel, k.Name)
				}
				continue
			}
			want, _ := os.ReadFile(filepath.Join(from, rel))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: not copied intact (%v)", rel, err)
			}
			if !bytes.Contains(gen, []byte("//go:embed "+rel+"\n")) {
				t.Errorf("%s does not embed %s", genFile, rel)
			}
		}
	}
	if !bytes.HasPrefix(gen, []byte("// Code generated")) || !bytes.Contains(gen, []byte("//go:build cgo\n")) {
		t.Errorf("%s:\n%s", genFile, gen)
	}
	if _, err := os.Stat(filepath.Join(to, "old")); !os.IsNotExist(err) {
		t.Errorf("the stale model's directory is still there: %v", err)
	}
	st, _ := os.Stat(filepath.Join(to, genFile))
	if err := run(from, to); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(filepath.Join(to, genFile)); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("a second run rewrote %s", genFile)
	}
}

// A models directory whose file is not the table's is refused, naming
// it; so is a directory that is not the embedded package.
func TestRefusesUnknownFiles(t *testing.T) {
	from := t.TempDir()
	for _, k := range detect.KnownModels {
		if !k.Embed {
			continue
		}
		for _, rel := range []string{k.Dir + "/" + k.File, k.LicenseFile} {
			if err := os.MkdirAll(filepath.Join(from, k.Dir), 0o755); err != nil {
				t.Fatal(err)
			}
			src := testenv.Shared(t, "models/"+rel)
			if err := os.Symlink(src, filepath.Join(from, rel)); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
	}
	k := detect.KnownModels[0]
	bad := filepath.Join(from, k.Dir, k.File)
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(from, embedDir(t))
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), k.SHA256) {
		t.Errorf("corrupt source: %v, want it named with the sha256 wanted", err)
	}
	if err := run(from, t.TempDir()); err == nil || !strings.Contains(err.Error(), "doc.go") {
		t.Errorf("not the embedded package: %v", err)
	}
	if err := run(filepath.Join(from, "none"), embedDir(t)); err == nil || !strings.Contains(err.Error(), "SHARED") {
		t.Errorf("no models directory: %v", err)
	}
}
