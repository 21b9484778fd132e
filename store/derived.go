package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/manifest"
)

// Derived material (redacted versions and their review files) in a
// dual-control store. Redacting an original reads it, so it is an access
// like any other: the owner files a request with purpose "redact", a DPO
// approves it, and BeginDerive recombines the clip key in memory, ledgers
// the access (using up the grant) and serves the plaintext to ffmpeg only.
//
// What comes out is sealed to a fresh X25519 key of its own (the derived
// key), never stored in the clear: its text is sealed, whole, to every DPO
// as a small file under keys/, registered in the "redact" entry and
// re-sealed (keys.rewrap) whenever the set of DPOs changes, like the DPO
// shares. So any DPO, and no one else, can open a redacted version and its
// review files, with custody or with stock age in two steps:
//
//	age -d -i dpo_ed25519 keys/KEY.age > derived.key
//	age -d -i derived.key objects/CLIP.age > redacted.mp4
//
// and purging the clip destroys the key file, which crypto-shreds every
// copy of the derived files too. A single-recipient store seals derived
// material to its recipients, as before.

var (
	// ErrDualControl refuses an operation that would bypass dual control.
	ErrDualControl = errors.New("refused: this store is under dual control")
	// ErrNotOriginal refuses redacting a clip that is itself a redacted
	// version.
	ErrNotOriginal = errors.New("not an original")
)

// DeriveOptions says who makes a redacted version of an original, and why.
type DeriveOptions struct {
	// Identities open the original in a single-recipient store.
	Identities []age.Identity
	// Identity names the key(s) used, for the access entry.
	Identity string
	// Reason is why the original is read; under dual control it defaults
	// to the request's.
	Reason string
	// As is the person acting. Under dual control it must be the clip's
	// owner holding a request approved for PurposeRedact, and no station
	// passphrase is needed. Otherwise nil means the station operator, and
	// the station key must be unlocked.
	As *Person
	// Request names the approved request to use; empty picks the only one.
	Request string
	// Now is the policy clock for grant expiry: the later of it and the
	// store's clock counts, so it can only make expiry stricter.
	Now time.Time
	// PluginUI serves DPOs' age plugin recipients (hardware tokens).
	PluginUI *plugin.ClientUI
}

// Derivation is a redaction in progress: the original's plaintext is
// served to the redactor and its output sealed into staging, until Commit
// registers the redacted version or Close abandons it.
type Derivation struct {
	// Clip is the original being redacted.
	Clip *Clip
	// URL serves the original's plaintext to ffmpeg on 127.0.0.1, with
	// random access (see Serve); nothing is written to disk in the clear.
	URL string
	// Request is the approved request used under dual control, else nil.
	Request *Request

	s         *Store
	opts      DeriveOptions
	served    *Served
	key       *age.X25519Identity // dual control: the derived key, in memory only
	recips    []age.Recipient
	staged    []*Sealing
	committed bool
}

// BeginDerive starts a redaction of an original. It finds the key that
// opens it (the caller's identities, or under dual control the clip key
// recombined from the owner share and an approved request's grant), ledgers
// the access before any plaintext is read, and serves the plaintext. The
// caller seals the redactor's output with Seal, then calls Commit; Close
// must always be called.
func (s *Store) BeginDerive(ctx context.Context, clipID string, opts DeriveOptions) (_ *Derivation, err error) {
	defer func() {
		if err != nil {
			err = s.logRefusal(ctx, opts.As, err)
		}
	}()
	if opts.As == nil && s.signer == nil {
		return nil, ErrLocked
	}
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	st := Replay(l)
	c, err := st.Find(clipID)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusPurged {
		return nil, fmt.Errorf("%w: clip %s; only its hashes remain in the ledger", ErrPurged, c.ID)
	}
	if c.Kind != "original" {
		return nil, fmt.Errorf("%w: clip %s is a redacted version of %s; redact the original", ErrNotOriginal, c.ID, c.Parent)
	}
	d := &Derivation{s: s, opts: opts, Clip: c}
	ids := opts.Identities
	switch {
	case c.DualControl():
		if opts.As == nil {
			return nil, fmt.Errorf("%w: clip %s is under dual control: redact it with the owner's SSH key (-i) and a request a DPO approved for redaction (custody request --purpose redact)", ErrNotApproved, c.ID)
		}
		req, err := st.usableGrant(c, opts.As, opts.Request, PurposeRedact, laterOf(s.Now(), opts.Now))
		if err != nil {
			return nil, err
		}
		key, err := s.unlockDual(c, opts.As, req)
		if err != nil {
			return nil, err
		}
		ids, d.Request = []age.Identity{key}, req
		if d.opts.Reason == "" {
			d.opts.Reason = "redaction: " + req.Reason + " (incident " + req.Incident + ")"
		}
		if d.key, err = age.GenerateX25519Identity(); err != nil {
			return nil, err
		}
		d.recips = []age.Recipient{d.key.Recipient()}
	case st.Policy.DualControl:
		return nil, fmt.Errorf("%w: clip %s of a dual-control store has no key shares (run custody verify)", ErrCorrupt, c.ID)
	default:
		if len(ids) == 0 && opts.As != nil {
			ids = opts.As.Identities
		}
		if d.recips, _, err = s.Recipients(l); err != nil {
			return nil, err
		}
	}
	if d.opts.Reason == "" {
		return nil, ErrNoReason
	}
	// Serve checks the key opens the clip before anything is ledgered.
	sv, err := s.Serve(ctx, c.Object, ids)
	if err != nil {
		if d.Request != nil && errors.Is(err, ErrAccessDenied) {
			return nil, fmt.Errorf("%w: the recombined key does not open clip %s", ErrCorrupt, c.ID)
		}
		return nil, err
	}
	d.served, d.URL = sv, sv.URL
	err = s.UpdateAs(ctx, opts.As, func(tx *Tx) error {
		p := AccessPayload{Reason: d.opts.Reason, Identity: opts.Identity, Output: "redaction (sealed derivative)"}
		if d.Request != nil {
			// Another open or redaction may have used the grant meanwhile.
			st := Replay(tx.Ledger)
			if _, err := st.usableGrant(st.Clips[c.ID], opts.As, d.Request.ID, PurposeRedact, laterOf(tx.now(), opts.Now)); err != nil {
				return err
			}
			p.Request, p.Grant, p.Purpose = d.Request.ID, d.Request.Grant.ID, PurposeRedact
		}
		if _, err := tx.appendJSON("access", c.ID, p); err != nil {
			return err
		}
		if d.Request != nil {
			// The grant is used up: destroy its file now.
			_, err := s.sweepDead(Replay(tx.Ledger))
			return err
		}
		return nil
	})
	if err != nil {
		sv.Close()
		return nil, err
	}
	return d, nil
}

// Seal seals derived material (the redacted video, a review file) from r
// into staging: to the derived key under dual control, else to the store's
// recipients. Nothing is registered until Commit.
func (d *Derivation) Seal(ctx context.Context, r io.Reader, progress func(int64)) (*Sealing, error) {
	if d.committed {
		return nil, errors.New("derivation already committed")
	}
	sg, err := d.s.sealStaged(ctx, r, d.recips, progress)
	if err != nil {
		return nil, err
	}
	d.staged = append(d.staged, sg)
	return sg, nil
}

// Commit registers the redacted version (video, sealed with Seal) and its
// review files in one "redact" entry signed by whoever began the
// derivation. Under dual control the derived key is sealed, inside the
// transaction, to exactly the DPOs registered at that moment.
func (d *Derivation) Commit(ctx context.Context, video *Sealing, review []*Sealing, p DerivePayload) (*Clip, error) {
	if d.committed {
		return nil, errors.New("derivation already committed")
	}
	var dual *Derivation
	if d.key != nil {
		dual = d
	}
	c, err := d.s.commitDerivative(ctx, d.opts.As, d.Clip.ID, video, review, p, dual)
	if err != nil {
		return nil, err
	}
	d.committed = true
	return c, nil
}

// Close stops serving the plaintext, discards sealed files that were not
// committed, and drops the derived key.
func (d *Derivation) Close() error {
	var err error
	if d.served != nil {
		err = d.served.Close()
		if n, last := d.served.Refused(); n > 0 {
			err = errors.Join(err, d.s.logForeignReaders(d.opts.As, d.Clip.ID, n, last))
		}
		d.served = nil
	}
	if !d.committed {
		discardAll(d.staged)
	}
	d.staged, d.key = nil, nil
	return err
}

// sealDerivedKey stages the derived key of redacted version child (of
// parent), sealed to every active DPO.
func (tx *Tx) sealDerivedKey(ctx context.Context, st *State, parent, child string, key *age.X25519Identity, ui *plugin.ClientUI) (*Sealing, *Share, error) {
	dpos := st.activeDPOs("")
	if len(dpos) == 0 {
		return nil, nil, fmt.Errorf("%w: register a DPO first", ErrNoDPO)
	}
	recs, names, err := recipientsOf(dpos, ui)
	if err != nil {
		return nil, nil, err
	}
	plain := tx.s.derivedKeyBytes(parent, child, key)
	defer clear(plain)
	sg, err := tx.s.stageSmall(ctx, plain, recs)
	if err != nil {
		return nil, nil, err
	}
	return sg, &Share{Kind: ShareDerived, Holders: names, Object: sg.Object}, nil
}

// derivedKeyBytes is a derived key file's plaintext: an age identity file,
// so that stock age can use it, whose comments bind it to its clip.
func (s *Store) derivedKeyBytes(parent, child string, key *age.X25519Identity) []byte {
	return []byte(fmt.Sprintf("# custody: the key of a redacted version, sealed to the DPOs\n# store %s\n# parent %s\n# clip %s\n%s\n",
		s.Config.ID, parent, child, key.String()))
}

// ClipIdentities returns the identities that open clip c's sealed file for
// the holder of ids. For a redacted version in a dual-control store it
// unwraps the clip's derived key with ids (a DPO's key) and returns it;
// otherwise it returns ids unchanged. Export uses it to open redacted
// versions with a DPO's key.
func (s *Store) ClipIdentities(c *Clip, ids []age.Identity) ([]age.Identity, error) {
	sh := c.share(ShareDerived)
	if sh == nil {
		return ids, nil
	}
	b, err := s.openSmall(sh.Object, ids)
	if err != nil {
		if errors.Is(err, ErrAccessDenied) {
			return nil, fmt.Errorf("%w: clip %s is a redacted version in a dual-control store, sealed for the DPOs (%s): use a DPO's key", ErrAccessDenied, c.ID, strings.Join(sh.Holders, ", "))
		}
		return nil, err
	}
	defer clear(b)
	var key string
	bound := map[string]string{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "# "), " "); ok && strings.HasPrefix(l, "# ") {
			bound[k] = v
		} else if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			key = l
		}
	}
	if bound["store"] != s.Config.ID || bound["clip"] != c.ID || bound["parent"] != c.Parent {
		return nil, fmt.Errorf("%w: the key file of clip %s belongs to another clip", ErrCorrupt, c.ID)
	}
	id, err := age.ParseX25519Identity(key)
	if err != nil {
		return nil, fmt.Errorf("%w: the key file of clip %s holds no key", ErrCorrupt, c.ID)
	}
	return []age.Identity{id}, nil
}

// replayDualRedact flags a redacted version of a dual-control original
// that was not made under an approved redaction request (which custody
// refuses), or not sealed for the DPOs.
func (st *State) replayDualRedact(rec *manifest.Record, parent *Clip, p *DerivePayload) {
	if p.Key == nil {
		st.flag(rec, "redact-unsealed", "redacted version %s of dual-control clip %s is not sealed to a key held by the DPOs", rec.Entry.Clip, parent.ID)
	}
	r := st.Requests[p.Request]
	if r == nil || r.Clip != parent.ID || r.RequesterKey != rec.Entry.Actor.Key || r.Purpose != PurposeRedact || r.Status != RequestOpened || r.Derived != "" {
		st.flag(rec, "redact-outside-request", "%s made redacted version %s of dual-control clip %s without a redaction approval of their own, used once for it", rec.Entry.Actor.Name, rec.Entry.Clip, parent.ID)
	}
	if r != nil && r.Derived == "" {
		r.Derived = rec.Entry.Clip
	}
}
