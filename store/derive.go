package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
// for a later Commit. It is how derived material (redacted video, review
// files) enters the store without plaintext touching the disk.
func (s *Store) SealStaged(ctx context.Context, r io.Reader, progress func(int64)) (*Sealing, error) {
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	recips, _, err := s.Recipients(l)
	if err != nil {
		return nil, err
	}
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
	return syncDir(filepath.Join(s.Dir, ObjectsDir))
}

// AddDerivative commits a redacted derivative of parent (sealed with
// SealStaged) and its sealed review material, appending one "redact" entry.
func (s *Store) AddDerivative(ctx context.Context, parent string, video *Sealing, review []*Sealing, p DerivePayload) (*Clip, error) {
	var clip *Clip
	appended := false
	err := s.Update(ctx, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		pc, err := st.Find(parent)
		if err != nil {
			return err
		}
		p.Parent, p.ParentSHA256, p.Object = pc.ID, pc.Object.SHA256, video.Object
		p.Review = nil
		for _, r := range review {
			p.Review = append(p.Review, r.Object)
		}
		if p.Filename == "" {
			p.Filename = strings.TrimSuffix(pc.Filename, filepath.Ext(pc.Filename)) + ".redacted.mp4"
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
		clip = Replay(tx.Ledger).Clips[video.Object.ID]
		return nil
	})
	if err != nil {
		if !appended {
			video.Discard()
			for _, r := range review {
				r.Discard()
			}
		}
		return nil, err
	}
	return clip, nil
}
