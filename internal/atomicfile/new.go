package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files that must not survive a crash half-written (plaintext footage,
// bundles) are written through File: on Linux an unnamed O_TMPFILE in the
// output directory, which the kernel frees if the process dies, linked to
// its name only when complete. Where the system or the filesystem has no
// O_TMPFILE, the file is a hidden ".NAME.custody-partial-RANDOM" instead,
// locked (flock) for as long as its writer has it open. A dead writer's
// lock is gone, so the next File or TempDir made in that directory removes
// it; a live writer's is never touched.

// partialMarker is in the name of every visible temporary file or
// directory made here, and only in theirs: cleanup looks for it.
const partialMarker = ".custody-partial-"

// useTmpfile is cleared by tests to exercise the fallback.
var useTmpfile = true

// File is a new file being written in a directory, with no name (or only a
// hidden temporary one) until Link.
type File struct {
	f      *os.File
	dir    string
	temp   string // the fallback's visible name; "" for an unnamed file
	linked bool
}

// Create starts a new file in dir, to be named later by Link (in dir),
// with exactly the permissions perm. base only names the fallback's
// temporary file. Leftovers of dead writers in dir are removed first.
func Create(dir, base string, perm os.FileMode) (*File, error) {
	CleanStale(dir)
	if useTmpfile {
		f, err := openUnnamed(dir, perm)
		if err == nil {
			if err = f.Chmod(perm); err != nil {
				f.Close()
				return nil, err
			}
			return &File{f: f, dir: dir}, nil
		}
		if !errors.Is(err, errNoTmpfile) {
			return nil, dirError(err, dir, base)
		}
	}
	f, err := createLocked(dir, base)
	if err != nil {
		return nil, dirError(err, dir, base)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{f: f, dir: dir, temp: f.Name()}, nil
}

// createLocked creates ".BASE.custody-partial-RANDOM" in dir and locks it.
// Between the two a cleaner could take the unlocked file for a dead
// writer's and remove it: the name is checked to still be this file once
// the lock is held, and another is made if not.
func createLocked(dir, base string) (*os.File, error) {
	for range 10 {
		f, err := os.CreateTemp(dir, "."+safeBase(base)+partialMarker+"*")
		if err != nil {
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		if sameFile(f, f.Name()) {
			return f, nil
		}
		f.Close()
	}
	return nil, errors.New("atomicfile: could not keep a temporary file from being removed")
}

// safeBase keeps a temporary name recognisable without letting base add
// path separators or the marker.
func safeBase(base string) string {
	base = strings.NewReplacer("/", "_", string(filepath.Separator), "_").Replace(base)
	return strings.ReplaceAll(base, partialMarker, "_")
}

func sameFile(f *os.File, name string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(name)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// File returns the open file, for writing or to hand to a child process.
// On Linux a child can open an inherited File as /proc/self/fd/N.
func (t *File) File() *os.File { return t.f }

// Write writes to the file.
func (t *File) Write(p []byte) (int, error) { return t.f.Write(p) }

// Link makes the file durable and gives it the name path (in the directory
// the file was created in), refusing to replace anything there: an error
// wrapping ErrExists, after which another name may be tried.
func (t *File) Link(path string) error {
	if t.linked {
		return errors.New("atomicfile: file already linked")
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	var err error
	if t.temp == "" {
		err = linkUnnamed(t.f, path)
	} else {
		err = linkTemp(t.temp, path)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return err
	}
	t.linked = true
	if t.temp != "" {
		os.Remove(t.temp) // after a rename it is already gone
	}
	return SyncDir(filepath.Dir(path))
}

// linkTemp names a temporary file: a hard link, which fails rather than
// replace; on a filesystem without hard links, a rename after a last check.
func linkTemp(temp, path string) error {
	err := os.Link(temp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(path); serr == nil {
		return fs.ErrExist
	}
	return os.Rename(temp, path)
}

// Close closes the file; one never linked is discarded. It is safe to
// call more than once.
func (t *File) Close() error {
	err := t.f.Close()
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	if !t.linked && t.temp != "" {
		os.Remove(t.temp)
		t.temp = ""
	}
	return err
}

// Dir is a hidden temporary directory that becomes an output (a bundle)
// when renamed into place. A directory cannot be made unnamed, so a crash
// leaves it; it is locked while in use, and the next File or TempDir made
// beside it removes it once its writer is dead.
type Dir struct {
	// Path is the directory's temporary name.
	Path string
	lock *os.File
}

// TempDir makes ".BASE.custody-partial-RANDOM" in parent, with
// permissions perm, removing dead writers' leftovers in parent first.
func TempDir(parent, base string, perm os.FileMode) (*Dir, error) {
	CleanStale(parent)
	for range 10 {
		p, err := os.MkdirTemp(parent, "."+safeBase(base)+partialMarker+"*")
		if err != nil {
			return nil, dirError(err, parent, base)
		}
		l, err := os.Open(p)
		if err == nil {
			err = lockFile(l)
			if err != nil {
				l.Close()
			}
		}
		if err == nil {
			err = os.Chmod(p, perm)
			if err != nil {
				l.Close()
			}
		}
		if err != nil {
			os.RemoveAll(p)
			return nil, err
		}
		if sameFile(l, p) {
			return &Dir{Path: p, lock: l}, nil
		}
		l.Close()
	}
	return nil, errors.New("atomicfile: could not keep a temporary directory from being removed")
}

// Release drops the lock; call it once the directory was renamed into
// place or removed.
func (d *Dir) Release() { d.lock.Close() }

// Remove deletes the directory and everything in it, and releases it.
func (d *Dir) Remove() {
	os.RemoveAll(d.Path)
	d.Release()
}

// CleanStale removes the temporary files and directories that writers
// which died (kill -9, power loss) left in dir, and returns their names.
// A live writer's are locked and kept. Only entries made here (named with
// the marker, owned by this user) are considered. Best effort: what cannot
// be removed is left.
func CleanStale(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), partialMarker) {
			continue
		}
		if removeIfDead(filepath.Join(dir, e.Name())) {
			removed = append(removed, e.Name())
		}
	}
	if len(removed) > 0 {
		SyncDir(dir)
	}
	return removed
}
