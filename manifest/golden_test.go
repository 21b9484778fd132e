package manifest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLedger writes a small ledger with fixed keys and a pinned clock.
// Ed25519 signatures are deterministic, so the bytes are too: any change
// to the line format, the signing or the hashing shows up as a diff.
func goldenLedger(t *testing.T) ([]byte, []byte) {
	t.Helper()
	station := fixedSigner(t, "golden station")
	alice := fixedSigner(t, "golden alice")
	b := newBuilder(t, station)
	b.now = time.Date(2026, 5, 4, 8, 30, 0, 0, time.UTC)
	b.addUser("alice", alice, "user.add")
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "j.smith"}, Action: "import", Clip: "3f5a9c0d12ab",
		Payload: json.RawMessage(`{"object":{"id":"3f5a9c0d12ab","path":"objects/3f5a9c0d12ab.age","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":4},"filename":"BWC0042_0001.mp4","recorded_at":"2026-05-04T07:58:12Z","recorded_at_source":"container","device":"BWC-0042"}`)})
	b.now = b.now.Add(1500 * time.Millisecond) // sub-second times keep their digits
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "alice"}, Action: "access", Clip: "3f5a9c0d12ab",
		Payload: json.RawMessage(`{"reason":"SAR 2026/114 \"urgent\" <review> & redact","identity":"dpo.key"}`)}, alice, station)
	c, err := manifest.NewCheckpoint(b.l, "custody/store/0123456789abcdef0123456789abcdef", b.l.Len(), b.now, station)
	if err != nil {
		t.Fatal(err)
	}
	return b.buf.Bytes(), c.Marshal()
}

func TestGolden(t *testing.T) {
	ledger, checkpoint := goldenLedger(t)
	files := map[string][]byte{
		filepath.Join("testdata", "ledger.golden.jsonl"): ledger,
		filepath.Join("testdata", "checkpoint.golden"):   checkpoint,
	}
	for path, got := range files {
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the written format:\n got: %s\nwant: %s", path, got, want)
		}
	}

	// The golden files are a valid ledger and checkpoint in their own
	// right, whatever the code above produces.
	want, _ := os.ReadFile(filepath.Join("testdata", "ledger.golden.jsonl"))
	l := parse(t, want)
	if _, issues := l.Check(); len(issues) != 0 {
		t.Fatalf("golden ledger has issues:%s", describe(issues))
	}
	cp, _ := os.ReadFile(filepath.Join("testdata", "checkpoint.golden"))
	c, pub, err := manifest.ParseCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := l.Tree().Root(l.Len())
	if c.Size != l.Len() || !bytes.Equal(c.Root, root) || seal.Fingerprint(pub) != l.Records[0].Sigs[0].Key {
		t.Fatal("golden checkpoint does not commit to the golden ledger")
	}
	// The documented line shape, spelled out.
	shape := regexp.MustCompile(`^\{"entry":\{"v":1,"seq":\d+,"time":"[0-9T:.\-]+Z","actor":\{"name":"[^"]*","key":"SHA256:[A-Za-z0-9+/]{43}"\},"action":"[a-z.]+",("clip":"[0-9a-f]+",)?("payload":\{.*\},)?"prev":"[0-9a-f]{64}"\},"sigs":\[(\{"key":"SHA256:[A-Za-z0-9+/]{43}","sshsig":"[A-Za-z0-9+/=]+"\},?)+\]\}$`)
	for i, line := range lines(want) {
		if !shape.Match(line) {
			t.Errorf("golden line %d does not have the documented shape: %s", i+1, line)
		}
	}
}
