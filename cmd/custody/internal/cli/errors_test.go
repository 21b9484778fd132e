package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/internal/atomicfile"
)

// TestMissingOutputFolder: an output in a folder that does not exist (or
// is a file) is one error line naming the folder, one hint saying what to
// do, and exit code 2 (could not run), however deep it is wrapped.
func TestMissingOutputFolder(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir        string
		wantErr    string
		wantHint   string
		wrapInOpen bool
	}{
		{"out", "folder %[1]s/out does not exist", "create the folder first (mkdir -p %[1]s/out), or choose an output path in an existing folder", false},
		{"out/deeper", "folder %[1]s/out/deeper does not exist", "create the folder first (mkdir -p %[1]s/out/deeper)", true},
		{"file", "folder %[1]s/file is not a folder", "%[1]s/file is a file: choose an output path in an existing folder", false},
	} {
		_, err := atomicfile.Create(filepath.Join(root, tc.dir), "x.mp4", 0o600)
		if err == nil {
			t.Fatalf("Create in %s succeeded", tc.dir)
		}
		if tc.wrapInOpen {
			err = fmt.Errorf("open clip: %w", err)
		}
		if code := exitCode(err); code != ExitUsage {
			t.Errorf("%s: exit code %d, want %d", tc.dir, code, ExitUsage)
		}
		var buf bytes.Buffer
		printError(&buf, err)
		lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != 2 {
			t.Fatalf("%s: printed %q, want an error line and a hint line", tc.dir, buf.String())
		}
		if want := fmt.Sprintf(tc.wantErr, root); !bytes.HasPrefix(lines[0], []byte("custody: error: ")) || !bytes.Contains(lines[0], []byte(want)) {
			t.Errorf("%s: error line %q, want it to say %q", tc.dir, lines[0], want)
		}
		if want := "custody: hint: " + fmt.Sprintf(tc.wantHint, root); !bytes.HasPrefix(lines[1], []byte(want)) {
			t.Errorf("%s: hint line %q, want %q", tc.dir, lines[1], want)
		}
	}
}
