package bundle

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames a directory into place, failing if the target
// exists (even as an empty directory, which plain rename would replace).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	switch {
	case errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY):
		return fmt.Errorf("%w: %s", ErrOutputExists, to)
	case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL):
		return renameChecked(from, to)
	}
	return err
}
