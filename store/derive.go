package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/seal"
)

// DerivePayload is the payload of a "redact" entry: a redacted derivative of
// a clip, sealed into the store, with everything needed to audit how it was
// made.
type DerivePayload struct {
	Object       Object      `json:"object"`
	Parent       string      `json:"parent"`        // clip id
	ParentSHA256 string      `json:"parent_sha256"` // the parent's plaintext hash
	Filename     string      `json:"filename"`
	Media        *media.Info `json:"media,omitempty"`
	// Redaction is the redactor's own record: tool version, detectors and
	// model hashes, parameters, every masked track, DPO edits with reasons.
	Redaction json.RawMessage `json:"redaction"`
	// Review holds the sealed review material (tracks, contact sheet, previews).
	Review      []Object `json:"review,omitempty"`
	ReviewNames []string `json:"review_names,omitempty"`
	Incomplete  bool     `json:"incomplete,omitempty"`
	// Key, in a dual-control store, is the key the video and review files
	// are sealed to, itself sealed to every DPO (see derived.go); Request
	// is the approved request under which the original was read.
	Key     *Share `json:"key,omitempty"`
	Request string `json:"request,omitempty"`
}

// objects lists the sealed files the entry registers.
func (p *DerivePayload) objects() []Object {
	out := append([]Object{p.Object}, p.Review...)
	if p.Key != nil {
		out = append(out, p.Key.Object)
	}
	return out
}

// Summary is a one-line description for timelines.
func (p *DerivePayload) Summary() string {
	var r struct {
		Detector string `json:"detector"`
		Tracks   []any  `json:"tracks"`
	}
	json.Unmarshal(p.Redaction, &r)
	s := fmt.Sprintf("%d masked track(s)", len(r.Tracks))
	if r.Detector != "" {
		s += " by " + r.Detector
	}
	if p.Incomplete {
		s += ", INCOMPLETE"
	}
	return s
}

// Sealing is a sealed-but-uncommitted object in staging.
type Sealing struct {
	Object Object
	path   string
	f      *os.File
}

// Discard removes an object that will not be committed.
func (sg *Sealing) Discard() {
	if sg.f != nil {
		sg.f.Close()
		os.Remove(sg.path)
		sg.f = nil
	}
}

// SealStaged seals plaintext from r into staging, to the store's recipients,
// for a later AddDerivative. It is for single-recipient stores; in a
// dual-control store derived material is sealed through BeginDerive.
func (s *Store) SealStaged(ctx context.Context, r io.Reader, progress func(int64)) (*Sealing, error) {
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	if Replay(l).Policy.DualControl {
		return nil, fmt.Errorf("%w: derived material is sealed for the DPOs through BeginDerive (custody redact --store)", ErrDualControl)
	}
	recips, _, err := s.Recipients(l)
	if err != nil {
		return nil, err
	}
	return s.sealStaged(ctx, r, recips, progress)
}

// sealStaged seals r to recips into staging, for objects/.
func (s *Store) sealStaged(ctx context.Context, r io.Reader, recips []age.Recipient, progress func(int64)) (*Sealing, error) {
	idb := make([]byte, 6)
	rand.Read(idb)
	id := hex.EncodeToString(idb)
	path := filepath.Join(s.Dir, StagingDir, id+stagingSuffix)
	f, err := createStaging(path)
	if err != nil {
		return nil, err
	}
	sg := &Sealing{path: path, f: f}
	sealed, err := seal.Seal(ctx, &writebackWriter{f: f}, r, recips, progress)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		sg.Discard()
		return nil, err
	}
	sg.Object = Object{ID: id, Path: ObjectsDir + "/" + id + ".age", SHA256: sealed.Plain.SHA256, Size: sealed.Plain.Size,
		CipherSHA256: sealed.Cipher.SHA256, CipherSize: sealed.Cipher.Size}
	return sg, nil
}

// publish moves committed staged objects into objects/. It runs inside the
// transaction that appended their entry.
func (s *Store) publish(sgs ...*Sealing) error {
	for _, sg := range sgs {
		if err := os.Rename(sg.path, filepath.Join(s.Dir, filepath.FromSlash(sg.Object.Path))); err != nil {
			return err
		}
		sg.f.Close()
		sg.f = nil
	}
	return atomicfile.SyncDir(filepath.Join(s.Dir, ObjectsDir))
}

// AddDerivative commits a redacted derivative of parent (sealed with
// SealStaged) and its sealed review material, appending one "redact" entry,
// in a single-recipient store. The caller ledgers the access to the
// parent (LogAccess) before it reads it. A dual-control store refuses: use
// BeginDerive, which goes through an approved request.
func (s *Store) AddDerivative(ctx context.Context, parent string, video *Sealing, review []*Sealing, p DerivePayload) (*Clip, error) {
	return s.commitDerivative(ctx, nil, parent, video, review, p, nil)
}

// commitDerivative appends the "redact" entry and publishes the files.
// dual, when set, is a dual-control derivation: its key is sealed for the
// DPOs there are now, inside the transaction, and registered with it.
func (s *Store) commitDerivative(ctx context.Context, as *Person, parent string, video *Sealing, review []*Sealing, p DerivePayload, dual *Derivation) (*Clip, error) {
	var clip *Clip
	appended := false
	var keyFile *Sealing
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		pc, err := st.Find(parent)
		if err != nil {
			return err
		}
		if pc.Status == StatusPurged {
			return fmt.Errorf("%w: clip %s was purged while it was being redacted; the redacted version is discarded", ErrPurged, pc.ID)
		}
		if pc.Kind != "original" {
			return fmt.Errorf("%w: clip %s is a redacted version of %s; redact the original", ErrNotOriginal, pc.ID, pc.Parent)
		}
		if (dual != nil) != st.Policy.DualControl {
			if dual == nil {
				return fmt.Errorf("%w: redact through BeginDerive (custody redact --store), under an approved request", ErrDualControl)
			}
			return fmt.Errorf("%w: clip %s", ErrNotDualControl, pc.ID)
		}
		p.Parent, p.ParentSHA256, p.Object = pc.ID, pc.Object.SHA256, video.Object
		p.Review = nil
		for _, r := range review {
			p.Review = append(p.Review, r.Object)
		}
		if p.Filename == "" {
			p.Filename = strings.TrimSuffix(pc.Filename, filepath.Ext(pc.Filename)) + ".redacted.mp4"
		}
		p.Key, p.Request = nil, ""
		if dual != nil {
			// Sealed now, under the lock, to exactly the DPOs there are.
			if keyFile, p.Key, err = tx.sealDerivedKey(ctx, st, pc.ID, video.Object.ID, dual.key, dual.opts.PluginUI); err != nil {
				return err
			}
			if dual.Request != nil {
				p.Request = dual.Request.ID
			}
		}
		payload, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := tx.Append(manifest.Entry{Action: "redact", Clip: video.Object.ID, Payload: payload}); err != nil {
			return err
		}
		// Committed: from here a failure leaves the files in staging for
		// recovery to publish; they must not be discarded.
		appended = true
		if err := s.publish(append([]*Sealing{video}, review...)...); err != nil {
			return err
		}
		if keyFile != nil {
			if err := s.publishKeys(keyFile); err != nil {
				return err
			}
		}
		clip = Replay(tx.Ledger).Clips[video.Object.ID]
		return nil
	})
	if err != nil {
		if !appended {
			video.Discard()
			for _, r := range review {
				r.Discard()
			}
			if keyFile != nil {
				keyFile.Discard()
			}
		}
		return nil, err
	}
	return clip, nil
}
