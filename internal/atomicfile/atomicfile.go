// Package atomicfile writes files so that a crash leaves either the old
// content or the new, never a mix: write a temporary file beside the
// target, fsync it, rename (or link) it into place, fsync the directory.
// New outputs (Create, WriteNew, TempDir) also leave nothing behind when
// the writer is killed: see new.go. The store, the redactor, export
// bundles and the CLI all write this way.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrExists is returned by WriteNew when the target already exists.
var ErrExists = errors.New("file already exists")

// NoDirError is returned when the folder a file or directory was to be
// made in does not exist, or is not a folder. Outputs go in a folder the
// user named, and "open out: no such file or directory" does not say which
// part of the path is wrong.
type NoDirError struct {
	Dir    string // the folder
	Target string // what was to be made in it
	NotDir bool   // Dir exists but is not a folder
}

func (e *NoDirError) Error() string {
	what := "does not exist"
	if e.NotDir {
		what = "is not a folder"
	}
	return fmt.Sprintf("cannot create %s: folder %s %s", e.Target, e.Dir, what)
}

// Unwrap keeps errors.Is(err, fs.ErrNotExist) true for a missing folder.
func (e *NoDirError) Unwrap() error {
	if e.NotDir {
		return syscall.ENOTDIR
	}
	return fs.ErrNotExist
}

// dirError turns the error of making base in dir into a NoDirError when
// it is dir itself that is missing or not a folder; other errors pass.
func dirError(err error, dir, base string) error {
	if err == nil || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
		return err
	}
	e := &NoDirError{Dir: dir, Target: filepath.Join(dir, base)}
	fi, serr := os.Stat(dir)
	switch {
	case errors.Is(serr, fs.ErrNotExist), errors.Is(serr, syscall.ENOTDIR):
		return e
	case serr == nil && !fi.IsDir():
		e.NotDir = true
		return e
	}
	return err
}

// temp writes data to a synced temporary file beside path and returns its
// name; the caller moves it into place or removes it.
func temp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", dirError(err, filepath.Dir(path), filepath.Base(path))
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// WriteFile replaces path with data atomically and durably.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := temp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// WriteNew writes data to path atomically and durably, refusing to replace
// an existing file (ErrExists). It is written through Create, so a crash
// leaves nothing behind.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	t, err := Create(filepath.Dir(path), filepath.Base(path), perm)
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.Link(path)
}
