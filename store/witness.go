package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/witness"
)

// Witnesses keep copies of the store's checkpoints where whoever can
// rewrite the store cannot (package witness). The ledger says which ones
// the store has ("witness.add", "witness.remove"), so verify consults the
// same ones and nobody can drop one quietly. Every write checks them
// before it appends anything and hands them the new checkpoint after.

// WitnessPayload is the payload of "witness.add" and "witness.remove".
type WitnessPayload struct {
	witness.Spec
	Reason string `json:"reason,omitempty"`
	Statement
}

// LossPayload is the payload of "ledger.loss": a DPO's record that the
// ledger no longer extends a checkpoint the store signed (entries were
// removed or rewritten, and no backup brings them back), so that writing
// can go on. It keeps what was lost sight of: the checkpoints the ledger
// contradicts, and how many entries are kept.
type LossPayload struct {
	// Kept is the size of the largest checkpoint the ledger still agrees
	// with: history up to there is witnessed, beyond it is not.
	Kept    uint64        `json:"kept"`
	Entries uint64        `json:"entries"` // the ledger's length when the loss was recorded
	Lost    []LostSighted `json:"lost"`
	Reason  string        `json:"reason"`
	// CheckpointOnly: witnesses confirm every entry, so only the
	// checkpoint file was lost or replaced, not entries.
	CheckpointOnly bool `json:"checkpoint_only,omitempty"`
	Statement
}

// LostSighted is one checkpoint the ledger contradicts.
type LostSighted struct {
	Where   string `json:"where"` // "checkpoint" or "witness NAME: FILE"
	Size    uint64 `json:"size"`
	Root    string `json:"root"` // base64
	Problem string `json:"problem"`
	// File is the checkpoint file itself (base64) when it is the store's.
	File string `json:"file,omitempty"`
}

var (
	// ErrRolledBack refuses to write to a store whose ledger no longer
	// extends a checkpoint it signed: entries were removed or rewritten.
	ErrRolledBack = fmt.Errorf("%w: the ledger does not extend a checkpoint this store signed", ErrCorrupt)
	// ErrNothingLost refuses to record a loss where there is none.
	ErrNothingLost = errors.New("the ledger agrees with its checkpoint and witnesses: nothing to recover")
	// ErrBadWitness refuses a witness custody cannot use.
	ErrBadWitness = witness.ErrBadSpec
)

func init() {
	actionHandlers["witness.add"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p WitnessPayload
		if rec.Payload(&p) != nil || st.breaks(rec) {
			return
		}
		st.Witnesses[p.Name] = p.Spec
		ev.Summary = fmt.Sprintf("added witness %s (%s %s)", p.Name, p.Kind, p.Location)
	}
	actionHandlers["witness.remove"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p WitnessPayload
		if rec.Payload(&p) != nil || st.breaks(rec) {
			return
		}
		delete(st.Witnesses, p.Name)
		ev.Summary = fmt.Sprintf("removed witness %s (%s)", p.Name, reasonOr(p.Reason, "no reason given"))
	}
	actionHandlers["ledger.loss"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p LossPayload
		if rec.Payload(&p) != nil || st.breaks(rec) {
			return
		}
		st.Losses = append(st.Losses, witness.Loss{Seq: rec.Entry.Seq, Kept: p.Kept, At: rec.Entry.When()})
		if p.CheckpointOnly {
			ev.Summary = fmt.Sprintf("re-signed the checkpoint: the file was lost or replaced, and witnesses confirm all %d entries (%s)", p.Entries, reasonOr(p.Reason, "no reason given"))
			st.flag(rec, "checkpoint-replaced", "%s re-signed the checkpoint, which was lost or replaced; witnesses confirm every entry: %s", rec.Entry.Actor.Name, reasonOr(p.Reason, "no reason given"))
			return
		}
		ev.Summary = fmt.Sprintf("recorded that the ledger lost entries: it agrees with its checkpoints up to %d entries, not with %d checkpoint(s) beyond (%s)", p.Kept, len(p.Lost), reasonOr(p.Reason, "no reason given"))
		st.flag(rec, "ledger-loss", "%s recorded that entries after %d were lost or rewritten: %s", rec.Entry.Actor.Name, p.Kept, reasonOr(p.Reason, "no reason given"))
	}
}

// WitnessList lists the store's witnesses by name.
func (st *State) WitnessList() []witness.Spec {
	out := make([]witness.Spec, 0, len(st.Witnesses))
	for _, w := range st.Witnesses {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// extraWitnesses are the ExtraWitnesses the ledger does not register.
func (s *Store) extraWitnesses(st *State) []witness.Spec {
	var out []witness.Spec
next:
	for _, x := range s.ExtraWitnesses {
		for _, w := range st.Witnesses {
			if w.Kind == x.Kind && w.Location == x.Location {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// witnessState is where the store keeps what tlog witnesses returned.
func (s *Store) witnessState() string { return filepath.Join(s.Dir, WitnessDir) }

// WitnessDir holds the latest cosigned checkpoint from each tlog witness.
const WitnessDir = "witnessed"

// WitnessLog is the ledger as witnesses are compared with it.
func (s *Store) WitnessLog(l *manifest.Ledger, st *State) *witness.Log {
	return &witness.Log{Ledger: l, Origin: s.Origin(), Signers: l.Signers().Ever(), Losses: st.Losses}
}

// Witnesses returns the store's witnesses, ready to use: those its ledger
// registers and the station's ExtraWitnesses.
func (s *Store) Witnesses(st *State) ([]witness.Witness, error) {
	var out []witness.Witness
	for _, spec := range append(st.WitnessList(), s.extraWitnesses(st)...) {
		w, err := witness.New(spec, s.witnessState())
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", spec.Name, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// guard refuses to let a write go on when the ledger no longer extends
// what the store signed or its witnesses hold: the signed checkpoint must
// be there, be the store's, and agree with the ledger, and no witness may
// hold a checkpoint the ledger contradicts. Witnesses that cannot be
// reached are reported through WitnessError and do not stop the write.
func (s *Store) guard(ctx context.Context, l *manifest.Ledger, st *State, g guarding) error {
	if _, err := s.readOwnCheckpoint(l); err != nil {
		return err
	}
	ws, err := s.Witnesses(st)
	if err != nil {
		return err
	}
	log := s.WitnessLog(l, st)
	// With the station key, tlog witnesses are asked with a checkpoint of
	// the whole ledger, and shown it extends theirs (see witness.Log).
	if !g.readOnly {
		if log.StationNote, err = s.stationNote(l); err != nil {
			return err
		}
	}
	for _, w := range ws {
		if w.Spec().Name == g.not {
			continue
		}
		status := w.Check(ctx, log, false)
		if status.Err != nil {
			s.witnessError(w.Spec().Name, status.Err)
			continue
		}
		if _, registered := st.Witnesses[w.Spec().Name]; registered && status.Emptied() {
			return fmt.Errorf("%w: witness %s holds none of the store's checkpoints, though it was given one when it was registered: its files were deleted, so a rollback cannot be ruled out (if it was replaced on purpose, a DPO removes and re-adds it)", ErrRolledBack, w.Spec().Name)
		}
		if bad := status.Bad(); len(bad) > 0 {
			return fmt.Errorf("%w: witness %s holds a checkpoint of %d entries that the ledger (%d entries) %s; entries were removed or rewritten", ErrRolledBack,
				w.Spec().Name, bad[0].Size, l.Len(), map[witness.Judgment]string{witness.Ahead: "does not reach", witness.Fork: "contradicts", witness.Lost: "may contradict (the store lost what it kept of the witness)"}[bad[0].Judgment])
		}
	}
	return nil
}

// Check is the guard every write passes, run on its own and changing
// nothing: nil when the ledger extends the store's checkpoint and what its
// witnesses hold, else an error wrapping ErrRolledBack.
func (s *Store) Check(ctx context.Context) error {
	l, _, err := s.ReadLedger()
	if err != nil {
		return err
	}
	return s.guard(ctx, l, Replay(l), guarding{readOnly: true})
}

// stationNote is a station-signed note of a checkpoint of the whole
// ledger, or nil when the station key is locked.
func (s *Store) stationNote(l *manifest.Ledger) ([]byte, error) {
	if s.signer == nil {
		return nil, nil
	}
	c, err := manifest.NewCheckpoint(l, s.Origin(), l.Len(), s.Now(), s.signer)
	if err != nil {
		return nil, err
	}
	return c.SignNote(s.signer)
}

// readOwnCheckpoint reads the store's checkpoint and checks it is the
// store's and that the ledger extends it.
func (s *Store) readOwnCheckpoint(l *manifest.Ledger) (*manifest.Checkpoint, error) {
	data, err := s.ReadCheckpoint()
	if err != nil {
		return nil, fmt.Errorf("%w: the signed checkpoint is missing (%v), so removal of entries cannot be ruled out", ErrRolledBack, err)
	}
	c, pub, err := manifest.ParseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRolledBack, err)
	}
	if c.Origin != s.Origin() || !l.Signers().EverAuthorised(pub) {
		return nil, fmt.Errorf("%w: the checkpoint is not this store's (origin %q, signed by a key its ledger never authorised)", ErrRolledBack, c.Origin)
	}
	if err := l.Agrees(c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRolledBack, err)
	}
	if err := l.CheckpointSigner(c, pub); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRolledBack, err)
	}
	return c, nil
}

// witnessError reports a witness that could not be read or written.
func (s *Store) witnessError(name string, err error) {
	if s.WitnessError != nil {
		s.WitnessError(name, err)
	}
}

// publishWitnesses hands a new checkpoint to every witness. A witness
// that cannot take it is reported and stays behind until a later write.
func (s *Store) publishWitnesses(ctx context.Context, l *manifest.Ledger, c *manifest.Checkpoint, file []byte, note []byte) {
	st := Replay(l)
	ws, err := s.Witnesses(st)
	if err != nil {
		s.witnessError("(registry)", err)
		return
	}
	log := s.WitnessLog(l, st)
	p := &witness.Published{Checkpoint: c, File: file, Note: note}
	for _, w := range ws {
		if err := w.Publish(ctx, log, p); err != nil {
			s.witnessError(w.Spec().Name, err)
		}
	}
}

// AddWitness registers a witness and hands it the current checkpoint. The
// station operator may while the store has no DPO, then a DPO. A witness
// must be outside the store, and must not already hold checkpoints that
// the ledger contradicts.
func (s *Store) AddWitness(ctx context.Context, as *Person, spec witness.Spec, reason string) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.Kind == witness.KindDir {
		abs, _ := filepath.Abs(s.Dir)
		if rel, err := filepath.Rel(abs, spec.Location); err == nil && !strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%w: %s is inside the store: a witness must be kept where whoever can rewrite the store cannot (another host or mount)", ErrBadWitness, spec.Location)
		}
	}
	if spec.Kind == witness.KindTlog && s.signer == nil {
		return fmt.Errorf("%w: a tlog witness cosigns checkpoints the station signs, so it is added with the station key unlocked (--passphrase-file or $CUSTODY_PASSPHRASE)", ErrLocked)
	}
	return s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if err := mayManagePeople(st, tx.User()); err != nil {
			return err
		}
		if _, dup := st.Witnesses[spec.Name]; dup {
			return fmt.Errorf("%w: the store already has a witness called %s", ErrBadWitness, spec.Name)
		}
		anchor, err := s.firstPublish(ctx, tx.Ledger, st, spec)
		if err != nil {
			return err
		}
		spec.Anchor = anchor
		p := WitnessPayload{Spec: spec, Reason: reason}
		if p.Statement, err = tx.state("witness.add", []string{"witness " + spec.Name, "kind " + spec.Kind, "location " + spec.Location, "key " + spec.Key, "reason " + oneLine(reason)}); err != nil {
			return err
		}
		_, err = tx.appendJSON("witness.add", "", p)
		return err
	})
}

// firstPublish checks a witness about to be registered and hands it the
// current checkpoint, refusing the registration if it cannot take it: a
// registered witness has always received a checkpoint, so one that later
// holds none was emptied. For a tlog witness it returns the cosigned note,
// which the registration keeps (Spec.Anchor).
func (s *Store) firstPublish(ctx context.Context, l *manifest.Ledger, st *State, spec witness.Spec) (string, error) {
	w, err := witness.New(spec, s.witnessState())
	if err != nil {
		return "", err
	}
	log := s.WitnessLog(l, st)
	status := w.Check(ctx, log, true)
	if status.Err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadWitness, status.Err)
	}
	if bad := status.Bad(); len(bad) > 0 {
		return "", fmt.Errorf("%w: witness %s already holds a checkpoint of %d entries that this ledger contradicts (%s)", ErrRolledBack, spec.Name, bad[0].Size, bad[0].Detail)
	}
	file, err := s.ReadCheckpoint()
	if err != nil {
		return "", err
	}
	c, _, err := manifest.ParseCheckpoint(file)
	if err != nil {
		return "", err
	}
	p := &witness.Published{Checkpoint: c, File: file}
	if spec.Kind == witness.KindTlog {
		if p.Note, err = s.stationNote(l); err != nil {
			return "", err
		}
	}
	if err := w.Publish(ctx, log, p); err != nil {
		return "", fmt.Errorf("%w: witness %s could not be given the current checkpoint: %v", ErrBadWitness, spec.Name, err)
	}
	if spec.Kind != witness.KindTlog {
		return "", nil
	}
	t, ok := w.(interface {
		Cosigned(*witness.Log) ([]byte, error)
	})
	if !ok {
		return "", fmt.Errorf("%w: witness %s keeps no cosignature", ErrBadWitness, spec.Name)
	}
	note, err := t.Cosigned(log)
	return string(note), err
}

// RemoveWitness unregisters a witness (the station while the store has no
// DPO, then a DPO), with a reason. What the witness holds stays there.
func (s *Store) RemoveWitness(ctx context.Context, as *Person, name, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: removing a witness is recorded with why (give --reason)", ErrNoReason)
	}
	if as != nil && as.Signer == nil {
		return fmt.Errorf("%w: no signing key given (use -i with your SSH key)", ErrUnknownPerson)
	}
	if as == nil && s.signer == nil {
		return ErrLocked
	}
	// The witness being removed is left out of the guard: one that
	// misbehaves must not keep a DPO from removing it.
	return s.updateWith(ctx, as, guarding{not: name}, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if err := mayManagePeople(st, tx.User()); err != nil {
			return err
		}
		spec, ok := st.Witnesses[name]
		if !ok {
			return fmt.Errorf("%w: the store has no witness called %q (see custody witness list)", ErrBadWitness, name)
		}
		p := WitnessPayload{Spec: spec, Reason: reason}
		var err error
		if p.Statement, err = tx.state("witness.remove", []string{"witness " + name, "reason " + oneLine(reason)}); err != nil {
			return err
		}
		_, err = tx.appendJSON("witness.remove", "", p)
		return err
	})
}

// RecordLoss is the explicit recovery from a ledger that no longer extends
// a checkpoint the store signed: after restoring from backup has failed or
// is impossible, a DPO (the station operator while the store has no DPO)
// records what was lost and why, and the store can be written again. The
// loss stays in the ledger for good: `log --anomalies` flags it and verify
// reports it, and what witnesses hold of the lost branch is accounted for
// rather than reported as a rollback.
func (s *Store) RecordLoss(ctx context.Context, as *Person, reason string) (*LossPayload, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: recording a loss is recorded with why (give --reason)", ErrNoReason)
	}
	var out *LossPayload
	err := s.updateWith(ctx, as, guarding{skip: true}, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if err := mayManagePeople(st, tx.User()); err != nil {
			return err
		}
		p, err := s.sightLoss(ctx, tx.Ledger, st)
		if err != nil {
			return err
		}
		p.Reason = strings.TrimSpace(reason)
		lines := []string{fmt.Sprintf("kept %d", p.Kept), fmt.Sprintf("entries %d", p.Entries), "reason " + oneLine(reason)}
		for _, x := range p.Lost {
			lines = append(lines, fmt.Sprintf("lost %s size %d root %s", oneLine(x.Where), x.Size, x.Root))
		}
		if p.Statement, err = tx.state("ledger.loss", lines); err != nil {
			return err
		}
		if _, err := tx.appendJSON("ledger.loss", "", p); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// sightLoss works out what a loss record must say: every checkpoint (the
// store's own and what each witness holds) that the ledger contradicts,
// and the largest one it still agrees with.
func (s *Store) sightLoss(ctx context.Context, l *manifest.Ledger, st *State) (*LossPayload, error) {
	p := &LossPayload{Entries: l.Len(), Lost: []LostSighted{}}
	agree := func(size uint64) {
		if size > p.Kept {
			p.Kept = size
		}
	}
	if data, err := s.ReadCheckpoint(); err == nil {
		if c, _, err := manifest.ParseCheckpoint(data); err == nil {
			if aerr := l.Agrees(c); aerr == nil {
				agree(c.Size)
			} else {
				p.Lost = append(p.Lost, LostSighted{Where: CheckpointFile, Size: c.Size, Root: base64.StdEncoding.EncodeToString(c.Root), Problem: aerr.Error(), File: base64.StdEncoding.EncodeToString(data)})
			}
		} else {
			p.Lost = append(p.Lost, LostSighted{Where: CheckpointFile, Problem: err.Error(), File: base64.StdEncoding.EncodeToString(data)})
		}
	} else {
		p.Lost = append(p.Lost, LostSighted{Where: CheckpointFile, Problem: "missing: " + err.Error()})
	}
	ws, err := s.Witnesses(st)
	if err != nil {
		return nil, err
	}
	log := s.WitnessLog(l, st)
	for _, w := range ws {
		status := w.Check(ctx, log, true)
		if status.Err != nil {
			return nil, fmt.Errorf("witness %s cannot be read, so what was lost cannot be established: %w", w.Spec().Name, status.Err)
		}
		agree(status.Size)
		for _, h := range status.Bad() {
			p.Lost = append(p.Lost, LostSighted{Where: "witness " + w.Spec().Name + ": " + filepath.Base(h.Where), Size: h.Size, Root: base64.StdEncoding.EncodeToString(h.Root), Problem: h.Detail})
		}
	}
	if len(p.Lost) == 0 {
		return nil, ErrNothingLost
	}
	if p.Kept == 0 {
		p.Kept = 1 // the genesis entry is always there
	}
	p.CheckpointOnly = p.Kept >= l.Len()
	return p, nil
}
