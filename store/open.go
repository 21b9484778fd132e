package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

var (
	// ErrAccessDenied means none of the given identities can open the clip.
	ErrAccessDenied = errors.New("none of the given identities can open this clip")
	// ErrOutputExists refuses to overwrite an existing output file.
	ErrOutputExists = errors.New("output file already exists")
	// ErrNoReason refuses an access without a stated reason.
	ErrNoReason = errors.New("a reason is required")
)

// OpenOptions says who opens a clip, why, and where the plaintext goes.
type OpenOptions struct {
	Identities []age.Identity
	Identity   string // how the identity is named in the ledger (file, key)
	Reason     string
	Out        string
	Progress   func(int64)
	// As is the person opening. A dual-control original needs it (the
	// owner, holding an approved request); in any store it makes the
	// access entry signed by the person instead of the station.
	As *Person
	// Request names the approved request to use; empty picks the only
	// approved request of As for the clip.
	Request string
	// Now is the policy clock for grant expiry. It can only make expiry
	// stricter: the later of Now and the store's clock is used.
	Now time.Time
}

// ObjectPath returns where an object's sealed file is: objects/, or staging/
// when a crash interrupted its publication (it is committed all the same).
// The file must be a regular file of the store (a *NotRegularError
// otherwise); read it with OpenObject, which also refuses a file swapped
// for a link after this looked.
func (s *Store) ObjectPath(o Object) (string, error) {
	rel, err := s.objectRel(o)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, filepath.FromSlash(rel)), nil
}

// OpenClip decrypts a clip to opts.Out, checking the plaintext hash against
// the ledger. The access is ledgered before any plaintext is written; a
// failed hash check is ledgered too and the output is discarded.
func (s *Store) OpenClip(ctx context.Context, id string, opts OpenOptions) (_ *Clip, err error) {
	defer func() {
		if err != nil {
			err = s.logRefusal(ctx, opts.As, err)
		}
	}()
	if opts.As == nil && s.signer == nil {
		return nil, ErrLocked
	}
	// Any other error is the output's to report when it is made.
	if _, err := os.Lstat(opts.Out); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrOutputExists, opts.Out)
	}
	// The plaintext has no name until it is complete and checked: a kill
	// at any point leaves nothing (see atomicfile.Create). It is made
	// before anything is ledgered, so that an output that cannot be made
	// (a missing folder) spends no grant and logs no access.
	out, err := atomicfile.Create(filepath.Dir(opts.Out), filepath.Base(opts.Out), 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	st := Replay(l)
	clip, err := st.Find(id)
	if err != nil {
		return nil, err
	}
	if clip.Status == StatusPurged {
		return nil, fmt.Errorf("%w: clip %s was purged (%s, %s); only its hashes remain in the ledger", ErrPurged, clip.ID, clip.Purge.Reason, clip.Purge.PolicyTime)
	}
	ids, req, err := s.openKeys(st, clip, &opts)
	if err != nil {
		return nil, err
	}
	if opts.Reason == "" {
		return nil, ErrNoReason
	}
	src, err := s.OpenObject(clip.Object)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	// Unwrap the file key first, so that a wrong key is refused before
	// anything is logged as an access (or a grant consumed).
	if err := unwrapCheck(ctx, src, clip, ids); err != nil {
		return nil, err
	}
	if _, err := src.Seek(0, 0); err != nil {
		return nil, err
	}

	access := func(ctx context.Context, action, outcome string) error {
		return s.logOpen(ctx, clip.ID, req, opts, action, outcome)
	}
	if err := access(ctx, "access", ""); err != nil {
		return nil, err
	}

	_, err = seal.Open(ctx, out, src, ids, clip.Object.SHA256, opts.Progress)
	if err != nil {
		if errors.Is(err, seal.ErrHashMismatch) {
			// Record the failure with a fresh context: it must be logged
			// even if the caller is being cancelled.
			if lerr := access(context.WithoutCancel(ctx), "access.denied", "integrity-failure"); lerr != nil {
				return nil, errors.Join(err, lerr)
			}
		}
		return nil, err
	}
	if err := out.Link(opts.Out); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return nil, fmt.Errorf("%w: %s", ErrOutputExists, opts.Out)
		}
		return nil, err
	}
	return clip, nil
}

// openKeys finds the identities that open clip for opts: under dual
// control the key recombined from a usable grant (whose request is
// returned, and whose reason stands in for a missing one), otherwise the
// caller's identities.
func (s *Store) openKeys(st *State, clip *Clip, opts *OpenOptions) ([]age.Identity, *Request, error) {
	if !clip.DualControl() {
		ids := opts.Identities
		if len(ids) == 0 && opts.As != nil {
			ids = opts.As.Identities
		}
		// A redacted version in a dual-control store is sealed to a key of
		// its own, which only the DPOs can unwrap.
		ids, err := s.ClipIdentities(clip, ids)
		return ids, nil, err
	}
	if opts.As == nil {
		return nil, nil, fmt.Errorf("%w: clip %s is under dual control: open it with the owner's SSH key (-i) and an approved request", ErrNotApproved, clip.ID)
	}
	req, err := st.usableGrant(clip, opts.As, opts.Request, PurposeOpen, laterOf(s.Now(), opts.Now))
	if err != nil {
		return nil, nil, err
	}
	key, err := s.unlockDual(clip, opts.As, req)
	if err != nil {
		return nil, nil, err
	}
	if opts.Reason == "" {
		opts.Reason = req.Reason + " (incident " + req.Incident + ")"
	}
	return []age.Identity{key}, req, nil
}

// unwrapCheck unwraps the file key of the sealed file src with ids, telling
// a modified file (its ciphertext hash differs from the ledger's) from a
// wrong key. It leaves src where it found the header.
func unwrapCheck(ctx context.Context, src io.ReadSeeker, clip *Clip, ids []age.Identity) error {
	hdr, err := age.ExtractHeader(src)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, clip.Object.Path, err)
	}
	if _, err := age.DecryptHeader(hdr, ids...); err != nil {
		// To age a damaged header looks like a wrong key (or a bad MAC):
		// the ciphertext hash in the ledger tells tampering apart.
		if _, serr := src.Seek(0, 0); serr == nil {
			if d, herr := seal.HashReader(ctx, src, nil); herr == nil && (d.SHA256 != clip.Object.CipherSHA256 || d.Size != clip.Object.CipherSize) {
				return fmt.Errorf("%w: sealed file %s was modified (sha256 %s, the ledger says %s): run custody verify", seal.ErrHashMismatch, clip.Object.Path, d.SHA256, clip.Object.CipherSHA256)
			}
		}
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			if clip.DualControl() {
				return fmt.Errorf("%w: the recombined key does not open clip %s", ErrCorrupt, clip.ID)
			}
			return ErrAccessDenied
		}
		return err
	}
	return nil
}

// logOpen ledgers an open of clipID (action "access", or "access.denied"
// with its outcome); an access under a grant checks the grant is still
// usable and consumes it.
func (s *Store) logOpen(ctx context.Context, clipID string, req *Request, opts OpenOptions, action, outcome string) error {
	p := AccessPayload{Reason: opts.Reason, Identity: opts.Identity, Output: filepath.Base(opts.Out), Outcome: outcome}
	if req != nil && action == "access" {
		p.Request, p.Grant, p.Purpose = req.ID, req.Grant.ID, PurposeOpen
	}
	payload, _ := json.Marshal(p)
	return s.UpdateAs(ctx, opts.As, func(tx *Tx) error {
		if req != nil && action == "access" {
			// Another open may have used the grant meanwhile.
			st := Replay(tx.Ledger)
			if _, err := st.usableGrant(st.Clips[clipID], opts.As, req.ID, PurposeOpen, laterOf(tx.now(), opts.Now)); err != nil {
				return err
			}
		}
		if _, err := tx.Append(manifest.Entry{Action: action, Clip: clipID, Payload: payload}); err != nil {
			return err
		}
		if req != nil && action == "access" {
			// The grant is consumed: destroy its file now.
			_, err := s.sweepDead(Replay(tx.Ledger))
			return err
		}
		return nil
	})
}
