//go:build unix

package store

import (
	"os"
	"syscall"
)

// openNoFollow opens a file for reading, failing on a symlink, and without
// blocking if it is a named pipe (the caller then refuses it).
func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// noFollow is the open flag that refuses a symlink as the last element.
const noFollow = syscall.O_NOFOLLOW
