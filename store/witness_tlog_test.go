package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"github.com/custody-evidence/custody/witness"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// TestTlogWitnessCatchesRollback: a store publishing to a real tlog
// witness (on loopback) is rolled back to an older copy of the whole
// store, its witnessed/ directory included. The witness still holds the
// newer checkpoint: the next write refuses and verify reports it.
func TestTlogWitnessCatchesRollback(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, "witness.test/trust")
	if err != nil {
		t.Fatal(err)
	}
	cvkey, _ := tnote.VKeyToCosignatureV1(vkey)
	logKey, err := manifest.NoteVerifierKey(s.Origin(), s.Signer().PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := witness.NewServer(witness.ServerConfig{Key: skey, LogKeys: []string{logKey}, State: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler(""))
	defer hs.Close()
	var warnings []error
	s.WitnessError = func(name string, err error) { warnings = append(warnings, err) }
	if err := s.AddWitness(ctx, nil, witness.Spec{Name: "trust", Kind: witness.KindTlog, Location: hs.URL, Key: cvkey}, "trust IT witness"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "a.mp4")), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old")
	copyDir(t, s.Dir, old)
	if _, err := s.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "b.mp4"), "-metadata", "title=b"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("witness warnings: %v", warnings)
	}
	if r := verified(t, s.Dir); len(r.Problems) != 0 {
		t.Fatal(r.Problems)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, store.WitnessDir)); err != nil {
		t.Fatal(err)
	}

	// The rollback: the whole store, witnessed/ included, as it was.
	if err := os.RemoveAll(s.Dir); err != nil {
		t.Fatal(err)
	}
	copyDir(t, old, s.Dir)
	r, err := verify.Store(ctx, s.Dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verified || !hasCode(r, "witness-rollback") {
		t.Fatalf("rolled-back store: verified %v, %+v", r.Verified, r.Problems)
	}
	s2 := reopen(t, s.Dir)
	before := snapshot(t, s.Dir)
	_, err = s2.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "c.mp4"), "-metadata", "title=c"), store.ImportOptions{})
	if !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("write over the rolled-back store: %v", err)
	}
	if after := snapshot(t, s.Dir); after != before {
		t.Fatal("the refused write changed the store")
	}

	// Recovery is explicit: a recorded loss accounts for what the witness
	// holds, writing goes on, and the witness, which never goes back,
	// says it takes nothing more from this store until it is reset.
	loss, err := s2.RecordLoss(ctx, nil, "rolled back by an intruder; no backup")
	if err != nil {
		t.Fatal(err)
	}
	if loss.Kept != 3 || len(loss.Lost) != 1 || loss.Lost[0].Size != 4 {
		t.Fatalf("loss %+v", loss)
	}
	warnings = nil
	s2.WitnessError = s.WitnessError
	if _, err := s2.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "c.mp4"), "-metadata", "title=c"), store.ImportOptions{}); err != nil {
		t.Fatalf("write after the recorded loss: %v", err)
	}
	if len(warnings) != 1 || !errors.Is(warnings[0], witness.ErrWitnessRefused) {
		t.Fatalf("witness warnings after the loss: %v", warnings)
	}
	if r := verified(t, s.Dir); len(r.Problems) != 0 {
		t.Fatal(r.Problems)
	}
}

func hasCode(r *verify.Report, code string) bool {
	for _, p := range r.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

// TestTlogWitnessBlindedStore: the review's attack on the tlog witness.
// The intruder rolls the store back and also empties witnessed/ (or puts
// a file in its place), then lets the ledger grow past the witness's
// size, so that sizes alone no longer show the rollback. verify fails
// (the store lost what the witness cosigned), and a write with the
// station key proves the fork against the witness itself and refuses.
func TestTlogWitnessBlindedStore(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	skey, vkey, err := note.GenerateKey(rand.Reader, "witness.test/trust")
	if err != nil {
		t.Fatal(err)
	}
	cvkey, _ := tnote.VKeyToCosignatureV1(vkey)
	logKey, _ := manifest.NoteVerifierKey(s.Origin(), s.Signer().PublicKey())
	srv, err := witness.NewServer(witness.ServerConfig{Key: skey, LogKeys: []string{logKey}, State: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler(""))
	defer hs.Close()
	s.WitnessError = func(string, error) {}
	if err := s.AddWitness(ctx, nil, witness.Spec{Name: "trust", Kind: witness.KindTlog, Location: hs.URL, Key: cvkey}, "trust IT witness"); err != nil {
		t.Fatal(err)
	}
	clip := func(n string) string {
		return makeClip(t, filepath.Join(t.TempDir(), n+".mp4"), "-metadata", "title="+n)
	}
	if _, err := s.Import(ctx, clip("a"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old")
	copyDir(t, s.Dir, old)
	for _, n := range []string{"b", "c"} {
		if _, err := s.Import(ctx, clip(n), store.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	os.RemoveAll(s.Dir)
	copyDir(t, old, s.Dir)
	os.RemoveAll(filepath.Join(s.Dir, store.WitnessDir))
	os.WriteFile(filepath.Join(s.Dir, store.WitnessDir), []byte("not a directory"), 0o644)

	r, err := verify.Store(ctx, s.Dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verified || !hasCode(r, "witness-state-lost") && !hasCode(r, "witness-rollback") {
		t.Fatalf("the blinded store: verified %v, %+v %v", r.Verified, r.Problems, r.Notes)
	}
	// Regrow past the witness's size with the station's key (an
	// intruder with the passphrase, or the hourly purge on its rounds):
	// the write proves the ledger against the witness and refuses.
	os.Remove(filepath.Join(s.Dir, store.WitnessDir))
	s2 := reopen(t, s.Dir)
	s2.WitnessError = func(string, error) {}
	for _, n := range []string{"d", "e", "f"} {
		_, err = s2.Import(ctx, clip(n), store.ImportOptions{})
		if err != nil {
			break
		}
	}
	if !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("writes over the blinded, regrown store: %v", err)
	}
}
