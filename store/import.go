package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/seal"
)

var (
	// ErrEmpty refuses zero-byte files.
	ErrEmpty = errors.New("file is empty")
	// ErrNotRegular refuses directories, devices and the like.
	ErrNotRegular = errors.New("not a regular file")
	// ErrChanged means the original changed while it was being read.
	ErrChanged = errors.New("file changed while it was being imported")
	// ErrNoOwner refuses an import into a dual-control store without an owner.
	ErrNoOwner = errors.New("the clip needs an owner")
)

// DuplicateError refuses a file whose content is already in the store.
type DuplicateError struct {
	Path     string
	Existing string // clip id
	SHA256   string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("already in the store as clip %s (sha256 %s)", e.Existing, e.SHA256)
}

// InputError wraps a refusal of one input file.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// ImportOptions describes a recording being imported.
type ImportOptions struct {
	Device     string
	Wearer     string
	Location   string
	Note       string
	RecordedAt time.Time // zero: from the container, else the file's mtime
	// Progress is called with bytes read; Probed once ffprobe has run.
	Progress func(int64)
	// Owner is the registered person who recorded the clip. A
	// dual-control store requires one: the clip's key is split between
	// them and the DPOs.
	Owner string
	// Consent is the patient's decision, if known at import.
	Consent *ConsentRecord
	// PluginUI serves age plugin recipients of owners and DPOs.
	PluginUI *plugin.ClientUI
}

// Import seals one recording into the store in a single streaming pass:
// the original is read once, read-only; its SHA-256 is computed while it is
// encrypted to the store's recipients; the ciphertext is hashed while it is
// written. Nothing is registered unless everything succeeded.
//
// A damaged recording (cut short, its MP4 moov never written) is sealed
// byte for byte like any other; its Media says Damaged, what could and
// could not be read, and the duration that decodes. Only a file that is
// not a recording at all is refused (media.ErrNotMedia).
func (s *Store) Import(ctx context.Context, path string, opts ImportOptions) (*Clip, error) {
	if s.signer == nil {
		return nil, ErrLocked
	}
	if opts.Consent != nil {
		if err := opts.Consent.Check(true); err != nil {
			return nil, err
		}
		c := *opts.Consent
		c.RecordedBy, c.RecordedAt = "", ""
		opts.Consent = &c
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{path, err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &InputError{path, ErrNotRegular}
	}
	if fi.Size() == 0 {
		return nil, &InputError{path, ErrEmpty}
	}
	// The file is examined beside the sealing pass rather than before it:
	// ffprobe, and a second read of the file that demuxes every packet to
	// find what decodes (media.Examine). If it refuses the file, which
	// is then not a recording at all, the pass is cancelled at once and
	// nothing is kept. A damaged recording is sealed as it is and marked.
	sealCtx, cancelSeal := context.WithCancel(ctx)
	defer cancelSeal()
	type probed struct {
		info *media.Info
		err  error
	}
	probeDone := make(chan probed, 1)
	go func() {
		info, err := media.Examine(ctx, path)
		if err != nil {
			cancelSeal()
		}
		probeDone <- probed{info, err}
	}()
	var info *media.Info
	waitProbe := func() error {
		if info != nil {
			return nil
		}
		pr := <-probeDone
		if pr.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &InputError{path, pr.err}
		}
		info = pr.info
		return nil
	}
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	st := Replay(l)
	idb := make([]byte, 6)
	rand.Read(idb)
	id := hex.EncodeToString(idb)

	var (
		recips    []age.Recipient
		recipStrs []string
		shares    []Share
		keyFiles  []*Sealing
	)
	if opts.Owner != "" {
		if u := st.Users[opts.Owner]; u == nil || !u.Active {
			return nil, fmt.Errorf("%w: owner %q is not a registered person (see custody user list)", ErrUnknownPerson, opts.Owner)
		}
	}
	if st.Policy.DualControl {
		if opts.Owner == "" {
			return nil, fmt.Errorf("%w: this store is under dual control: name the person who recorded the clip with --owner", ErrNoOwner)
		}
		var k *clipKey
		k, shares, keyFiles, err = s.dualSeal(ctx, st, id, opts.Owner, opts.PluginUI)
		if err != nil {
			return nil, err
		}
		recips, recipStrs = []age.Recipient{k.id.Recipient()}, []string{k.id.Recipient().String()}
	} else if recips, recipStrs, err = s.Recipients(l); err != nil {
		return nil, err
	}
	stagePath := filepath.Join(s.Dir, StagingDir, id+stagingSuffix)
	// The flock tells a concurrent recovery that this file is live.
	stage, err := createStaging(stagePath)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			os.Remove(stagePath)
			discardAll(keyFiles)
		}
		stage.Close()
	}()

	src, err := os.Open(path)
	if err != nil {
		return nil, &InputError{path, err}
	}
	defer src.Close()
	w := &writebackWriter{f: stage}
	sealed, err := seal.Seal(sealCtx, w, src, recips, opts.Progress)
	if perr := waitProbe(); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, err
	}
	if err := stage.Sync(); err != nil {
		return nil, err
	}
	after, err := src.Stat()
	if err != nil {
		return nil, &InputError{path, err}
	}
	if after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) || sealed.Plain.Size != fi.Size() {
		return nil, &InputError{path, ErrChanged}
	}

	p := ImportPayload{
		Object: Object{ID: id, Path: ObjectsDir + "/" + id + ".age", SHA256: sealed.Plain.SHA256, Size: sealed.Plain.Size,
			CipherSHA256: sealed.Cipher.SHA256, CipherSize: sealed.Cipher.Size},
		Filename: filepath.Base(path), Media: info, Device: opts.Device, Wearer: opts.Wearer,
		Location: opts.Location, Note: opts.Note, Recipients: recipStrs,
		Owner: opts.Owner, Consent: opts.Consent, Shares: shares,
	}
	switch {
	case !opts.RecordedAt.IsZero():
		p.RecordedAt, p.RecordedAtSource = opts.RecordedAt.UTC().Format(time.RFC3339Nano), "flag"
	case info.Created != nil:
		p.RecordedAt, p.RecordedAtSource = info.Created.Format(time.RFC3339Nano), "container"
	default:
		p.RecordedAt, p.RecordedAtSource = fi.ModTime().UTC().Format(time.RFC3339Nano), "mtime"
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}

	var clip *Clip
	err = s.Update(ctx, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if dup := st.BySHA256(p.Object.SHA256); dup != nil {
			return &InputError{path, &DuplicateError{Path: path, Existing: dup.ID, SHA256: dup.Object.SHA256}}
		}
		if p.Owner != "" {
			if u := st.Users[p.Owner]; u == nil || !u.Active {
				return fmt.Errorf("%w: owner %q was removed during the import", ErrUnknownPerson, p.Owner)
			}
		}
		if len(shares) == 2 {
			// The DPO share must reach exactly the DPOs there are now.
			var now []string
			for _, u := range st.activeDPOs(p.Owner) {
				now = append(now, u.Name)
			}
			if strings.Join(now, ",") != strings.Join(shares[1].Holders, ",") {
				return fmt.Errorf("the DPOs changed while the clip was being sealed; import it again")
			}
		}
		if _, err := tx.Append(manifest.Entry{Action: "import", Clip: id, Payload: payload}); err != nil {
			return err
		}
		// From here the import is committed: a crash before the rename
		// leaves the sealed file in staging, and recovery publishes it.
		committed = true
		dst := filepath.Join(s.Dir, p.Object.Path)
		if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s already exists", ErrCorrupt, dst)
		}
		if err := os.Rename(stagePath, dst); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(filepath.Join(s.Dir, ObjectsDir)); err != nil {
			return err
		}
		if err := s.publishKeys(keyFiles...); err != nil {
			return err
		}
		clip = Replay(tx.Ledger).Clips[id]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return clip, nil
}

// writebackWriter starts disk writeback every few MiB so that the final
// fsync does not stall on a gigabyte of dirty pages.
type writebackWriter struct {
	f       *os.File
	off     int64
	flushed int64
}

const writebackEvery = 16 << 20

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackEvery {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, err
}
