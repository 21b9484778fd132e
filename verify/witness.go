package verify

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/witness"
)

// Rollback checks. A store's own checkpoint cannot reveal a rollback:
// whoever rewrites the ledger can put back an older checkpoint that
// matches. What can is a checkpoint kept where they could not reach it: a
// witness the ledger registers, one the verifier names (--witness, for a
// ledger rolled back past its registration), or a checkpoint file the
// verifier kept (--checkpoint). Each must be extended by the ledger.
//
// Codes:
//
//	witness-rollback    a witness holds a checkpoint covering more entries than the ledger has
//	witness-fork        a witness holds a checkpoint whose entries the ledger contradicts
//	consistency-rollback a checkpoint you kept covers more entries than the ledger has
//	consistency-fork    a checkpoint you kept disagrees with the ledger's entries
//	consistency-checkpoint a checkpoint you kept is not this store's (signer, origin) or cannot be read
//	witness-emptied     a registered witness directory holds none of the store's checkpoints (it was given one at registration)
//	witness-state-lost  the store no longer holds what a tlog witness cosigned, so a rollback regrown past the witness cannot be ruled out

// KeptCheckpoint is a checkpoint file the verifier kept elsewhere.
type KeptCheckpoint struct {
	Name string // where it came from, for the report
	Data []byte
}

func checkWitnesses(ctx context.Context, r *Report, s *store.Store, l *manifest.Ledger, st *store.State, extra []witness.Spec) error {
	specs := st.WitnessList()
next:
	for _, e := range extra {
		for _, w := range specs {
			if w.Kind == e.Kind && w.Location == e.Location {
				continue next
			}
		}
		specs = append(specs, e)
	}
	log := s.WitnessLog(l, st)
	for _, spec := range specs {
		w, err := witness.New(spec, filepath.Join(s.Dir, store.WitnessDir))
		if err != nil {
			r.note("witness %s cannot be used by this build (%v): rollback against it is not ruled out", spec.Name, err)
			continue
		}
		status := w.Check(ctx, log, true)
		if errors.Is(status.Err, context.Canceled) {
			return status.Err
		}
		_, registered := st.Witnesses[spec.Name]
		reportWitness(r, spec, status, r.Checkpoint, registered && st.Witnesses[spec.Name].Location == spec.Location)
	}
	return nil
}

func reportWitness(r *Report, spec witness.Spec, status *witness.Status, current uint64, registered bool) {
	subj := "witness " + spec.Name
	if status.Err != nil {
		r.note("%s could not be read (%v): rollback against it is not ruled out", subj, status.Err)
		return
	}
	for _, h := range status.Held {
		where := filepath.Base(h.Where)
		switch h.Judgment {
		case witness.Ahead:
			r.fail("witness-rollback", subj, "holds a checkpoint of %d entries (%s) but the ledger has %d: entries were removed, or the store was rolled back to an older copy", h.Size, heldWhere(where, h), r.Entries)
		case witness.Fork:
			r.fail("witness-fork", subj, "holds a checkpoint of %d entries (%s) that the ledger contradicts (%s): entries were rewritten", h.Size, where, h.Detail)
		case witness.AccountedFor:
			r.note("%s holds a checkpoint of %d entries (%s) of the history that a recorded loss accounts for", subj, h.Size, where)
		case witness.Lost:
			r.fail("witness-state-lost", subj, "%s", h.Detail)
		case witness.Untrusted:
			r.note("%s holds %s, which is not a checkpoint of this store (%s); it was ignored", subj, where, h.Detail)
		}
	}
	switch {
	case registered && status.Emptied():
		// Registration handed it a checkpoint: holding none, it was emptied.
		r.fail("witness-emptied", subj, "holds no checkpoint of this store, though it was given one when it was registered: its files were deleted (make it append-only where it is kept), so a rollback cannot be ruled out against it")
	case status.Size == 0 && len(status.Bad()) == 0 && spec.Kind == witness.KindTlog:
		r.note("%s could not be asked what it holds: the store keeps no checkpoint it cosigned (witnessed/ is empty or gone), so rollback against it is not ruled out until the next write reaches it", subj)
	case status.Size == 0 && len(status.Bad()) == 0:
		r.note("%s holds no checkpoint of this store yet", subj)
	case status.Size < current:
		r.note("%s is behind: its newest checkpoint covers %d entries, the store's %d (it catches up at the next write it can reach)", subj, status.Size, current)
	}
}

// heldWhere says where a witness's checkpoint is, and when it was signed
// if the witness showed it (a tlog witness answers with a size only).
func heldWhere(where string, h witness.Held) string {
	if h.Time.IsZero() {
		return where
	}
	return where + ", signed " + h.Time.Format("2006-01-02 15:04:05Z07:00")
}

// checkKept compares checkpoints the verifier kept with the ledger.
func checkKept(r *Report, s *store.Store, l *manifest.Ledger, kr *manifest.Keyring, st *store.State, kept []KeptCheckpoint) {
	log := s.WitnessLog(l, st)
	for _, k := range kept {
		subj := k.Name
		c, pub, err := manifest.ParseCheckpoint(k.Data)
		if err != nil {
			var nc *manifest.NoteCheckpoint
			if nc, err = manifest.OpenNote(k.Data, kr.Ever(), nil); err == nil {
				c, pub = nc.Checkpoint, nc.Signer
			}
		}
		switch {
		case err != nil:
			r.fail("consistency-checkpoint", subj, "cannot be read: %v", err)
			continue
		case c.Origin != s.Origin():
			r.fail("consistency-checkpoint", subj, "is for %q, not this store (%q)", c.Origin, s.Origin())
			continue
		case !kr.EverAuthorised(pub):
			r.fail("consistency-checkpoint", subj, "is signed by %s, a key this store's ledger never authorised", seal.Fingerprint(pub))
			continue
		}
		switch log.Judge(c) {
		case witness.Agrees:
			r.note("%s (%d entries) is extended by the ledger: no rollback or fork since it was signed", subj, c.Size)
		case witness.Ahead:
			r.fail("consistency-rollback", subj, "covers %d entries but the ledger has only %d: entries were removed, or the store was rolled back", c.Size, l.Len())
		case witness.Fork:
			r.fail("consistency-fork", subj, "covers %d entries that the ledger contradicts: entries were rewritten (a fork)", c.Size)
		case witness.AccountedFor:
			r.note("%s (%d entries) is of the history that a recorded loss accounts for", subj, c.Size)
		}
	}
}

// noteLosses reports every recorded loss of entries: the store verifies,
// but not its history beyond what was kept.
func noteLosses(r *Report, l *manifest.Ledger) {
	for _, rec := range l.Records {
		if rec.Entry.Action != "ledger.loss" {
			continue
		}
		var p store.LossPayload
		if rec.Payload(&p) != nil {
			continue
		}
		if p.CheckpointOnly {
			r.note("entry %d: %s re-signed the checkpoint, which was lost or replaced (%s); witnesses confirmed all %d entries", rec.Entry.Seq, rec.Entry.Actor.Name, p.Reason, p.Entries)
			continue
		}
		r.note("entry %d: %s recorded a loss of ledger entries at %s (%s): the ledger then contradicted %d checkpoint(s) the store had signed, and checkpoints confirm only its first %d entries from before then",
			rec.Entry.Seq, rec.Entry.Actor.Name, rec.Entry.Time, p.Reason, len(p.Lost), p.Kept)
	}
}
