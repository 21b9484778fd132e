package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
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

// TestCheckpointResignedByAPerson: with write access to the files and a
// person's key (a clinician's, or a removed DPO's), an insider truncates
// the ledger and re-signs the checkpoint over it. The write guard and
// verify refuse such a checkpoint: a person signs only the checkpoint of
// what they wrote, while they are registered.
func TestCheckpointResignedByAPerson(t *testing.T) {
	f := newFixture(t, false, [2]string{"dana", "dpo"}, [2]string{"dave", "dpo"}, [2]string{"sam", "clinician"})
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{})
	if _, err := f.s.Hold(f.ctx, f.u("sam").p, store.HoldRequest{Clips: []string{c.ID}, Incident: "INC-1", Reason: "keep"}); err != nil {
		t.Fatal(err)
	}
	f.importClip("b.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{})
	if _, err := f.s.RemoveUser(f.ctx, f.u("dana").p, "dave", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
		t.Fatal(err)
	}
	l := ledger(t, f.s)
	for _, tc := range []struct {
		who  string
		keep uint64 // entries the insider keeps
	}{
		{"dave", l.Len() - 1}, // removed: no longer authorised
		{"sam", l.Len() - 3},  // the newest entry kept is the import's, not sam's
	} {
		t.Run(tc.who, func(t *testing.T) {
			full := readFile(t, filepath.Join(f.s.Dir, store.LedgerFile))
			cpFile := readFile(t, filepath.Join(f.s.Dir, store.CheckpointFile))
			defer func() {
				os.WriteFile(filepath.Join(f.s.Dir, store.LedgerFile), full, 0o644)
				os.WriteFile(filepath.Join(f.s.Dir, store.CheckpointFile), cpFile, 0o644)
			}()
			lines := strings.SplitAfter(string(full), "\n")
			short := []byte(strings.Join(lines[:tc.keep], ""))
			os.WriteFile(filepath.Join(f.s.Dir, store.LedgerFile), short, 0o644)
			sl, _, err := manifest.Parse(bytes.NewReader(short))
			if err != nil {
				t.Fatal(err)
			}
			cp, err := manifest.NewCheckpoint(sl, f.s.Origin(), sl.Len(), f.clock.t, f.u(tc.who).p.Signer)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(f.s.Dir, store.CheckpointFile), cp.Marshal(), 0o644)
			if err := f.s.Unlock([]byte(govPass)); err != nil {
				t.Fatal(err)
			}
			err = f.s.Update(f.ctx, func(tx *store.Tx) error { return nil })
			if !errors.Is(err, store.ErrRolledBack) || !errors.Is(err, manifest.ErrCheckpointSigner) {
				t.Fatalf("write over a checkpoint %s re-signed: %v", tc.who, err)
			}
			r, err := verify.Store(f.ctx, f.s.Dir, verify.StoreOptions{})
			if err != nil || r.Verified || !r.HasCode("checkpoint-signer") {
				t.Fatalf("verify: %v %+v", err, r.Problems)
			}
		})
	}
}

// TestWitnessDirEmptied: a witness directory keeps the store's files
// directly in its location (nothing the station's account could empty
// where the location is append-only); emptying it is caught by writes and
// verify, and a DPO can still remove a witness that misbehaves.
func TestWitnessDirEmptied(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	wdir := t.TempDir()
	if err := s.AddWitness(ctx, nil, witness.Spec{Name: "nas", Kind: witness.KindDir, Location: wdir}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "a.mp4")), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(wdir)
	if len(ents) < 2 {
		t.Fatalf("witness holds %d entries", len(ents))
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasPrefix(e.Name(), "custody-store-") {
			t.Fatalf("witness entry %s: not a checkpoint file in the location itself", e.Name())
		}
		os.Remove(filepath.Join(wdir, e.Name()))
	}
	err := s.Update(ctx, func(tx *store.Tx) error { return nil })
	if !errors.Is(err, store.ErrRolledBack) || !strings.Contains(err.Error(), "holds none of the store's checkpoints") {
		t.Fatalf("write after the witness was emptied: %v", err)
	}
	r, err := verify.Store(ctx, s.Dir, verify.StoreOptions{})
	if err != nil || r.Verified || !r.HasCode("witness-emptied") {
		t.Fatalf("verify: %v %+v", err, r.Problems)
	}
	if err := s.RemoveWitness(ctx, nil, "nas", "NAS share rebuilt"); err != nil {
		t.Fatalf("removing the emptied witness: %v", err)
	}
	if err := s.Update(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointOnlyLost: with the checkpoint deleted but a witness that
// confirms every entry, the recovery re-signs the checkpoint and records
// that no entry was lost.
func TestCheckpointOnlyLost(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if err := s.AddWitness(ctx, nil, witness.Spec{Name: "nas", Kind: witness.KindDir, Location: t.TempDir()}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, makeClip(t, filepath.Join(t.TempDir(), "a.mp4")), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.Dir, store.CheckpointFile))
	if err := s.Update(ctx, func(tx *store.Tx) error { return nil }); !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("write without a checkpoint: %v", err)
	}
	loss, err := s.RecordLoss(ctx, nil, "checkpoint file deleted by mistake")
	if err != nil {
		t.Fatal(err)
	}
	if !loss.CheckpointOnly {
		t.Fatalf("loss %+v", loss)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Anomalies {
		if a.Code == "ledger-loss" {
			t.Fatalf("flagged as a loss of entries: %+v", a)
		}
	}
	if r := verified(t, s.Dir); !r.Verified {
		t.Fatal(r.Problems)
	}
}
