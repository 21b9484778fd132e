package seal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
)

// randomBytes returns n reproducible pseudo-random bytes (incompressible,
// unlike zeros, so that every chunk differs).
func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'c', 'u', 's', 't'})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// run runs a program, failing the test with its output if it fails.
func run(t *testing.T, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(dir, stdin, testenv.Tool(t, name), args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, stdin []byte, bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

// ageKeygen makes an X25519 key with the stock age-keygen and returns the
// key file's path and its recipient.
func ageKeygen(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, name)
	run(t, dir, nil, "age-keygen", "-o", key)
	rec := strings.TrimSpace(string(run(t, dir, nil, "age-keygen", "-y", key)))
	if !strings.HasPrefix(rec, "age1") {
		t.Fatalf("age-keygen -y printed %q", rec)
	}
	return key, rec
}

// sshKeygen makes an SSH key with the stock ssh-keygen and returns the
// private key path and the public key line.
func sshKeygen(t *testing.T, dir, name string, args ...string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, name)
	run(t, dir, nil, "ssh-keygen", append([]string{"-q", "-f", key, "-C", name}, args...)...)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key, strings.TrimSpace(string(pub))
}

func x25519(t *testing.T) (*age.X25519Identity, age.Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, id.Recipient()
}
