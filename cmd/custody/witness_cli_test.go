package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/cmd/custody/internal/cli"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func runCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestWitnessKeygenAndServeFlags: the witness's key is written 0600 and
// never overwritten, its verifier key is a cosignature/v1 key, and serve
// refuses what it cannot run with, saying what to do.
func TestWitnessKeygenAndServeFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "w.key")
	out, errOut, code := runCLI("witness", "keygen", "--name", "witness.test/w1", "-o", key)
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	if _, err := tnote.NewVerifierForCosignatureV1(strings.TrimSpace(out)); err != nil || !strings.HasPrefix(out, "witness.test/w1+") {
		t.Fatalf("keygen printed %q: %v", out, err)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi.Mode(), err)
	}
	before, _ := os.ReadFile(key)
	if _, errOut, code := runCLI("witness", "keygen", "--name", "witness.test/w2", "-o", key); code == 0 || !strings.Contains(errOut, "never overwrites") {
		t.Fatalf("keygen over an existing key: %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("keygen replaced the key")
	}
	if _, errOut, code := runCLI("witness", "keygen", "--name", "has space", "-o", filepath.Join(dir, "x.key")); code != 2 || !strings.Contains(errOut, "--name") {
		t.Fatalf("bad name: %d %s", code, errOut)
	}

	_, logKey, err := note.GenerateKey(rand.Reader, "custody/store/00112233445566778899aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", key, "--state", state}, "no log to witness"},
		{[]string{"--key", key, "--state", state, "--log-key", "nonsense"}, "not a note verifier key"},
		{[]string{"--key", key, "--state", state, "--log-key", logKey, "--addr", "127.0.0.1:99999"}, "--addr"},
		{[]string{"--state", state, "--log-key", logKey}, "--key"},
	} {
		_, errOut, code := runCLI(append([]string{"witness", "serve"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: %d %s", tc.args, code, errOut)
		}
	}
	os.Chmod(key, 0o644)
	if _, errOut, code := runCLI("witness", "serve", "--key", key, "--state", state, "--log-key", logKey); code != 2 || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("serve with a readable key: %d %s", code, errOut)
	}
}
