// Package atomicfile writes files so that a crash leaves either the old
// content or the new, never a mix: write a temporary file beside the
// target, fsync it, rename (or link) it into place, fsync the directory.
// New outputs (Create, WriteNew, TempDir) also leave nothing behind when
// the writer is killed: see new.go. The store, the redactor, export
// bundles and the CLI all write this way.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrExists is returned by WriteNew when the target already exists.
var ErrExists = errors.New("file already exists")

// temp writes data to a synced temporary file beside path and returns its
// name; the caller moves it into place or removes it.
func temp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
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
