package detect

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/custody-evidence/custody/internal/testenv"
)

// The built-in table must match the hashes published with the shared
// models (../shared/SHA256SUMS) and the files themselves.
func TestKnownModelsMatchShared(t *testing.T) {
	sums := map[string]string{}
	f, err := os.Open(testenv.Shared(t, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 {
			sums[filepath.ToSlash(fields[1])] = fields[0]
		}
	}
	for _, k := range KnownModels {
		rel := "models/" + k.Dir + "/" + k.File
		if sums[rel] != k.SHA256 {
			t.Errorf("%s: table sha256 %s, SHA256SUMS %s", k.Name, k.SHA256, sums[rel])
		}
		p := testenv.Shared(t, rel)
		m, err := CheckModelFile(p)
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if m.Name != k.Name || m.SHA256 != k.SHA256 {
			t.Errorf("CheckModelFile(%s) = %+v, want %s", p, m, k.Name)
		}
		if st, _ := os.Stat(p); st.Size() != k.Size {
			t.Errorf("%s: size %d, table says %d", k.Name, st.Size(), k.Size)
		}
	}
}

func TestModelsDir(t *testing.T) {
	tmp := t.TempDir()
	userData := filepath.Join(tmp, "user")
	sysData := filepath.Join(tmp, "sys")
	if err := os.MkdirAll(filepath.Join(sysData, "custody", "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_DATA_HOME", userData)
	t.Setenv("XDG_DATA_DIRS", filepath.Join(tmp, "none")+":"+sysData)

	// The flag, then $CUSTODY_MODELS, override the models built in.
	withEmbedded(t, sharedEmbedded(t, ModelYuNet))
	t.Setenv("CUSTODY_MODELS", "/env/models")
	if dir, searched := ModelsDir("/flag/models"); dir != "/flag/models" || len(searched) != 1 {
		t.Errorf("flag: got %s %v, want the flag alone", dir, searched)
	}
	if dir, searched := ModelsDir(""); dir != "/env/models" || len(searched) != 1 {
		t.Errorf("env: got %s %v, want $CUSTODY_MODELS alone", dir, searched)
	}
	t.Setenv("CUSTODY_MODELS", "")
	// Then the built-in set, before any installed directory.
	if dir, searched := ModelsDir(""); dir != "" || searched != nil {
		t.Errorf("built in: got %q %v, want the built-in set (\"\")", dir, searched)
	}

	// A binary without built-in models looks in the data directories.
	withEmbedded(t, nil)
	wantSearched := []string{
		filepath.Join(userData, "custody", "models"),
		filepath.Join(tmp, "none", "custody", "models"),
		filepath.Join(sysData, "custody", "models"),
	}
	dir, searched := ModelsDir("")
	if dir != wantSearched[2] {
		t.Errorf("default: got %s, want the first existing, %s", dir, wantSearched[2])
	}
	if strings.Join(searched, ":") != strings.Join(wantSearched, ":") {
		t.Errorf("searched %v, want %v", searched, wantSearched)
	}
	if err := os.MkdirAll(wantSearched[0], 0o755); err != nil {
		t.Fatal(err)
	}
	if dir, _ := ModelsDir(""); dir != wantSearched[0] {
		t.Errorf("user directory present: got %s, want %s", dir, wantSearched[0])
	}
	if err := os.RemoveAll(userData); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(sysData); err != nil {
		t.Fatal(err)
	}
	if dir, _ := ModelsDir(""); dir != wantSearched[0] {
		t.Errorf("nothing present: got %s, want the user directory %s", dir, wantSearched[0])
	}
}

// withEmbedded makes files this test's built-in set.
func withEmbedded(t *testing.T, files map[string]string) {
	t.Helper()
	old := embeddedFiles
	embeddedFiles = files
	t.Cleanup(func() { embeddedFiles = old })
}

// sharedEmbedded reads the named shared models, and their licences, into
// a set shaped like the built-in one.
func sharedEmbedded(t *testing.T, names ...string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, n := range names {
		k, ok := knownModel(n)
		if !ok {
			t.Fatalf("unknown model %s", n)
		}
		for _, rel := range []string{k.embeddedPath(), k.LicenseFile} {
			if rel == "" {
				continue
			}
			data, err := os.ReadFile(testenv.Shared(t, "models/"+rel))
			if err != nil {
				t.Fatal(err)
			}
			files[rel] = string(data)
		}
	}
	return files
}

// The built-in set is read in place, checked like a file, and named as
// built in; a stale one is refused, and an absent one says how to build.
func TestLoadEmbedded(t *testing.T) {
	files := sharedEmbedded(t, ModelYuNet)
	withEmbedded(t, files)
	data, m, err := LoadModel("", ModelYuNet)
	if err != nil {
		t.Fatal(err)
	}
	rel := "yunet/face_detection_yunet_2022mar.onnx"
	want := Model{Name: ModelYuNet, Path: EmbeddedPrefix + rel, SHA256: KnownModels[0].SHA256, Source: SourceEmbedded}
	if m != want {
		t.Errorf("model %+v, want %+v", m, want)
	}
	if len(data) != 345478 || &data[0] != unsafe.StringData(files[rel]) {
		t.Errorf("got %d bytes at %p, want the built-in data itself (%p), not a copy", len(data), &data[0], unsafe.StringData(files[rel]))
	}

	// Not built in: the error names the model and --models.
	_, _, err = LoadModel("", ModelPPOCRDet)
	if !errors.Is(err, ErrModelMissing) {
		t.Fatalf("model not built in: %v, want ErrModelMissing", err)
	}
	for _, want := range []string{ModelPPOCRDet, "not built into this custody", "--models", "en_PP-OCRv3_det_infer_opencv46.onnx"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}

	// Stale (another release under the name): refused, rebuild.
	withEmbedded(t, map[string]string{rel: files[rel][:1000]})
	_, _, err = LoadModel("", ModelYuNet)
	if !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("stale built-in model: %v, want ErrUnknownModel", err)
	}
	for _, want := range []string{EmbeddedPrefix + rel, "50ef07f702a31741", "rebuild it with make"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}

	// None built in (go build alone): say how to build it.
	withEmbedded(t, nil)
	_, _, err = LoadModel("", ModelYuNet)
	if !errors.Is(err, ErrModelMissing) {
		t.Fatalf("no built-in models: %v, want ErrModelMissing", err)
	}
	for _, want := range []string{"built without its models", "make build", "--models"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
	if HasEmbedded() || len(Embedded()) == 0 || Embedded()[0].Present {
		t.Errorf("HasEmbedded %v, Embedded %+v", HasEmbedded(), Embedded())
	}
}

// Every model built in carries its licence and origin, for `custody
// version --licenses`. (That the defaults use only built-in models is
// TestDefaultsAreBuiltIn.)
func TestEmbedTable(t *testing.T) {
	for _, k := range KnownModels {
		if !k.Embed {
			continue
		}
		if k.LicenseFile == "" || k.License == "" || k.Origin == "" {
			t.Errorf("%s is built in without its licence and origin: %+v", k.Name, k)
		}
		if _, err := os.Stat(testenv.Shared(t, "models/"+k.LicenseFile)); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
	}
}

// modelsDirWith builds a models directory holding links to the named
// shared models (flat layout), so tests can remove some of them.
func modelsDirWith(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		k, ok := knownModel(n)
		if !ok {
			t.Fatalf("unknown model %s", n)
		}
		src := testenv.Shared(t, "models/"+k.Dir+"/"+k.File)
		if err := os.Symlink(src, filepath.Join(dir, k.File)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadModel(t *testing.T) {
	// Flat layout and the shared tree's subdirectory layout both work.
	flat := modelsDirWith(t, ModelYuNet)
	shared := filepath.Dir(filepath.Dir(testenv.Shared(t, "models/yunet/face_detection_yunet_2022mar.onnx")))
	for _, dir := range []string{flat, shared} {
		data, m, err := LoadModel(dir, ModelYuNet)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(data) != 345478 || m.Name != ModelYuNet || m.SHA256 != KnownModels[0].SHA256 || m.Path == "" || m.Source != SourceDirectory {
			t.Errorf("%s: got %d bytes, %+v", dir, len(data), m)
		}
	}

	// Missing: the error names the directory and the file to put there.
	empty := t.TempDir()
	_, _, err := LoadModel(empty, ModelUltraFace)
	if !errors.Is(err, ErrModelMissing) {
		t.Fatalf("missing model: %v, want ErrModelMissing", err)
	}
	for _, want := range []string{empty, "version-RFB-320_simplified.onnx", "--models"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing-model message %q does not mention %q", err, want)
		}
	}

	// Corrupt (truncated) and foreign files under a known name are refused
	// with the path, the model expected and what to do.
	orig, err := os.ReadFile(testenv.Shared(t, "models/yunet/face_detection_yunet_2022mar.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"truncated": orig[:len(orig)/2],
		"foreign":   []byte("this is not an ONNX model"),
		"empty":     nil,
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, "face_detection_yunet_2022mar.onnx")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadModel(dir, ModelYuNet)
		if !errors.Is(err, ErrUnknownModel) {
			t.Errorf("%s: %v, want ErrUnknownModel", name, err)
			continue
		}
		for _, want := range []string{p, ModelYuNet, "50ef07f702a31741", "replace it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message %q does not mention %q", name, err, want)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: message is not one line: %q", name, err)
		}
	}

	// Unreadable: a directory where the file should be.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "face_detection_yunet_2022mar.onnx"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadModel(dir, ModelYuNet)
	var me *ModelError
	if !errors.As(err, &me) || me.Path == "" || errors.Is(err, ErrModelMissing) || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("unreadable model: %v", err)
	}

	if _, err := FindModel(dir, "no-such-model"); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown model name: %v, want ErrConfig", err)
	}
}

func TestCheckModelFileUnknown(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mystery.onnx")
	if err := os.WriteFile(p, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckModelFile(p); !errors.Is(err, ErrUnknownModel) || !strings.Contains(err.Error(), p) {
		t.Errorf("unknown file: %v", err)
	}
	if _, err := CheckModelFile(filepath.Join(t.TempDir(), "absent.onnx")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent file: %v, want fs.ErrNotExist", err)
	}
}

func TestInventory(t *testing.T) {
	dir := modelsDirWith(t, ModelYuNet, ModelSSD)
	inv := Inventory(dir)
	if len(inv) != len(KnownModels) {
		t.Fatalf("%d entries, want %d", len(inv), len(KnownModels))
	}
	for _, st := range inv {
		present := st.Name == ModelYuNet || st.Name == ModelSSD
		if present != (st.Err == nil) {
			t.Errorf("%s: err %v, present %v", st.Name, st.Err, present)
		}
		if !present && !errors.Is(st.Err, ErrModelMissing) {
			t.Errorf("%s: %v, want ErrModelMissing", st.Name, st.Err)
		}
	}
}
