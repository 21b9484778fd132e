// Package atomicfile writes files so that a crash leaves either the old
// content or the new, never a mix: write a temporary file beside the
// target, fsync it, rename (or link) it into place, fsync the directory.
// The store, the redactor, export bundles and the CLI all write this way.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
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
// an existing file (ErrExists): it links the temporary file into place,
// which fails rather than overwrite one that appeared meanwhile.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := temp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return err
	}
	return SyncDir(filepath.Dir(path))
}
