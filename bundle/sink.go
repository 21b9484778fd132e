package bundle

import (
	"archive/zip"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrOutputExists refuses to replace an existing output.
var ErrOutputExists = errors.New("output already exists")

// sink receives a bundle's files while it is built, somewhere that does
// not look like a bundle until commit renames it into place.
type sink interface {
	create(name string) (io.WriteCloser, error)
	commit() error // make durable and move into place, refusing to replace
	abort()        // remove everything written
}

// writer writes files into a sink, hashing each on the way.
type writer struct {
	sink  sink
	files map[string]Digests
}

func (w *writer) put(name string, fn func(io.Writer) error) (Digests, error) {
	if is := CheckPath(name); is != nil {
		return Digests{}, fmt.Errorf("internal error: unsafe bundle name: %s", is)
	}
	if _, dup := w.files[name]; dup {
		return Digests{}, fmt.Errorf("internal error: %s written twice", name)
	}
	f, err := w.sink.create(name)
	if err != nil {
		return Digests{}, err
	}
	h := newHasher(nil)
	err = fn(io.MultiWriter(f, h))
	d := h.Sum()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Digests{}, err
	}
	w.files[name] = d
	return d, nil
}

func (w *writer) putBytes(name string, b []byte) (Digests, error) {
	return w.put(name, func(out io.Writer) error { _, err := out.Write(b); return err })
}

// names returns the written names, sorted.
func (w *writer) names() []string {
	out := make([]string, 0, len(w.files))
	for n := range w.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// dirSink builds the bundle in a hidden temporary directory beside the
// output and renames it into place at the end. A killed export leaves the
// directory (a directory cannot be unnamed); the next export beside it
// removes it (atomicfile.TempDir).
type dirSink struct {
	out, tmp string
	td       *atomicfile.Dir
	dirs     map[string]bool
}

func newDirSink(out string) (*dirSink, error) {
	td, err := atomicfile.TempDir(filepath.Dir(out), filepath.Base(out), 0o750)
	if err != nil {
		return nil, err
	}
	return &dirSink{out: out, tmp: td.Path, td: td, dirs: map[string]bool{"": true}}, nil
}

type syncedFile struct{ *os.File }

func (f syncedFile) Close() error {
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

func (d *dirSink) create(name string) (io.WriteCloser, error) {
	dir := filepath.Dir(filepath.FromSlash(name))
	if dir == "." {
		dir = ""
	}
	if !d.dirs[dir] {
		if err := os.MkdirAll(filepath.Join(d.tmp, dir), 0o750); err != nil {
			return nil, err
		}
		for p := dir; p != "" && p != "."; p = filepath.Dir(p) {
			d.dirs[p] = true
		}
	}
	f, err := os.OpenFile(filepath.Join(d.tmp, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	return syncedFile{f}, nil
}

func (d *dirSink) commit() error {
	// Directories deepest first, so that every entry is durable before the
	// rename publishes the bundle.
	dirs := make([]string, 0, len(d.dirs))
	for p := range d.dirs {
		dirs = append(dirs, p)
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, p := range dirs {
		if err := atomicfile.SyncDir(filepath.Join(d.tmp, p)); err != nil {
			return err
		}
	}
	if err := renameNoReplace(d.tmp, d.out); err != nil {
		return err
	}
	d.td.Release()
	return atomicfile.SyncDir(filepath.Dir(d.out))
}

func (d *dirSink) abort() { d.td.Remove() }

// zipSink writes a zip (stored, not compressed: footage does not compress,
// and stored entries verify in place at disk speed) to a file with no name
// yet beside the output (atomicfile.Create: nothing is left if the export
// is killed), and links it into place at the end. Every entry is under one
// base directory named after the zip, as RFC 8493 section 4 requires of a
// serialized bag.
type zipSink struct {
	out, base string
	f         *atomicfile.File
	zw        *zip.Writer
	mod       time.Time
}

func newZipSink(out string, mod time.Time) (*zipSink, error) {
	f, err := atomicfile.Create(filepath.Dir(out), filepath.Base(out), 0o640)
	if err != nil {
		return nil, err
	}
	base := ZipBase(out)
	return &zipSink{out: out, base: base, f: f, zw: zip.NewWriter(f), mod: mod}, nil
}

// ZipBase is the bag's base directory inside a zip written to out.
func ZipBase(out string) string {
	return SafeName(strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)))
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (z *zipSink) create(name string) (io.WriteCloser, error) {
	h := &zip.FileHeader{Name: z.base + "/" + name, Method: zip.Store, Modified: z.mod}
	h.SetMode(0o644)
	w, err := z.zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	return nopCloser{w}, nil
}

func (z *zipSink) commit() error {
	if err := z.zw.Close(); err != nil {
		return err
	}
	// Link never replaces a file that appeared meanwhile.
	err := z.f.Link(z.out)
	if errors.Is(err, atomicfile.ErrExists) {
		err = fmt.Errorf("%w: %s", ErrOutputExists, z.out)
	}
	if cerr := z.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (z *zipSink) abort() { z.f.Close() }
