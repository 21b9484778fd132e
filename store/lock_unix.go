//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockNB tries to take an exclusive advisory lock on f without waiting.
// It reports false with a nil error when another process holds it. The
// lock goes with the open file, so a killed writer releases it.
func lockNB(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		return false, nil
	}
	return false, err
}
