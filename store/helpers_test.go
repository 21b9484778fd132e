package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

const (
	testPass       = "correct horse battery staple"
	testWorkFactor = 10 // scrypt 2^10: fast for tests
)

// newStore creates a store in a fresh directory, sealed to a new X25519
// identity which it returns.
func newStore(t *testing.T) (*store.Store, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Init(context.Background(), filepath.Join(t.TempDir(), "store"), store.InitOptions{
		Recipients: []string{id.Recipient().String()}, Passphrase: []byte(testPass), WorkFactor: testWorkFactor, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}

// reopen opens the store as a separate process would: its own handle, its
// own lock file descriptor, the key unlocked with the passphrase.
func reopen(t *testing.T, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	s.Actor = "tester"
	return s
}

// ffmpeg runs ffmpeg quietly, failing the test on error.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin := testenv.Tool(t, "ffmpeg")
	out, err := exec.Command(bin, append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// makeClip generates a real one-second H.264/AAC MP4; extra arguments go
// before the output name (for example -metadata creation_time=...).
func makeClip(t testing.TB, path string, extra ...string) string {
	t.Helper()
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"}
	ffmpeg(t, append(append(args, extra...), path)...)
	return path
}

// variant remuxes src with a distinguishing tag: a different file with the
// same streams, made without re-encoding.
func variant(t testing.TB, src, dst string, n int) string {
	t.Helper()
	ffmpeg(t, "-i", src, "-c", "copy", "-map_metadata", "-1", "-metadata", fmt.Sprintf("comment=variant %d", n), dst)
	return dst
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ledger reads and checks the store's ledger: it must parse without a torn
// tail and have no chain issues.
func ledger(t testing.TB, s *store.Store) *manifest.Ledger {
	t.Helper()
	l, torn, err := s.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	if torn != nil {
		t.Fatalf("ledger has a torn tail of %d bytes", len(torn.Bytes))
	}
	if _, issues := l.Check(); len(issues) != 0 {
		t.Fatalf("ledger issues: %+v", issues)
	}
	return l
}

func actions(l *manifest.Ledger) []string {
	var out []string
	for _, r := range l.Records {
		out = append(out, r.Entry.Action)
	}
	return out
}

// verified runs the verifier and fails the test unless the store verifies.
func verified(t testing.TB, dir string) *verify.Report {
	t.Helper()
	r, err := verify.Store(context.Background(), dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Verified {
		t.Fatalf("store does not verify: %+v", r.Problems)
	}
	return r
}

// snapshot lists a store's files and their hashes, to prove that a refused
// operation wrote nothing. The lock file is excluded: it is only a lock.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || rel == store.LockFile {
			lines = append(lines, rel+"/")
			return nil
		}
		lines = append(lines, rel+" "+fileSHA256(t, p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// flipByte flips one bit of the byte at off (negative: from the end).
func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	b := readFile(t, path)
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
