package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Sealed files are the store's own. Everything custody reads or deletes in
// objects/, keys/ and staging/ must be a regular file in those directories,
// which must be directories of the store: a symbolic link to a copy kept
// elsewhere would verify (its bytes are right), and purge would then
// delete only the link and report the evidence destroyed. A directory,
// named pipe or device where a sealed file should be is refused too (a
// pipe would also hang whoever opened it).

// NotRegularError says that a file custody reads or deletes in the store is
// not a regular file inside it. It is an integrity failure (ErrCorrupt):
// custody never makes such a thing.
type NotRegularError struct {
	Path string // store-relative, with forward slashes
	What string // what is there instead, e.g. "a symbolic link to /tmp/x.age"
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%v: %s is %s, not a regular file in the store: sealed files are never links or special files, so it was tampered with (run custody verify)", ErrCorrupt, e.Path, e.What)
}

// Unwrap makes it an ErrCorrupt.
func (e *NotRegularError) Unwrap() error { return ErrCorrupt }

// missingError is a sealed file that is nowhere: both ErrCorrupt (the
// ledger registers it) and fs.ErrNotExist (for callers that say so).
type missingError struct{ path string }

func (e *missingError) Error() string {
	return fmt.Sprintf("%v: sealed file %s is missing (run custody verify)", ErrCorrupt, e.path)
}

func (e *missingError) Is(target error) bool { return target == ErrCorrupt || target == fs.ErrNotExist }

// SealedDirs are the store directories that hold sealed files.
var SealedDirs = []string{ObjectsDir, KeysDir, StagingDir}

// describeMode says what a non-regular file is, for messages.
func describeMode(full string, m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return "a symbolic link"
		}
		return fmt.Sprintf("a symbolic link to %q", target)
	case t.IsDir():
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	default:
		return "a special file (" + t.String() + ")"
	}
}

// CheckSealedDir checks that a store directory holding sealed files
// (objects, keys or staging), if it exists, is a directory of the store
// and not a link to one elsewhere: a *NotRegularError otherwise.
func (s *Store) CheckSealedDir(dir string) error {
	full := filepath.Join(s.Dir, dir)
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return &NotRegularError{Path: dir, What: describeMode(full, fi.Mode()) + " where the directory should be"}
	}
	return nil
}

// CheckSealedDirs checks objects/, keys/ and staging/ (see CheckSealedDir).
func (s *Store) CheckSealedDirs() error {
	for _, d := range SealedDirs {
		if err := s.CheckSealedDir(d); err != nil {
			return err
		}
	}
	return nil
}

// lstatSealed looks at a file in a sealed-file directory without following
// a link: nil error means it is a regular file there. A missing file is
// fs.ErrNotExist; anything else there is a *NotRegularError.
func (s *Store) lstatSealed(rel string) (fs.FileInfo, error) {
	if err := s.CheckSealedDir(strings.SplitN(rel, "/", 2)[0]); err != nil {
		return nil, err
	}
	full := filepath.Join(s.Dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: rel, What: describeMode(full, fi.Mode())}
	}
	return fi, nil
}

// CheckSealedFile checks the file at a store-relative path (objects/...,
// keys/... or staging/...), without following links: nil if it is a
// regular file, fs.ErrNotExist if there is nothing, a *NotRegularError
// if something else is there.
func (s *Store) CheckSealedFile(rel string) error {
	_, err := s.lstatSealed(rel)
	return err
}

// openSealed opens a regular file of the store for reading. The open
// refuses to follow a link and does not block on a pipe, and the opened
// file must be the regular file that was looked at, so that swapping it in
// between gains nothing.
func (s *Store) openSealed(rel string) (*os.File, error) {
	fi, err := s.lstatSealed(rel)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(s.Dir, filepath.FromSlash(rel))
	f, err := openNoFollow(full)
	if err != nil {
		return nil, err
	}
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !got.Mode().IsRegular() || !os.SameFile(fi, got) {
		f.Close()
		return nil, &NotRegularError{Path: rel, What: "a file that was replaced while custody opened it"}
	}
	return f, nil
}

// objectRel is where an object's file is: its own path, or staging/ when a
// crash interrupted its publication (it is committed all the same).
func (s *Store) objectRel(o Object) (string, error) {
	if !o.Valid() {
		return "", fmt.Errorf("%w: the ledger names sealed file %q, which is not a path custody makes (run custody verify)", ErrCorrupt, o.Path)
	}
	for _, rel := range []string{o.Path, StagedPath(o)} {
		_, err := s.lstatSealed(rel)
		if err == nil {
			return rel, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", &missingError{path: o.Path}
}

// OpenObject opens an object's sealed file for reading (see ObjectPath): a
// regular file of the store, never a link or a special file.
func (s *Store) OpenObject(o Object) (*os.File, error) {
	rel, err := s.objectRel(o)
	if err != nil {
		return nil, err
	}
	return s.openSealed(rel)
}

// StagedPath is where an object's file waits in staging/, store-relative.
func StagedPath(o Object) string { return StagingDir + "/" + o.ID + stagingSuffix }
