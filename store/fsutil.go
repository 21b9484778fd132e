package store

import (
	"context"
	"fmt"
	"os"
	"time"
)

// flock takes an exclusive lock on f, waiting until ctx is done.
func flock(ctx context.Context, f *os.File) error {
	for {
		locked, err := lockNB(f)
		if locked {
			return nil
		}
		if err != nil {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the store lock: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tryFlock takes an exclusive lock without waiting.
func tryFlock(f *os.File) bool {
	locked, _ := lockNB(f)
	return locked
}

// createStaging creates and locks a new staging file. Recovery removes any
// staging file it can lock, and between the create and the lock this one
// is such a file: a concurrent writer's recovery could unlink it, and this
// writer would then fill and commit a file nobody can find. So once the
// lock is held, the path must still name the file.
func createStaging(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if !tryFlock(f) || !linkedAt(f, path) {
		f.Close()
		return nil, fmt.Errorf("staging file %s was swept by a concurrent recovery; try again", path)
	}
	return f, nil
}

// linkedAt reports whether path names the open file f.
func linkedAt(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
