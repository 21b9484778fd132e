package witness

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/custody-evidence/custody/internal/atomicfile"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// Dir is a witness directory: every checkpoint the store signs is copied
// there as its own file, named by store, size and root, and never
// overwritten, so the directory holds the whole history of the store's
// checkpoints. Custody only ever creates files in it, directly in
// LOCATION (no folder of its own, which the station's account could empty
// even where LOCATION is append-only); make LOCATION append-only where it
// is kept (chattr +a on Linux, a WORM share, an Object Lock bucket) so
// that the station's own account cannot delete them either.
//
//	LOCATION/custody-store-ID.checkpoint-00000000000000000042-ROOTHEX
//
// Files an earlier version wrote in LOCATION/custody-store-ID/ are read too.
type Dir struct{ spec Spec }

// Spec returns the registered spec.
func (d *Dir) Spec() Spec { return d.spec }

func validateDir(s Spec) error {
	if !filepath.IsAbs(s.Location) || filepath.Clean(s.Location) != s.Location {
		return fmt.Errorf("%w: %q: a witness directory is given as a clean absolute path", ErrBadSpec, s.Location)
	}
	if s.Key != "" {
		return fmt.Errorf("%w: a witness directory has no key", ErrBadSpec)
	}
	return nil
}

// stem names this store inside the witness.
func stem(origin string) string { return strings.ReplaceAll(origin, "/", "-") }

// path is where a checkpoint of origin goes in the witness.
func (d *Dir) path(origin string, c *manifest.Checkpoint) string {
	return filepath.Join(d.spec.Location, stem(origin)+"."+FileName(c))
}

const filePrefix = "checkpoint-"

// FileName is the witness file name of a checkpoint.
func FileName(c *manifest.Checkpoint) string {
	return fmt.Sprintf("%s%020d-%s", filePrefix, c.Size, hex.EncodeToString(c.Root))
}

// parseName reads the size and root a witness file name claims.
func parseName(name string) (uint64, []byte, bool) {
	rest, ok := strings.CutPrefix(name, filePrefix)
	sz, rh, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 || len(sz) != 20 || len(rh) != 64 {
		return 0, nil, false
	}
	n, err := strconv.ParseUint(sz, 10, 64)
	root, herr := hex.DecodeString(rh)
	return n, root, err == nil && herr == nil
}

// Check reads the witness directory (see Witness.Check).
func (d *Dir) Check(ctx context.Context, log *Log, full bool) *Status {
	st := &Status{Spec: d.spec}
	if fi, err := os.Stat(d.spec.Location); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		st.Err = fmt.Errorf("witness directory %s cannot be read (%v): is it mounted?", d.spec.Location, err)
		return st
	}
	files, err := d.list(log.Origin)
	if err != nil {
		st.Err = err
		return st
	}
	// Newest first: a writer needs only the newest that is the store's.
	sort.Slice(files, func(i, j int) bool { return files[i].size > files[j].size })
	for _, f := range files {
		if ctx.Err() != nil {
			st.Err = ctx.Err()
			return st
		}
		h := d.judgeFile(log, f.path)
		st.Held = append(st.Held, h)
		if h.Judgment == Agrees && h.Size > st.Size {
			st.Size = h.Size
		}
		if !full && (h.Judgment == Agrees || h.Judgment == Ahead || h.Judgment == Fork) {
			break
		}
	}
	return st
}

type named struct {
	path string
	size uint64
}

// list finds this store's checkpoint files: directly in LOCATION, and in
// the folder of its own that earlier versions wrote.
func (d *Dir) list(origin string) ([]named, error) {
	var files []named
	ents, err := os.ReadDir(d.spec.Location)
	if err != nil {
		return nil, fmt.Errorf("witness directory %s: %v", d.spec.Location, err)
	}
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), stem(origin)+"."); ok {
			if n, _, ok := parseName(rest); ok {
				files = append(files, named{filepath.Join(d.spec.Location, e.Name()), n})
			}
		}
	}
	legacy := filepath.Join(d.spec.Location, stem(origin))
	ents, err = os.ReadDir(legacy)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("witness directory %s: %v", legacy, err)
	}
	for _, e := range ents {
		if n, _, ok := parseName(e.Name()); ok {
			files = append(files, named{filepath.Join(legacy, e.Name()), n})
		}
	}
	return files, nil
}

// judgeFile reads one witness file and judges it against the log.
func (d *Dir) judgeFile(log *Log, path string) Held {
	h := Held{Where: path, Judgment: Untrusted}
	base := filepath.Base(path)
	if i := strings.LastIndex(base, "."+filePrefix); i >= 0 {
		base = base[i+1:]
	}
	size, root, _ := parseName(base)
	h.Size, h.Root = size, root
	data, err := readRegular(path, 64<<10)
	if err != nil {
		h.Detail = err.Error()
		return h
	}
	c, pub, err := manifest.ParseCheckpoint(data)
	switch {
	case err != nil:
		h.Detail = err.Error()
		return h
	case c.Origin != log.Origin:
		h.Detail = fmt.Sprintf("it is a checkpoint of %q, not of this store", c.Origin)
		return h
	case c.Size != size || !bytes.Equal(c.Root, root):
		h.Detail = "its name does not match its content"
		return h
	case !keyIn(pub, log.Signers):
		h.Detail = fmt.Sprintf("it is signed by %s, which this store's ledger never authorised", seal.Fingerprint(pub))
		return h
	}
	h.Time = c.Time
	h.Judgment = log.Judge(c)
	if err := log.Ledger.Agrees(c); err != nil {
		h.Detail = err.Error()
	}
	return h
}

// readRegular reads a small regular file, refusing links and anything big.
func readRegular(path string, max int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", filepath.Base(path), fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("%s is larger than a checkpoint", filepath.Base(path))
	}
	return data, err
}

func keyIn(k ssh.PublicKey, keys []ssh.PublicKey) bool {
	for _, x := range keys {
		if bytes.Equal(x.Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}

// Publish copies the checkpoint into the witness directory. A file of the
// same size and root already there is kept as it is: it commits to the
// same entries.
func (d *Dir) Publish(ctx context.Context, log *Log, p *Published) error {
	if fi, err := os.Stat(d.spec.Location); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return fmt.Errorf("witness directory %s cannot be written (%v): is it mounted?", d.spec.Location, err)
	}
	err := atomicfile.WriteNew(d.path(log.Origin, p.Checkpoint), p.File, 0o444)
	if errors.Is(err, atomicfile.ErrExists) {
		return nil
	}
	return err
}
