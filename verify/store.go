package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/witness"
	"golang.org/x/crypto/ssh"
)

// StoreOptions tunes a store verification.
type StoreOptions struct {
	// PinnedKey, if set, is the station public key the caller expects; the
	// genesis entry must name it.
	PinnedKey ssh.PublicKey
	// Progress is called with bytes hashed.
	Progress func(int64)
	// Checkpoints are checkpoint files kept elsewhere (from bundles, from a
	// witness, from an earlier verify): the ledger must extend each.
	Checkpoints []KeptCheckpoint
	// Witnesses are witnesses to consult besides those the ledger
	// registers: one named out of band still catches a store rolled back
	// to before its registration.
	Witnesses []witness.Spec
}

// Store verifies the store in dir. It returns an error only when it could
// not run at all (not a store, unreadable directory); everything wrong with
// the evidence is a Problem in the report.
func Store(ctx context.Context, dir string, opts StoreOptions) (*Report, error) {
	s, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	r := &Report{Kind: "store", Path: dir}
	lf, err := os.Open(filepath.Join(dir, store.LedgerFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			r.fail("ledger-missing", store.LedgerFile, "the ledger file is missing")
			return finish(r), nil
		}
		return nil, err
	}
	l, torn, perr := manifest.Parse(lf)
	lf.Close()
	if perr != nil {
		var le *manifest.LineError
		switch {
		case errors.As(perr, &le) && errors.Is(le.Err, manifest.ErrDuplicateKey):
			// Well formed and perhaps validly signed, but encoding/json and
			// other parsers would read different entries from it.
			r.fail("ledger-duplicate-key", fmt.Sprintf("%s line %d", store.LedgerFile, le.Line), "%v: readers could disagree about what the entry says", le.Err)
		case errors.As(perr, &le):
			r.fail("ledger-malformed", fmt.Sprintf("%s line %d", store.LedgerFile, le.Line), "%v: the entry was edited or damaged", le.Err)
		default:
			r.fail("ledger-malformed", store.LedgerFile, "%v", perr)
		}
		return finish(r), nil
	}
	r.Entries = l.Len()
	kr, issues := l.Check()
	for _, is := range issues {
		r.fail(is.Code, fmt.Sprintf("entry %d", is.Seq), "%s", is.Msg)
	}
	if kr.Station != nil {
		r.StationKey = seal.Fingerprint(kr.Station)
		r.Signer = r.StationKey
		checkStationFiles(r, s, kr.Station, opts.PinnedKey)
	}
	if g, err := l.Genesis(); err == nil && g.Store != s.Config.ID {
		r.fail("store-id", store.ConfigFile, "store id %s does not match the genesis entry's %s: the ledger belongs to another store", s.Config.ID, g.Store)
	}
	checkCheckpoint(r, s, l, kr, torn)
	st := store.Replay(l)
	if err := checkWitnesses(ctx, r, s, l, st, opts.Witnesses); err != nil {
		return nil, err
	}
	checkKept(r, s, l, kr, st, opts.Checkpoints)
	noteLosses(r, l)
	if err := checkObjects(ctx, r, s, l, opts.Progress); err != nil {
		return nil, err
	}
	if err := checkTempFiles(r, s); err != nil {
		return nil, err
	}
	checkGovernance(r, s, l, issues)
	return finish(r), nil
}

func finish(r *Report) *Report {
	r.Verified = len(r.Problems) == 0 && (r.Kind == "store" || r.Trusted)
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	return r
}

func checkStationFiles(r *Report, s *store.Store, station, pinned ssh.PublicKey) {
	r.Trusted = true
	if pinned != nil && !bytes.Equal(pinned.Marshal(), station.Marshal()) {
		r.Trusted = false
		r.fail("station-key-pin", "genesis", "the ledger's station key %s is not the pinned key %s", seal.Fingerprint(station), seal.Fingerprint(pinned))
	}
	line, err := s.StationKey()
	if err != nil {
		r.note("station.pub is missing; the ledger's genesis entry names the station key")
		return
	}
	pub, err := seal.ParsePublicKey(line)
	if err != nil || !bytes.Equal(pub.Marshal(), station.Marshal()) {
		r.fail("station-key-file", store.StationPubFile, "station.pub does not hold the key the genesis entry names")
	}
}

func checkCheckpoint(r *Report, s *store.Store, l *manifest.Ledger, kr *manifest.Keyring, torn *manifest.TornTail) {
	data, err := s.ReadCheckpoint()
	if err != nil {
		r.fail("checkpoint-missing", store.CheckpointFile, "no signed checkpoint: truncation of the ledger cannot be ruled out")
		return
	}
	c, pub, err := manifest.ParseCheckpoint(data)
	if err != nil {
		r.fail("checkpoint-signature", store.CheckpointFile, "%v", err)
		return
	}
	r.Checkpoint = c.Size
	if c.Size > l.Len() {
		if !kr.EverAuthorised(pub) {
			r.fail("checkpoint-signer", store.CheckpointFile, "checkpoint is signed by %s, a key this ledger never authorised", seal.Fingerprint(pub))
		}
	} else if err := l.CheckpointSigner(c, pub); err != nil {
		r.fail("checkpoint-signer", store.CheckpointFile, "%v", err)
	}
	if c.Origin != s.Origin() {
		r.fail("checkpoint-origin", store.CheckpointFile, "checkpoint is for %q, not this store (%q)", c.Origin, s.Origin())
	}
	if c.Size > l.Len() {
		r.fail("ledger-truncated", store.LedgerFile, "the signed checkpoint covers %d entries but the ledger has only %d complete entries: entries were removed from the end", c.Size, l.Len())
		return
	}
	root, err := l.Tree().Root(c.Size)
	if err != nil {
		r.fail("checkpoint-root", store.CheckpointFile, "%v", err)
		return
	}
	if !bytes.Equal(root, c.Root) {
		r.fail("checkpoint-root", store.LedgerFile, "the first %d entries do not hash to the signed checkpoint root (%s): the ledger was rewritten", c.Size, hex.EncodeToString(c.Root)[:16])
	}
	if c.Size < l.Len() {
		r.note("%d entr(ies) after the latest checkpoint (an interrupted write; the next write re-signs the checkpoint)", l.Len()-c.Size)
	}
	if torn != nil {
		r.note("ledger ends in %d bytes of an interrupted append after entry %d; the next write removes them and records it", len(torn.Bytes), l.Len()-1)
	}
}

// checkObjects checks every live sealed file against the ledger. Codes:
//
//	object-missing      a sealed file the ledger registers is not on disk
//	object-unreadable   a sealed file cannot be read to the end
//	object-size         a sealed file's size is not the ledger's
//	object-hash         a sealed file's sha256 is not the ledger's
//	object-stray        a file in objects/ the ledger does not register
//	object-not-regular  something in objects/, keys/ or staging/ (or one of
//	                    those directories) is not a regular file (a
//	                    directory) of the store: a symlink, a directory,
//	                    a pipe, a socket or a device
func checkObjects(ctx context.Context, r *Report, s *store.Store, l *manifest.Ledger, progress func(int64)) error {
	if err := checkFileTypes(r, s); err != nil {
		return err
	}
	st := store.Replay(l)
	ids := make([]string, 0, len(st.Objects))
	for id := range st.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	referenced := map[string]bool{}
	for _, id := range ids {
		o := st.Objects[id]
		referenced[filepath.Base(o.Path)] = true
		f, err := s.OpenObject(o)
		var nr *store.NotRegularError
		switch {
		case errors.As(err, &nr):
			continue // checkFileTypes names it
		case errors.Is(err, fs.ErrNotExist):
			r.fail("object-missing", o.Path, "sealed file is missing")
			continue
		case err != nil:
			return err
		}
		if f.Name() == filepath.Join(s.Dir, filepath.FromSlash(store.StagedPath(o))) {
			// An import committed just before a crash is still in staging.
			r.note("sealed file %s is committed but still in staging (interrupted import); the next write moves it into place", o.Path)
		}
		d, err := seal.HashReader(ctx, f, progress)
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail("object-unreadable", o.Path, "%v", err)
			continue
		}
		r.Objects++
		r.Bytes += d.Size
		switch {
		case d.Size != o.CipherSize:
			r.fail("object-size", o.Path, "sealed file is %d bytes, the ledger says %d: it was truncated or appended to", d.Size, o.CipherSize)
		case d.SHA256 != o.CipherSHA256:
			r.fail("object-hash", o.Path, "sealed file's sha256 is %s, the ledger says %s: it was modified", d.SHA256, o.CipherSHA256)
		}
	}
	ents, err := os.ReadDir(filepath.Join(s.Dir, store.ObjectsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if !referenced[e.Name()] && e.Type().IsRegular() {
			r.fail("object-stray", store.ObjectsDir+"/"+e.Name(), "file is not registered in the ledger")
		}
	}
	staged, _ := os.ReadDir(filepath.Join(s.Dir, store.StagingDir))
	for _, e := range staged {
		id := strings.TrimSuffix(e.Name(), ".age.partial")
		if _, ok := st.Objects[id]; !ok && e.Type().IsRegular() {
			r.note("staging/%s is left from an interrupted import that never committed; it is not evidence and the next write removes it", e.Name())
		}
	}
	return nil
}

// checkFileTypes fails (object-not-regular) anything in objects/, keys/
// and staging/ that is not a regular file, and any of those directories
// that is not a directory of the store. custody makes only regular files
// there; a link to a copy elsewhere would hash right, and purge would
// delete only the link. Nothing is opened, so a pipe cannot hang verify.
func checkFileTypes(r *Report, s *store.Store) error {
	for _, dir := range store.SealedDirs {
		bad, err := notRegular(r, s.CheckSealedDir(dir))
		if err != nil {
			return err
		}
		if bad {
			continue // listing a linked directory would read elsewhere
		}
		ents, err := os.ReadDir(filepath.Join(s.Dir, dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				continue
			}
			if _, err := notRegular(r, s.CheckSealedFile(dir+"/"+e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// notRegular reports a *store.NotRegularError as a problem (bad), and
// returns any other error (nil and a vanished file are nothing to report).
func notRegular(r *Report, err error) (bad bool, _ error) {
	var nr *store.NotRegularError
	switch {
	case errors.As(err, &nr):
		r.fail("object-not-regular", nr.Path, "is %s, not a regular file in the store: sealed files are never links or special files, so something else stands in for the evidence (purge would not destroy it)", nr.What)
		return true, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	return false, nil
}

// checkTempFiles notes what an interrupted checkpoint or statement write
// left: like an uncommitted staging file it is not evidence, and the next
// write removes it. Files named like them elsewhere (objects/, keys/) are
// strays all the same: custody writes no temporary files there.
func checkTempFiles(r *Report, s *store.Store) error {
	temps, err := s.TempFiles()
	if err != nil {
		return err
	}
	for _, p := range temps {
		r.note("%s is a temporary file left by an interrupted write; it is not evidence and the next write removes it", p)
	}
	return nil
}
