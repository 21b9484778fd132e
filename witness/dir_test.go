package witness_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/witness"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"
)

const origin = "custody/store/00112233445566778899aabbccddeeff"

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func signer(t testing.TB, name string) seal.Signer {
	seed := sha256.Sum256([]byte("witness test key: " + name))
	s, err := seal.NewEd25519Signer(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ledger writes n entries (a genesis and n-1 notes) signed by station.
func ledger(t testing.TB, station seal.Signer, n int, salt string) *manifest.Ledger {
	t.Helper()
	l, _, _ := manifest.Parse(bytes.NewReader(nil))
	g, _ := json.Marshal(manifest.GenesisPayload{Store: "00112233445566778899aabbccddeeff", StationKey: seal.AuthorizedKey(station.PublicKey())})
	add := func(action string, p []byte, i int) {
		rec, err := l.Next(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: action, Payload: p}, t0.Add(time.Duration(i)*time.Minute), station)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	add("genesis", g, 0)
	for i := 1; i < n; i++ {
		add("note", []byte(`{"n":"`+salt+`"}`), i)
	}
	return l
}

func checkpoint(t testing.TB, l *manifest.Ledger, size uint64, s seal.Signer, at time.Time) *witness.Published {
	t.Helper()
	c, err := manifest.NewCheckpoint(l, origin, size, at, s)
	if err != nil {
		t.Fatal(err)
	}
	return &witness.Published{Checkpoint: c, File: c.Marshal()}
}

func judgments(st *witness.Status) map[uint64]witness.Judgment {
	m := map[uint64]witness.Judgment{}
	for _, h := range st.Held {
		m[h.Size] = h.Judgment
	}
	return m
}

func TestDirWitness(t *testing.T) {
	ctx := context.Background()
	station := signer(t, "station")
	loc := t.TempDir()
	w, err := witness.New(witness.Spec{Name: "nas", Kind: witness.KindDir, Location: loc}, "")
	if err != nil {
		t.Fatal(err)
	}
	long := ledger(t, station, 6, "a")
	log := &witness.Log{Ledger: long, Origin: origin, Signers: []ssh.PublicKey{station.PublicKey()}}
	if st := w.Check(ctx, log, true); st.Err != nil || st.Size != 0 || len(st.Held) != 0 {
		t.Fatalf("empty witness: %+v", st)
	}
	for _, size := range []uint64{1, 3, 6} {
		if err := w.Publish(ctx, log, checkpoint(t, long, size, station, t0.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	// Publishing the same checkpoint again is harmless.
	if err := w.Publish(ctx, log, checkpoint(t, long, 6, station, t0.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if st := w.Check(ctx, log, true); st.Size != 6 || len(st.Bad()) != 0 || len(st.Held) != 3 {
		t.Fatalf("agreeing witness: %+v", st)
	}

	// The store is rolled back to 4 entries: the witness's 6 is ahead.
	short := ledger(t, station, 4, "a")
	log.Ledger = short
	st := w.Check(ctx, log, false)
	if j := judgments(st); j[6] != witness.Ahead || len(st.Held) != 1 {
		t.Fatalf("quick check of a rolled-back ledger: %+v", st)
	}
	// A rewritten ledger of the same length forks from it.
	log.Ledger = ledger(t, station, 6, "b")
	st = w.Check(ctx, log, true)
	if j := judgments(st); j[6] != witness.Fork || j[3] != witness.Fork || j[1] != witness.Agrees || st.Size != 1 {
		t.Fatalf("forked ledger: %v", judgments(st))
	}
	// A recorded loss accounts for what the witness held before it.
	log.Losses = []witness.Loss{{Seq: 6, Kept: 1, At: t0.Add(90 * time.Minute)}}
	if st = w.Check(ctx, log, true); len(st.Bad()) != 0 || judgments(st)[6] != witness.AccountedFor {
		t.Fatalf("after the loss: %v", judgments(st))
	}
	log.Losses = nil

	// Files not signed by a store key, for another store, misnamed or not
	// regular are ignored, even with huge sizes: nobody without a store
	// key can block the store.
	mallory := signer(t, "mallory")
	big := ledger(t, mallory, 9, "m")
	forged := checkpoint(t, big, 9, mallory, t0)
	// Planted beside the store's own files, and in the folder of its own
	// that earlier versions wrote, which is still read.
	name := func(c *manifest.Checkpoint) string {
		return filepath.Join(loc, "custody-store-00112233445566778899aabbccddeeff."+witness.FileName(c))
	}
	legacy := filepath.Join(loc, "custody-store-00112233445566778899aabbccddeeff")
	os.Mkdir(legacy, 0o755)
	os.WriteFile(filepath.Join(legacy, witness.FileName(forged.Checkpoint)), forged.File, 0o444)
	real := checkpoint(t, long, 5, station, t0)
	os.WriteFile(name(&manifest.Checkpoint{Size: 8, Root: real.Checkpoint.Root}), real.File, 0o444)
	os.Symlink(name(real.Checkpoint), name(&manifest.Checkpoint{Size: 7, Root: real.Checkpoint.Root}))
	log.Ledger = long
	st = w.Check(ctx, log, false)
	if j := judgments(st); j[9] != witness.Untrusted || j[8] != witness.Untrusted || j[7] != witness.Untrusted || j[6] != witness.Agrees || len(st.Bad()) != 0 {
		t.Fatalf("planted files: %v", judgments(st))
	}

	// An unmounted witness is an error, not an empty witness.
	gone, _ := witness.New(witness.Spec{Name: "gone", Kind: witness.KindDir, Location: filepath.Join(loc, "absent")}, "")
	if st := gone.Check(ctx, log, true); st.Err == nil {
		t.Fatal("a missing witness directory read as empty")
	}
	if err := gone.Publish(ctx, log, checkpoint(t, long, 6, station, t0)); err == nil {
		t.Fatal("published into a missing witness directory")
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		spec witness.Spec
		ok   bool
	}{
		{witness.Spec{Name: "nas", Kind: "dir", Location: "/mnt/nas"}, true},
		{witness.Spec{Name: "nas", Kind: "dir", Location: "mnt/nas"}, false},
		{witness.Spec{Name: "nas", Kind: "dir", Location: "/mnt/../nas"}, false},
		{witness.Spec{Name: "nas", Kind: "dir", Location: "/mnt/nas", Key: "k"}, false},
		{witness.Spec{Name: "-nas", Kind: "dir", Location: "/mnt/nas"}, false},
		{witness.Spec{Name: "nas", Kind: "ftp", Location: "/mnt/nas"}, false},
	} {
		if err := tc.spec.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.spec, err)
		}
	}
}

// TestTlogSpecTransport: a tlog witness on another host is reached over
// https: a 409's size is unsigned, and over plain http anyone on the path
// could freeze the store with one, or hide a rollback.
func TestTlogSpecTransport(t *testing.T) {
	_, vkey, err := note.GenerateKey(rand.Reader, "witness.test/w")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := tnote.VKeyToCosignatureV1(vkey)
	for loc, ok := range map[string]bool{
		"https://witness.trust.example/": true,
		"http://127.0.0.1:8470":          true,
		"http://[::1]:8470/w":            true,
		"http://localhost:8470":          true,
		"http://witness.trust.example/":  false,
		"http://10.1.2.3:8470":           false,
	} {
		err := witness.Spec{Name: "w", Kind: witness.KindTlog, Location: loc, Key: key}.Validate()
		if (err == nil) != ok {
			t.Errorf("%s: %v", loc, err)
		}
	}
}
