package seal_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"

	"github.com/custody-evidence/custody/seal"
)

const testWorkFactor = 10 // scrypt 2^10: fast for tests

func TestStationKey(t *testing.T) {
	var buf bytes.Buffer
	pass := []byte("station passphrase")
	s, err := seal.NewStationKey(&buf, pass, "custody-station test", testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicKey().Type() != "ssh-ed25519" {
		t.Fatalf("station key type %s", s.PublicKey().Type())
	}
	file := buf.Bytes()
	if !bytes.HasPrefix(file, []byte("age-encryption.org/v1\n-> scrypt ")) {
		t.Fatalf("not an age scrypt file: %.60q", file)
	}
	if bytes.Contains(file, []byte("PRIVATE KEY")) {
		t.Fatal("the private key is stored in the clear")
	}

	loaded, err := seal.LoadStationKey(bytes.NewReader(file), pass)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.PublicKey().Marshal(), s.PublicKey().Marshal()) {
		t.Fatal("loaded a different key")
	}
	blob, err := loaded.Sign(ns, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.VerifySignature(blob, ns, []byte("m")); err != nil {
		t.Fatal(err)
	}

	for _, wrong := range [][]byte{[]byte("station passphrasE"), []byte("x"), pass[:len(pass)-1]} {
		if _, err := seal.LoadStationKey(bytes.NewReader(file), wrong); !errors.Is(err, seal.ErrWrongPassphrase) {
			t.Errorf("passphrase %q: %v, want ErrWrongPassphrase", wrong, err)
		}
	}
	// Damage is not reported as a wrong passphrase.
	for name, data := range map[string][]byte{
		"garbage":   []byte("not an age file"),
		"truncated": file[:len(file)-20],
	} {
		if _, err := seal.LoadStationKey(bytes.NewReader(data), pass); err == nil || errors.Is(err, seal.ErrWrongPassphrase) {
			t.Errorf("%s: %v, want an error other than ErrWrongPassphrase", name, err)
		}
	}
	if _, err := seal.NewStationKey(&bytes.Buffer{}, nil, "", testWorkFactor); err == nil {
		t.Error("NewStationKey accepted an empty passphrase")
	}
	// Two keys are different keys.
	s2, err := seal.NewStationKey(&bytes.Buffer{}, pass, "", testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s2.PublicKey().Marshal(), s.PublicKey().Marshal()) {
		t.Fatal("two station keys are the same")
	}
}

// The station key file is a standard age passphrase file holding an
// OpenSSH key: stock `age -d` decrypts it (age reads the passphrase from the
// terminal, so it runs under script(1) to give it one) and ssh-keygen reads
// the result.
func TestStationKeyOpensWithStockTools(t *testing.T) {
	dir := t.TempDir()
	script := filepathOrSkip(t, "script")
	pass := "open sesame 42"
	var buf bytes.Buffer
	s, err := seal.NewStationKey(&buf, []byte(pass), "custody-station interop", testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	keyAge := filepath.Join(dir, "station.key.age")
	os.WriteFile(keyAge, buf.Bytes(), 0o600)
	age := filepathOrSkip(t, "age")

	decrypt := func(pw, out string) error {
		_, err := runErr(dir, []byte(pw+"\n"), script, "-qec", age+" -d -o "+out+" "+keyAge, "/dev/null")
		return err
	}
	if err := decrypt("wrong", filepath.Join(dir, "bad")); err == nil {
		t.Fatal("stock age decrypted the station key with the wrong passphrase")
	}
	key := filepath.Join(dir, "station.key")
	if err := decrypt(pass, key); err != nil {
		t.Fatalf("stock age -d: %v", err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(run(t, dir, nil, "ssh-keygen", "-y", "-f", key)))
	if !strings.HasPrefix(pub, seal.AuthorizedKey(s.PublicKey())) {
		t.Fatalf("ssh-keygen -y gives %q, want %q", pub, seal.AuthorizedKey(s.PublicKey()))
	}
}

func filepathOrSkip(t *testing.T, name string) string {
	t.Helper()
	if name == "script" {
		// util-linux script(1) is how this test gives age a terminal; it is
		// part of every Debian system, so its absence is worth a skip, not
		// a failure.
		p, err := exec.LookPath("script")
		if err != nil {
			t.Skip("script(1) not available to drive age's passphrase prompt")
		}
		return p
	}
	return testenv.Tool(t, name)
}
