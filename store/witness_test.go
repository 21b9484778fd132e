package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/witness"
)

// TestWriteRefusesRolledBackLedger: a write never signs a checkpoint over
// a ledger that lost entries; RecordLoss is the explicit way on.
func TestWriteRefusesRolledBackLedger(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	wdir := t.TempDir()
	if err := s.AddWitness(ctx, nil, witness.Spec{Name: "nas", Kind: witness.KindDir, Location: wdir}, "test"); err != nil {
		t.Fatal(err)
	}
	inside := witness.Spec{Name: "inside", Kind: witness.KindDir, Location: filepath.Join(s.Dir, "objects")}
	if err := s.AddWitness(ctx, nil, inside, "test"); !errors.Is(err, store.ErrBadWitness) {
		t.Fatalf("a witness inside the store: %v", err)
	}
	src := makeClip(t, filepath.Join(t.TempDir(), "a.mp4"))
	c, err := s.Import(ctx, src, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.Dir, c.Object.Path)) // the attacker removes the clip too
	ledgerPath := filepath.Join(s.Dir, store.LedgerFile)
	full := readFile(t, ledgerPath)
	lines := strings.SplitAfter(string(full), "\n")
	short := strings.Join(lines[:len(lines)-2], "")
	if err := os.WriteFile(ledgerPath, []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, filepath.Join(s.Dir, store.CheckpointFile))
	err = s.Update(ctx, func(tx *store.Tx) error { return nil })
	if !errors.Is(err, store.ErrRolledBack) || !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("write over a truncated ledger: %v", err)
	}
	if got := readFile(t, filepath.Join(s.Dir, store.CheckpointFile)); string(got) != string(before) {
		t.Fatal("the refused write re-signed the checkpoint")
	}
	if got := readFile(t, ledgerPath); string(got) != short {
		t.Fatal("the refused write appended to the ledger")
	}
	loss, err := s.RecordLoss(ctx, nil, "tail deleted, no backup")
	if err != nil {
		t.Fatal(err)
	}
	// Both the store's checkpoint and the witness's newest are contradicted.
	if loss.Kept == 0 || len(loss.Lost) != 2 {
		t.Fatalf("loss %+v", loss)
	}
	if err := s.Update(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatalf("write after the recorded loss: %v", err)
	}
	if _, err := s.RecordLoss(ctx, nil, "again"); !errors.Is(err, store.ErrNothingLost) {
		t.Fatalf("second loss: %v", err)
	}
	if r := verified(t, s.Dir); !r.Verified {
		t.Fatalf("after the loss: %+v", r.Problems)
	}
}
