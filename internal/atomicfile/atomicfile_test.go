package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "f")
}

func TestWriteNewRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pub")
	if err := WriteNew(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(p, []byte("two"), 0o644); !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteNew: %v, want ErrExists", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "one" {
		t.Fatalf("existing file changed to %q", got)
	}
	assertOnly(t, dir, "key.pub")
}

// TestMissingDir: every way of making an output says which folder is
// missing (or not a folder) with a NoDirError, and makes nothing.
func TestMissingDir(t *testing.T) {
	makers := map[string]func(dir, base string) error{
		"WriteFile": func(dir, base string) error { return WriteFile(filepath.Join(dir, base), nil, 0o600) },
		"WriteNew":  func(dir, base string) error { return WriteNew(filepath.Join(dir, base), nil, 0o600) },
		"Create": func(dir, base string) error {
			f, err := Create(dir, base, 0o600)
			if err == nil {
				f.Close()
			}
			return err
		},
		"Create-fallback": func(dir, base string) error {
			useTmpfile = false
			defer func() { useTmpfile = true }()
			f, err := Create(dir, base, 0o600)
			if err == nil {
				f.Close()
			}
			return err
		},
		"TempDir": func(dir, base string) error {
			d, err := TempDir(dir, base, 0o700)
			if err == nil {
				d.Remove()
			}
			return err
		},
	}
	for name, mk := range makers {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "file"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			dir    string
			notDir bool
		}{
			{"out", false},
			{filepath.Join("out", "deeper"), false},
			{"file", true},
			{filepath.Join("file", "sub"), false},
		} {
			dir := filepath.Join(root, tc.dir)
			err := mk(dir, "x.mp4")
			var nd *NoDirError
			if !errors.As(err, &nd) {
				t.Errorf("%s in %s: %v, want a NoDirError", name, tc.dir, err)
				continue
			}
			if nd.Dir != dir || nd.NotDir != tc.notDir || nd.Target != filepath.Join(dir, "x.mp4") {
				t.Errorf("%s in %s: %+v", name, tc.dir, *nd)
			}
			want := "cannot create " + filepath.Join(dir, "x.mp4") + ": folder " + dir + " does not exist"
			if tc.notDir {
				want = "cannot create " + filepath.Join(dir, "x.mp4") + ": folder " + dir + " is not a folder"
			}
			if err.Error() != want {
				t.Errorf("%s in %s: %q, want %q", name, tc.dir, err, want)
			}
			if errors.Is(err, fs.ErrNotExist) == tc.notDir {
				t.Errorf("%s in %s: errors.Is(err, fs.ErrNotExist) = %v", name, tc.dir, !tc.notDir)
			}
		}
		assertOnly(t, root, "file")
	}
}

// TestOtherErrorsPass: an error that is not about the folder is not
// dressed up as one (a read-only folder exists).
func TestOtherErrorsPass(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	_, err := Create(dir, "x.mp4", 0o600)
	var nd *NoDirError
	if err == nil || errors.As(err, &nd) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Create in a read-only folder: %v, want a permission error", err)
	}
}

// assertOnly checks no temporary file was left behind.
func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only %s", names, name)
	}
}
