//go:build unix

package bundle

import (
	"os"
	"syscall"
)

// openNoFollow opens a file for reading, failing if it is a symlink.
func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
